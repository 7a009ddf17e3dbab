// Where a connection's OAuth tokens live between runs. Keap rotates refresh tokens, so the file is
// the only copy of a working refresh token: it is replaced atomically (temporary file, fsync,
// rename, mode 0600) and a damaged file is reported, never silently overwritten.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { SqlError, SQLSTATE } from '../errors.js';

export interface StoredTokens {
  accessToken: string;
  refreshToken?: string;
  /** epoch milliseconds; undefined = unknown (use until Keap rejects it) */
  expiresAt?: number;
  /** epoch milliseconds when Keap issued the pair */
  obtainedAt: number;
  scope?: string;
  /** sha256 of the connection string's OAuthRefreshToken this pair descends from, to notice a new one */
  seededFrom?: string;
}

export interface TokenStore {
  /** where the tokens are, for messages (a path or memory://name) */
  readonly location: string;
  load(): Promise<StoredTokens | undefined>;
  save(tokens: StoredTokens): Promise<void>;
  clear(): Promise<void>;
  /**
   * Run `fn` while no other keapgres process (or source in this one) refreshes the same pair: two
   * refreshes of one rotating refresh token would leave one of them with a dead token.
   */
  withLock<T>(fn: () => Promise<T>, waitMs?: number): Promise<T>;
  /** frees what the store holds (connections) */
  close?(): Promise<void>;
}

const FILE_FORMAT = 'keapgres-oauth-tokens';

export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function openTokenStore(location: string): TokenStore {
  if (location.startsWith('memory://')) return new MemoryTokenStore(location);
  return new FileTokenStore(location);
}

// memory:// stores are shared by name within the process, so two sources for one connection agree
const memoryStores = new Map<string, StoredTokens>();

class MemoryTokenStore implements TokenStore {
  constructor(readonly location: string) {}
  async load(): Promise<StoredTokens | undefined> {
    const t = memoryStores.get(this.location);
    return t ? { ...t } : undefined;
  }
  async save(tokens: StoredTokens): Promise<void> {
    memoryStores.set(this.location, { ...tokens });
  }
  async clear(): Promise<void> {
    memoryStores.delete(this.location);
  }
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    // memory stores live in one process, where each credential source is already single-flight;
    // sources sharing one name queue here
    const previous = memoryLocks.get(this.location) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    memoryLocks.set(this.location, run.catch(() => {}));
    return run;
  }
}

const memoryLocks = new Map<string, Promise<unknown>>();

export function damagedTokenFile(path: string, what: string): SqlError {
  return new SqlError(SQLSTATE.invalidAuthorization, `the OAuth token file "${path}" is damaged`, {
    detail: `${what}. keapgres does not overwrite it, because it may hold the only copy of a working refresh token.`,
    hint: 'Repair or delete the file, then authorize again with "keapgres auth" (or restart with InitiateOAuth=GETANDREFRESH).',
  });
}

class FileTokenStore implements TokenStore {
  constructor(readonly location: string) {}

  async load(): Promise<StoredTokens | undefined> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SqlError(SQLSTATE.invalidAuthorization, `could not read the OAuth token file "${this.location}"`, {
        detail: (err as Error).message,
        hint: 'Check that keapgres may read the file and its directory.',
      });
    }
    return parseTokenFile(this.location, text);
  }

  async save(tokens: StoredTokens): Promise<void> {
    // refuse to replace a damaged file: load() throws for it
    await this.load();
    const dir = dirname(this.location);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `.${basename(this.location)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const body = JSON.stringify(
      {
        format: FILE_FORMAT,
        version: 1,
        access_token: tokens.accessToken,
        refresh_token: tokens.refreshToken,
        expires_at: tokens.expiresAt === undefined ? undefined : new Date(tokens.expiresAt).toISOString(),
        obtained_at: new Date(tokens.obtainedAt).toISOString(),
        scope: tokens.scope,
        seeded_from: tokens.seededFrom,
      },
      null,
      2,
    );
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(body + '\n', 'utf8');
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw saveFailed(this.location, err);
    }
    await handle.close();
    try {
      await rename(temp, this.location);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw saveFailed(this.location, err);
    }
    // the rename itself is durable only once the directory is synced
    const dirHandle = await open(dir, 'r').catch(() => undefined);
    if (dirHandle) await dirHandle.sync().catch(() => {}).finally(() => dirHandle.close());
    await removeAbandonedTempFiles(dir, basename(this.location));
  }

  async clear(): Promise<void> {
    await unlink(this.location).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async withLock<T>(fn: () => Promise<T>, waitMs = 60_000): Promise<T> {
    const lockPath = `${this.location}.lock`;
    await mkdir(dirname(this.location), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const handle = await open(lockPath, 'wx', 0o600);
        await handle.writeFile(`${process.pid}\n`).finally(() => handle.close());
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw saveFailed(this.location, err);
      }
      const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      // a lock whose process is gone was left by a crash
      if (Number.isInteger(holder) && holder > 0 && !processExists(holder)) {
        await unlink(lockPath).catch(() => {});
        continue;
      }
      if (Date.now() >= deadline) {
        throw new SqlError(SQLSTATE.systemError, `the OAuth token file "${this.location}" stays locked`, {
          detail: `Process ${holder || '(unknown)'} has held ${lockPath} for more than ${Math.round(waitMs / 1000)} s while refreshing the tokens.`,
          hint: 'If no keapgres process is refreshing tokens, delete the lock file.',
        });
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    try {
      return await fn();
    } finally {
      await unlink(lockPath).catch(() => {});
    }
  }
}

/** Temporary files of writers that were killed mid-write (their process is gone). */
async function removeAbandonedTempFiles(dir: string, base: string): Promise<void> {
  const prefix = `.${base}.`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || processExists(pid)) continue;
    await unlink(join(dir, name)).catch(() => {});
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function saveFailed(path: string, err: unknown): SqlError {
  return new SqlError(SQLSTATE.systemError, `could not save OAuth tokens to "${path}"`, {
    detail: (err as Error).message,
    hint: 'Check that keapgres may write to that directory, or set OAuthSettingsLocation to another path.',
  });
}

function parseTokenFile(path: string, text: string): StoredTokens {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw damagedTokenFile(path, text.trim() === '' ? 'The file is empty' : 'The file is not valid JSON');
  }
  if (typeof data !== 'object' || data === null || (data as { format?: unknown }).format !== FILE_FORMAT) {
    throw damagedTokenFile(path, `The file is not a keapgres token file (no "format": "${FILE_FORMAT}")`);
  }
  const d = data as Record<string, unknown>;
  if (typeof d.access_token !== 'string' || d.access_token === '') throw damagedTokenFile(path, 'The file has no access_token');
  if (d.refresh_token !== undefined && typeof d.refresh_token !== 'string') throw damagedTokenFile(path, 'Its refresh_token is not a string');
  const time = (key: string): number | undefined => {
    if (d[key] === undefined) return undefined;
    const t = typeof d[key] === 'string' ? Date.parse(d[key] as string) : Number.NaN;
    if (Number.isNaN(t)) throw damagedTokenFile(path, `Its ${key} is not a time`);
    return t;
  };
  return {
    accessToken: d.access_token,
    refreshToken: d.refresh_token as string | undefined,
    expiresAt: time('expires_at'),
    obtainedAt: time('obtained_at') ?? 0,
    scope: typeof d.scope === 'string' ? d.scope : undefined,
    seededFrom: typeof d.seeded_from === 'string' ? d.seeded_from : undefined,
  };
}

// The PostgreSQL named by CacheConnection, where instances of keapgres keep what they must share
// (OAuth tokens first: Keap rotates refresh tokens, so two instances refreshing on their own log the
// account out). One pool per URL in a process, its schema created and migrated on first use.
import pg from 'pg';
import type { Logger } from 'pino';
import { SqlError, SQLSTATE } from '../errors.js';
import { migrate } from './migrations.js';

export interface SharedPostgres {
  readonly pool: pg.Pool;
  /** the URL without its password, for messages */
  readonly display: string;
}

const pools = new Map<string, { shared: SharedPostgres; users: number; ready: Promise<void> }>();

/** The URL as it may be shown: the password replaced. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '********';
    return u.toString();
  } catch {
    return 'the CacheConnection URL';
  }
}

/** Connects (or joins this process's pool for `url`) and migrates the schema; a clear error when it cannot. */
export async function openSharedPostgres(url: string, logger: Logger): Promise<SharedPostgres & { release(): Promise<void> }> {
  let entry = pools.get(url);
  if (!entry) {
    const pool = new pg.Pool({ connectionString: url, max: 24, connectionTimeoutMillis: 10_000, application_name: 'keapgres', idleTimeoutMillis: 30_000 });
    // an idle connection the server dropped: the next query gets a fresh one
    pool.on('error', (err) => logger.warn({ err: err.message }, 'a connection to the CacheConnection PostgreSQL failed'));
    const shared: SharedPostgres = { pool, display: displayUrl(url) };
    const ready = (async () => {
      const client = await pool.connect();
      try {
        await migrate(client);
      } finally {
        client.release();
      }
    })();
    entry = { shared, users: 0, ready };
    pools.set(url, entry);
  }
  const e = entry;
  try {
    await e.ready;
  } catch (err) {
    if (pools.get(url) === e) pools.delete(url);
    await e.shared.pool.end().catch(() => undefined);
    throw unreachable(e.shared.display, err);
  }
  e.users++;
  let released = false;
  return {
    ...e.shared,
    async release() {
      if (released) return;
      released = true;
      if (--e.users === 0 && pools.get(url) === e) {
        pools.delete(url);
        await e.shared.pool.end().catch(() => undefined);
      }
    },
  };
}

/** Runs `fn` in a transaction on one connection of the pool: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(db: SharedPostgres, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export function unreachable(display: string, err: unknown): SqlError {
  const message = err instanceof Error ? err.message : String(err);
  return new SqlError(SQLSTATE.connectionFailure, 'cannot use the PostgreSQL named by CacheConnection', {
    detail: `${display}: ${message}`,
    hint: 'Check that the server runs and accepts this user, or remove CacheConnection to keep this instance\'s state on its own disk.',
  });
}

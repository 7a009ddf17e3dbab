// CacheLocation: each entry as two files, its rows (COPY text) and its description. The rows file is
// written under a new name and renamed into place, then the description naming it and its checksum: a
// crash at any moment leaves either the previous complete pair or the new one, and a rows file that does
// not match its description's checksum is never served.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PushedCondition } from '../planner/types.js';

/** an entry's description; every file of an entry starts with its 32-digit id */
const DESCRIPTION = /^[0-9a-f]{32}\.json$/;
const OURS = /^[0-9a-f]{32}[-.]/;

export interface StoredEntry {
  table: string;
  key: string;
  pushed: PushedCondition[];
  limited: boolean;
  truncated: boolean;
  version: number;
  syncedAt: number;
  hits: number;
  rows: string;
}

interface Description extends Omit<StoredEntry, 'rows'> {
  format: 1;
  rowsFile: string;
  sha256: string;
  bytes: number;
}

export class CacheFiles {
  private readonly dir: string;
  /** one write at a time per entry, the newest wins */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  get directory(): string {
    return this.dir;
  }

  /** Every complete entry on disk; incomplete or damaged files are removed. */
  readAll(): StoredEntry[] {
    const out: StoredEntry[] = [];
    const names = readdirSync(this.dir);
    const wanted = new Set<string>();
    for (const name of names) {
      if (!DESCRIPTION.test(name)) continue;
      try {
        const d = JSON.parse(readFileSync(path.join(this.dir, name), 'utf8')) as Description;
        if (d.format !== 1 || typeof d.rowsFile !== 'string' || d.rowsFile.includes('/')) throw new Error('unknown format');
        const rows = readFileSync(path.join(this.dir, d.rowsFile));
        if (rows.length !== d.bytes || sha256(rows) !== d.sha256) throw new Error('rows do not match their description');
        wanted.add(d.rowsFile);
        out.push({ table: d.table, key: d.key, pushed: d.pushed, limited: d.limited, truncated: d.truncated, version: d.version, syncedAt: d.syncedAt, hits: d.hits, rows: rows.toString('utf8') });
      } catch {
        rmSync(path.join(this.dir, name), { force: true });
      }
    }
    // rows files no description names (a write that a crash interrupted, or an evicted entry's)
    for (const name of names) if (OURS.test(name) && !DESCRIPTION.test(name) && !wanted.has(name)) rmSync(path.join(this.dir, name), { force: true });
    return out;
  }

  write(entry: StoredEntry): Promise<void> {
    const id = fileId(entry.key);
    const previous = this.writing.get(id) ?? Promise.resolve();
    const next = previous.then(() => this.writeNow(id, entry)).catch(() => undefined);
    this.writing.set(id, next);
    void next.finally(() => {
      if (this.writing.get(id) === next) this.writing.delete(id);
    });
    return next;
  }

  async remove(key: string): Promise<void> {
    const id = fileId(key);
    await (this.writing.get(id) ?? Promise.resolve());
    await rm(path.join(this.dir, `${id}.json`), { force: true });
    for (const name of readdirSync(this.dir)) if (name.startsWith(`${id}-`)) await rm(path.join(this.dir, name), { force: true });
  }

  /** Resolves when every write begun so far has ended. */
  async flush(): Promise<void> {
    await Promise.all([...this.writing.values()]);
  }

  private async writeNow(id: string, entry: StoredEntry): Promise<void> {
    const rows = Buffer.from(entry.rows, 'utf8');
    const rowsFile = `${id}-${entry.version}-${Date.now().toString(36)}.rows`;
    await writeDurably(path.join(this.dir, rowsFile), rows);
    const { rows: _rows, ...meta } = entry;
    const description: Description = { format: 1, ...meta, rowsFile, sha256: sha256(rows), bytes: rows.length };
    await writeDurably(path.join(this.dir, `${id}.json`), Buffer.from(JSON.stringify(description)));
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(`${id}-`) && name !== rowsFile) await rm(path.join(this.dir, name), { force: true });
    }
  }
}

/** Written to a temporary name, flushed to disk, then renamed over the final name. */
async function writeDurably(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  const fh = await open(tmp, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function fileId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

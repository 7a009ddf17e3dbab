// The rows of one cache entry as COPY text lines keyed by primary key: what an engine needs to load a
// table (the lines, joined) and to catch up with a newer version (the lines of the keys that changed).
import type { TableSchema } from '../schema/types.js';

/** Lines per COPY blob handed to an engine: large enough to amortise a round trip, small enough to overlap. */
const BLOB_BYTES = 2 * 1024 * 1024;

export class TableRows {
  private readonly lines = new Map<string, string>();
  private size = 0;
  private readonly keyIndexes: number[];

  constructor(table: TableSchema) {
    this.keyIndexes = table.primaryKey.map((k) => table.columns.findIndex((c) => c.name === k));
    if (this.keyIndexes.length === 0 || this.keyIndexes.some((i) => i < 0)) {
      // Without a key rows cannot be merged: such an entry is only ever replaced whole.
      this.keyIndexes = [];
    }
  }

  /** rows have a key (else they are merged by position, and only ever replaced whole) */
  get keyed(): boolean {
    return this.keyIndexes.length > 0;
  }

  get count(): number {
    return this.lines.size;
  }

  /** bytes of COPY text held */
  get bytes(): number {
    return this.size;
  }

  has(key: string): boolean {
    return this.lines.has(key);
  }

  get(key: string): string | undefined {
    return this.lines.get(key);
  }

  keys(): IterableIterator<string> {
    return this.lines.keys();
  }

  /** Adds or replaces the rows of a COPY text chunk; returns the keys of rows that are new or differ. */
  upsertText(text: string, changed?: string[]): void {
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      if (end > start) this.upsertLine(text.slice(start, end), changed);
      start = end + 1;
    }
  }

  upsertLine(line: string, changed?: string[]): void {
    const key = this.keyOf(line, this.lines.size);
    const before = this.lines.get(key);
    if (before === line) return;
    this.size += line.length + 1 - (before === undefined ? 0 : before.length + 1);
    this.lines.set(key, line);
    changed?.push(key);
  }

  delete(key: string): boolean {
    const before = this.lines.get(key);
    if (before === undefined) return false;
    this.size -= before.length + 1;
    this.lines.delete(key);
    return true;
  }

  /** The key text of a COPY line: its key columns, tab-joined (COPY escapes tabs inside values). */
  keyOf(line: string, fallback = 0): string {
    if (this.keyIndexes.length === 0) return `#${fallback}`;
    if (this.keyIndexes.length === 1 && this.keyIndexes[0] === 0) {
      const tab = line.indexOf('\t');
      return tab < 0 ? line : line.slice(0, tab);
    }
    const fields = line.split('\t');
    return this.keyIndexes.map((i) => fields[i] ?? '').join('\t');
  }

  /** Every row as COPY blobs. */
  *blobs(keys?: Iterable<string>): Generator<{ bytes: Buffer; rows: number }> {
    let parts: string[] = [];
    let bytes = 0;
    const source = keys ? mapDefined(keys, (k) => this.lines.get(k)) : this.lines.values();
    for (const line of source) {
      parts.push(line);
      bytes += line.length + 1;
      if (bytes >= BLOB_BYTES) {
        yield { bytes: Buffer.from(parts.join('\n') + '\n', 'utf8'), rows: parts.length };
        parts = [];
        bytes = 0;
      }
    }
    if (parts.length) yield { bytes: Buffer.from(parts.join('\n') + '\n', 'utf8'), rows: parts.length };
  }

  /** All rows as one string (for the cache file). */
  text(): string {
    let out = '';
    for (const line of this.lines.values()) out += line + '\n';
    return out;
  }

  /** Rows that differ from `older`: the keys added or changed, and the keys gone. */
  diffFrom(older: TableRows): { changed: string[]; deleted: string[] } {
    const changed: string[] = [];
    const deleted: string[] = [];
    for (const [k, line] of this.lines) if (older.lines.get(k) !== line) changed.push(k);
    for (const k of older.lines.keys()) if (!this.lines.has(k)) deleted.push(k);
    return { changed, deleted };
  }
}

function* mapDefined<T, U>(items: Iterable<T>, f: (t: T) => U | undefined): Generator<U> {
  for (const item of items) {
    const u = f(item);
    if (u !== undefined) yield u;
  }
}

// Parsing SQL with the real PostgreSQL parser (libpg-query), cached by SQL text.
// Clients repeat the same statements (catalog queries, prepared BI queries), and a parse costs far more
// than a map lookup, so parse trees are kept in a bounded LRU. Cached trees are shared: never mutate them.
import { loadModule, parseSync } from 'libpg-query';
import type { AstNode } from './ast.js';

export interface ParsedStatement {
  /** the statement node, e.g. `{ SelectStmt: {…} }` */
  stmt: AstNode;
  /** the statement's own text (without the separating semicolon) */
  text: string;
}

/** `undefined` when the text does not parse: the engine reports the syntax error itself. */
export type ParsedSql = readonly ParsedStatement[] | undefined;

/**
 * A Map keeps insertion order, which is all an LRU needs: a hit is re-inserted at the end. Bounded by entry
 * count and by total weight (for parse trees: the SQL length, which their memory grows with).
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private totalWeight = 0;
  constructor(
    private readonly capacity: number,
    private readonly maxWeight = Infinity,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V, weight = 0): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.totalWeight -= old.weight;
    }
    this.entries.set(key, { value, weight });
    this.totalWeight += weight;
    while (this.entries.size > this.capacity || (this.totalWeight > this.maxWeight && this.entries.size > 1)) {
      const oldest = this.entries.entries().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value[0]);
      this.totalWeight -= oldest.value[1].weight;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

let loading: Promise<void> | undefined;

/** Loads the parser's WebAssembly module once per process. */
export function loadParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

/** Very long statements (bulk VALUES lists) are parsed each time rather than pinned in memory. */
const MAX_CACHED_SQL_LENGTH = 64 * 1024;
/** A parse tree takes about 10 bytes of heap per byte of SQL: 2 M characters of SQL is about 20 MB. */
const MAX_CACHED_SQL_TOTAL = 2 * 1024 * 1024;
const PARSE_FAILED = Symbol('parse failed');
const cache = new LruCache<string, readonly ParsedStatement[] | typeof PARSE_FAILED>(1000, MAX_CACHED_SQL_TOTAL);

/** Parses `sql` (several statements allowed). Call `loadParser()` first. */
export function parseSqlCached(sql: string): ParsedSql {
  const cached = cache.get(sql);
  if (cached !== undefined) return cached === PARSE_FAILED ? undefined : cached;
  let parsed: readonly ParsedStatement[] | typeof PARSE_FAILED;
  try {
    const result = parseSync(sql) as unknown as {
      stmts?: Array<{ stmt?: AstNode; stmt_location?: number; stmt_len?: number }>;
    };
    const bytes = Buffer.from(sql, 'utf8');
    parsed = (result.stmts ?? [])
      .filter((s) => s.stmt !== undefined)
      .map((s) => {
        // Locations are byte offsets into the UTF-8 text; a length of 0 means "to the end".
        const start = s.stmt_location ?? 0;
        const end = s.stmt_len ? start + s.stmt_len : bytes.length;
        return { stmt: s.stmt as AstNode, text: bytes.subarray(start, end).toString('utf8').trim() };
      });
  } catch {
    parsed = PARSE_FAILED;
  }
  if (sql.length <= MAX_CACHED_SQL_LENGTH) cache.set(sql, parsed, sql.length);
  return parsed === PARSE_FAILED ? undefined : parsed;
}

// The lines EXPLAIN adds for the Keap side of a statement: per table reference, the request planned
// (endpoint, filter, page size) and how the cache answers it; with ANALYZE, the calls really made, rows,
// bytes and time. They follow the engine's own plan as ordinary rows of its "QUERY PLAN" column.
import type { RequestDescription } from '../keap/connector.js';
import type { CacheMode } from '../cache/shared-cache.js';
import { parseSqlCached } from '../planner/parse-cache.js';
import type { AstNode } from '../planner/ast.js';

export interface TableReport {
  table: string;
  request: RequestDescription;
  mode: CacheMode;
  /** CacheConnection: instances share the cache */
  shared?: boolean;
  entryRows?: number;
  syncedAgoMs?: number;
  /** what the session's engine did: held the rows already, caught up, loaded */
  engine?: string;
  calls?: number;
  fetchedRows?: number;
  bytes?: number;
  ms?: number;
  loadMs?: number;
}

/** A lone EXPLAIN: whether it runs the statement, and whether its output is text (the lines fit only there). */
export function explainedStatement(sql: string): { analyze: boolean; text: boolean } | undefined {
  const parsed = parseSqlCached(sql);
  if (!parsed || parsed.length !== 1) return undefined;
  const stmt = parsed[0]!.stmt as { ExplainStmt?: { options?: AstNode[] } };
  if (!stmt.ExplainStmt) return undefined;
  let analyze = false;
  let text = true;
  for (const o of stmt.ExplainStmt.options ?? []) {
    const d = (o as { DefElem?: { defname?: string; arg?: Record<string, Record<string, unknown>> } }).DefElem;
    if (!d) continue;
    const arg = d.arg ? Object.values(d.arg)[0] : undefined;
    const word = arg === undefined ? 'true' : String(arg.sval ?? arg.boolval ?? arg.ival ?? 'true').toLowerCase();
    if (d.defname === 'analyze') analyze = !['false', 'off', '0', 'no'].includes(word);
    if (d.defname === 'format') text = word === 'text';
  }
  return { analyze, text };
}

export function explainLines(reports: readonly TableReport[], analyzed: boolean): string[] {
  if (reports.length === 0) return [];
  const lines = ['Keap API (keapgres):'];
  for (const r of reports) {
    lines.push(`  ->  ${r.table}: ${requestText(r.request)}`);
    lines.push(`        Cache: ${cacheText(r)}`);
    if (r.request.dropped.length) lines.push(`        Filter in the engine only: ${r.request.dropped.map((c) => c.column).join(', ')}`);
    if (analyzed) {
      lines.push(`        Keap calls: ${r.calls ?? 0}  rows fetched: ${r.fetchedRows ?? 0}  bytes: ${r.bytes ?? 0}  fetch: ${ms(r.ms)}  load: ${ms(r.loadMs)}${r.engine ? `  engine: ${r.engine}` : ''}`);
    }
  }
  return lines;
}

function requestText(d: RequestDescription): string {
  const params: string[] = [];
  for (const [k, v] of Object.entries(d.query)) {
    if (v === undefined) continue;
    if (k === 'fields' || k === 'optional_properties') params.push(`${k}=<${String(v).split(',').length} properties>`);
    else params.push(`${k}=${v}`);
  }
  params.push(`page_size=${d.pageSize}`);
  const per = d.perParent ? ` for each ${d.perParent.table} row${d.perParent.ids ? ` (${d.perParent.ids.length} pinned)` : ''}` : '';
  return `GET ${d.path}${per} ${params.join(' ')}`;
}

function cacheText(r: TableReport): string {
  const age = r.syncedAgoMs !== undefined ? `, synchronised ${Math.max(0, Math.round(r.syncedAgoMs / 1000))} s ago` : '';
  const rows = r.entryRows !== undefined ? `${r.entryRows} rows` : '';
  // with CacheConnection the stored entry is read first: another instance may have fetched or refreshed it
  const unless = r.shared ? ' unless another instance stored a fresh one (CacheConnection)' : '';
  switch (r.mode) {
    case 'hit': return `hit (${rows}${age})${r.engine === 'held' ? ', already in this session' : ''}`;
    case 'refresh by changes': return `refresh by changes (${rows}${age}), then hit${unless}`;
    case 'full refetch': return `stale (${rows}${age}): full fetch${unless}`;
    case 'fetch': return r.shared ? 'miss here: from the shared cache (CacheConnection), else a full fetch by one instance' : 'miss: full fetch';
    case 'offline, not cached': return 'miss, Offline=true: the table is empty';
  }
}

function ms(v: number | undefined): string {
  return `${(v ?? 0).toFixed(1)} ms`;
}

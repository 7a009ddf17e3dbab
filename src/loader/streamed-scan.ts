// Answering a plain scan while its rows load. `SELECT <columns and row-wise expressions> FROM t [WHERE …]`
// computes each output row from one input row alone, so its result over the whole table is the union of its
// results over the table's rows in any split. The loader COPYs a Keap table in chunks, each COPY its own
// transaction; after each chunk the engine runs the statement over just that chunk's rows (`xmin` is the
// COPY's transaction id — not a ctid range: inserts reuse free space in earlier pages) and the rows go to
// the client at once, instead of after the last page. The engine still evaluates
// everything; only statements whose every part is provably row-wise qualify, and anything else loads first
// and runs once, as before. User-defined operators and casts could call any function: the loader checks the
// session has none before streaming.
import { scanSync } from 'libpg-query';
import type { AstNode } from '../planner/ast.js';
import { parseSqlCached } from '../planner/parse-cache.js';
import type { Catalog, TableSchema } from '../schema/types.js';
import { quoteIdent } from '../schema/ddl.js';

export interface StreamableScan {
  /** the statement as the client sent it */
  sql: string;
  /** the Keap table scanned */
  table: string;
  /** whether the statement names the table with its schema (else the session's search_path decides) */
  qualified: boolean;
  /** the statement restricted to the rows for which `condition(alias)` holds, e.g. `"c".xmin = '7'::xid` */
  restrictedTo(condition: (alias: string) => string): string;
}

/** Node types that compute a value from the current row and constants only. */
const ROW_WISE = new Set([
  'ResTarget', 'ColumnRef', 'A_Star', 'A_Const', 'String', 'Integer', 'Float', 'Boolean', 'BitString', 'List',
  'A_Expr', 'BoolExpr', 'NullTest', 'BooleanTest', 'TypeCast', 'TypeName', 'CollateClause',
  'A_Indirection', 'A_Indices', 'CaseExpr', 'CaseWhen', 'CoalesceExpr', 'MinMaxExpr', 'A_ArrayExpr',
]);

/** SelectStmt fields a plain scan may have (the rest — DISTINCT, GROUP BY, ORDER BY, LIMIT, INTO, … — need every row). */
const SCAN_FIELDS = new Set(['targetList', 'fromClause', 'whereClause', 'limitOption', 'op']);

/**
 * Date/time input that means a moment of the statement's own clock ('now', 'today 10:00'): each chunk is
 * its own statement, so these would differ between chunks. Any constant holding such a word disqualifies.
 */
const CLOCK_WORDS = /\b(now|today|tomorrow|yesterday)\b/i;

/** The statement as a streamable scan of one Keap table, or undefined when it is anything more. */
export function streamableScan(sql: string, catalog: Catalog): StreamableScan | undefined {
  const parsed = parseSqlCached(sql);
  if (!parsed || parsed.length !== 1) return undefined;
  const select = (parsed[0]!.stmt as { SelectStmt?: Record<string, unknown> }).SelectStmt;
  if (!select) return undefined;
  for (const [k, v] of Object.entries(select)) {
    if (!SCAN_FIELDS.has(k)) return undefined;
    if (k === 'limitOption' && v !== 'LIMIT_OPTION_DEFAULT') return undefined;
    if (k === 'op' && v !== 'SETOP_NONE') return undefined;
  }
  const from = select.fromClause as AstNode[] | undefined;
  const range = from?.length === 1 ? (from[0] as { RangeVar?: Record<string, unknown> }).RangeVar : undefined;
  if (!range || range.catalogname !== undefined || range.relpersistence !== 'p') return undefined;
  const schema = range.schemaname as string | undefined;
  const table = range.relname as string;
  const tableSchema = catalog.tables.get(table);
  if ((schema !== undefined && schema !== 'public') || !tableSchema) return undefined;
  const columns = columnNames(tableSchema);
  if (!rowWise(select.targetList, columns) || !rowWise(select.whereClause ?? null, columns)) return undefined;

  let tokens: ReturnType<typeof scanSync>['tokens'];
  try {
    tokens = scanSync(sql).tokens;
  } catch {
    return undefined;
  }
  const code = tokens.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
  while (code.length > 0 && code[code.length - 1]!.text === ';') code.pop();
  // `TABLE t` and `(SELECT …)` are SelectStmts too, but a WHERE cannot simply follow them.
  if (code.length === 0 || code[0]!.text.toLowerCase() !== 'select' || code[code.length - 1]!.text === ')') return undefined;
  // The scanner's offsets count UTF-8 bytes: the text is cut as bytes.
  const bytes = Buffer.from(sql, 'utf8');
  const cut = (from: number, to?: number): string => bytes.toString('utf8', from, to);
  const end = code[code.length - 1]!.end;
  const wheres = code.filter((t) => t.keywordName === 'RESERVED_KEYWORD' && t.text.toLowerCase() === 'where');
  if (wheres.length !== (select.whereClause ? 1 : 0)) return undefined;
  const where = wheres[0];
  const alias = (range.alias as { aliasname?: string } | undefined)?.aliasname ?? table;
  return {
    sql,
    table,
    qualified: schema !== undefined,
    restrictedTo(condition) {
      const bound = condition(quoteIdent(alias));
      // A line comment may follow the last token: the closing text goes right after that token.
      return where
        ? `${cut(0, where.end)} (${cut(where.end, end)}) AND ${bound}${cut(end)}`
        : `${cut(0, end)} WHERE ${bound}${cut(end)}`;
    },
  };
}

/** The table's columns and the system columns a statement may name. */
function columnNames(table: TableSchema): Set<string> {
  return new Set([...table.columns.map((c) => c.name), 'ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid']);
}

function rowWise(value: unknown, columns: Set<string>): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every((v) => rowWise(v, columns));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    // Node types are capitalised; lower-case keys are a node's fields.
    if (/^[A-Z]/.test(k)) {
      if (!ROW_WISE.has(k)) return false;
      if (k === 'A_Const') {
        const sval = (v as { sval?: { sval?: string } }).sval?.sval;
        if (sval !== undefined && CLOCK_WORDS.test(sval)) return false;
      }
      // `c.f` is also functional notation for f(c), a call of any function: only real columns qualify.
      if (k === 'ColumnRef') {
        const fields = (v as { fields?: Array<{ String?: { sval: string }; A_Star?: unknown }> }).fields ?? [];
        const last = fields[fields.length - 1];
        if (!last || (!last.A_Star && !columns.has(last.String?.sval ?? ''))) return false;
      }
      // (row).f is field selection, or again a function call: no composite columns here to select from.
      if (k === 'A_Indirection') {
        const steps = (v as { indirection?: Array<Record<string, unknown>> }).indirection ?? [];
        if (steps.some((step) => !('A_Indices' in step))) return false;
      }
    }
    if (!rowWise(v, columns)) return false;
  }
  return true;
}

// Whether a batch provably reads no column of a table outside a set: a per-parent table can then be read
// through another table's listing, which lacks some of its columns (schema/listing-variant.ts). Any doubt
// answers no: a star, a whole-row reference, a NATURAL join, a renamed column list, a statement that is
// not a query, or session-defined views and functions (whose bodies are not in the text).
import { parseSqlCached } from './parse-cache.js';
import { unwrap, type AstNode } from './ast.js';

export function readsOnlyColumns(sqls: readonly string[], table: string, columns: readonly string[], allowed: ReadonlySet<string>): boolean {
  const own = new Set(columns);
  for (const sql of sqls) {
    const parsed = parseSqlCached(sql);
    if (parsed === undefined) return false;
    for (const { stmt } of parsed) {
      // a prepared statement's body is not in the text; a DO block or function body may name the table in a string
      if (unwrap(stmt)?.[0] === 'ExecuteStmt') return false;
      if (!JSON.stringify(stmt).includes(table)) continue;
      if (!isQuery(stmt)) return false;
      const names = new Set([table]);
      let ok = true;
      walk(stmt, (tag, body) => {
        if (tag === 'RangeVar' && body.relname === table) {
          if (body.alias?.aliasname) names.add(String(body.alias.aliasname));
          if ((body.alias?.colnames?.length ?? 0) > 0) ok = false;
        } else if (tag === 'JoinExpr') {
          if (body.isNatural === true) ok = false;
          for (const u of (body.usingClause ?? []) as AstNode[]) {
            const n = u.String?.sval;
            if (typeof n === 'string' && own.has(n) && !allowed.has(n)) ok = false;
          }
        }
      });
      walk(stmt, (tag, body) => {
        if (tag !== 'ColumnRef') return;
        const fields = (body.fields ?? []) as AstNode[];
        if (fields.some((f) => f.A_Star !== undefined)) {
          ok = false;
          return;
        }
        const last = fields[fields.length - 1]?.String?.sval;
        if (typeof last !== 'string') {
          ok = false;
          return;
        }
        if (fields.length === 1 && names.has(last)) ok = false; // the whole row
        if (own.has(last) && !allowed.has(last)) ok = false;
      });
      if (!ok) return false;
    }
  }
  return true;
}

function isQuery(stmt: AstNode): boolean {
  const u = unwrap(stmt);
  if (!u) return false;
  const [tag, body] = u;
  if (tag === 'SelectStmt') return body.intoClause === undefined && (body.lockingClause?.length ?? 0) === 0;
  if (tag === 'ExplainStmt' || tag === 'DeclareCursorStmt') return isQuery(body.query as AstNode);
  return false;
}

function walk(node: unknown, visit: (tag: string, body: AstNode) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (/^[A-Z]/.test(k) && v !== null && typeof v === 'object' && !Array.isArray(v)) visit(k, v as AstNode);
    walk(v, visit);
  }
}

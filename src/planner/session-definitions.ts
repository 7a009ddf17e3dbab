// What a statement defines for later statements of the session: SQL-level prepared statements and views.
// The session keeps these (by name) and hands them back in PlannerContext, so that `EXECUTE p(…)` and
// `SELECT … FROM v` load the Keap tables behind them.
import { as, unwrap, type AstNode } from './ast.js';
import { parseSqlCached } from './parse-cache.js';
import { qualifiedName } from './statement-planner.js';

export type SessionDefinition =
  /** `PREPARE name … AS …`; `sql` is that statement's full text */
  | { kind: 'prepare'; name: string; sql: string }
  /** `DEALLOCATE name`, or every statement (`DEALLOCATE ALL`, `DISCARD ALL`) when name is null */
  | { kind: 'deallocate'; name: string | null }
  /** `CREATE [OR REPLACE] [MATERIALIZED] VIEW`; name lower-case as written ("v" or "crm.v"), `sql` the full text */
  | { kind: 'view'; name: string; sql: string }
  /** `DROP VIEW` / `DROP MATERIALIZED VIEW` */
  | { kind: 'drop-view'; name: string }
  /** `CREATE [OR REPLACE] FUNCTION | PROCEDURE`; name lower-case without schema, `sql` the full text */
  | { kind: 'function'; name: string; sql: string };

/** The definitions `sql` makes, in order. Call `loadParser()` first (planSql does). */
export function sessionDefinitions(sql: string): SessionDefinition[] {
  const parsed = parseSqlCached(sql);
  if (parsed === undefined) return [];
  const out: SessionDefinition[] = [];
  for (const { stmt, text } of parsed) {
    const u = unwrap(stmt);
    if (u === undefined) continue;
    const [tag, body] = u;
    if (tag === 'PrepareStmt') out.push({ kind: 'prepare', name: String(body.name), sql: text });
    else if (tag === 'DeallocateStmt') out.push({ kind: 'deallocate', name: body.isall === true || body.name === undefined ? null : String(body.name) });
    else if (tag === 'DiscardStmt' && body.target === 'DISCARD_ALL') out.push({ kind: 'deallocate', name: null });
    else if (tag === 'CreateFunctionStmt') {
      const name = ((body.funcname ?? []) as AstNode[]).map((n) => String(as(n, 'String')?.sval ?? '')).at(-1);
      if (name) out.push({ kind: 'function', name, sql: text });
    } else if (tag === 'ViewStmt' && body.view?.relname) out.push({ kind: 'view', name: qualifiedName(body.view), sql: text });
    else if (tag === 'CreateTableAsStmt' && body.objtype === 'OBJECT_MATVIEW' && body.into?.rel?.relname) {
      out.push({ kind: 'view', name: qualifiedName(body.into.rel), sql: text });
    } else if (tag === 'DropStmt' && (body.removeType === 'OBJECT_VIEW' || body.removeType === 'OBJECT_MATVIEW')) {
      for (const o of (body.objects ?? []) as AstNode[]) {
        const names = ((as(o, 'List')?.items ?? []) as AstNode[]).map((n) => String(as(n, 'String')?.sval ?? ''));
        if (names.length > 0) out.push({ kind: 'drop-view', name: names.slice(-2).join('.') });
      }
    }
  }
  return out;
}

/** Session-side state the definitions update; pass the maps back as PlannerContext.preparedStatements / views. */
export interface SessionDefinitionState {
  preparedStatements: Map<string, string>;
  views: Map<string, string>;
  functions?: Map<string, string>;
}

/**
 * Applies definitions to the session's maps. Apply after the batch ran without error: a definition that
 * failed would otherwise linger (harmless for views — at worst extra fetches — but untidy).
 */
export function applySessionDefinitions(state: SessionDefinitionState, defs: readonly SessionDefinition[]): void {
  for (const d of defs) {
    switch (d.kind) {
      case 'prepare':
        state.preparedStatements.set(d.name, d.sql);
        break;
      case 'deallocate':
        if (d.name === null) state.preparedStatements.clear();
        else state.preparedStatements.delete(d.name);
        break;
      case 'view':
        state.views.set(d.name, d.sql);
        break;
      case 'function':
        state.functions?.set(d.name, d.sql);
        break;
      case 'drop-view': {
        const bare = d.name.slice(d.name.lastIndexOf('.') + 1);
        for (const key of [...state.views.keys()]) {
          if (key === d.name || key === bare || key.endsWith(`.${bare}`)) state.views.delete(key);
        }
        break;
      }
    }
  }
}

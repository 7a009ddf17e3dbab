// Which relation a name in a statement means: a Keap table, a view the user created, or something else
// (a CTE, a catalog table, a scratch table). Resolution follows PostgreSQL's rules as far as the planner
// can know them; where it cannot know, it errs towards "Keap table" (fetching too much costs API calls,
// fetching too little would change a result).
import type { TableSchema } from '../schema/types.js';
import type { AstNode } from './ast.js';
import { KEAP_SCHEMA, type PlannerContext } from './context.js';
import { modelViews } from '../schema/model-views.js';

export interface ResolvedRelation {
  /** the Keap table this name may denote */
  keapTable?: TableSchema;
  /** view definitions (full CREATE VIEW text) this name may denote */
  viewDefinitions: string[];
}

const UTC_NAMES = new Set(['utc', 'etc/utc', 'gmt', 'etc/gmt', 'uct', 'etc/uct', 'universal', 'zulu', 'z', 'etc/zulu', 'gmt0', 'etc/gmt0', 'greenwich']);

/** True when literal timestamps without an offset are read as UTC. */
export function isUtcTimeZone(timeZone: string | undefined): boolean {
  return timeZone !== undefined && UTC_NAMES.has(timeZone.trim().toLowerCase());
}

export class RelationResolver {
  constructor(
    private readonly ctx: PlannerContext,
    /** effective search path (normalised), may change within a batch with SET search_path */
    public searchPath: string[],
  ) {}

  /**
   * Resolves a RangeVar body. `cteNames` are the CTE names visible at this point; a CTE shadows a table of
   * the same name only when the reference is unqualified.
   */
  resolve(rangeVar: AstNode, cteNames: ReadonlySet<string>): ResolvedRelation {
    const relname = String(rangeVar.relname ?? '');
    const schemaname: string | undefined = rangeVar.schemaname;
    if (schemaname === undefined && cteNames.has(relname)) return { viewDefinitions: [] };
    return { keapTable: this.keapTable(relname, schemaname), viewDefinitions: this.views(relname, schemaname) };
  }

  /** The Keap table a (possibly qualified) name denotes, ignoring CTEs. */
  keapTable(relname: string, schemaname: string | undefined): TableSchema | undefined {
    const table = this.ctx.catalog.tables.get(relname);
    if (table === undefined) return undefined;
    if (schemaname !== undefined) return schemaname === KEAP_SCHEMA ? table : undefined;
    // pg_temp is searched first unless the path names it; pg_catalog holds no Keap-like names.
    const path = this.searchPath.includes('pg_temp') ? this.searchPath : ['pg_temp', ...this.searchPath];
    for (const schema of path) {
      if (schema === KEAP_SCHEMA) return table;
      if (schema === 'pg_temp' && this.ctx.tempRelations?.has(relname)) return undefined;
    }
    return undefined;
  }

  /** Views that may be meant: a bare-named definition matches any schema, so nothing is missed. */
  private views(relname: string, schemaname: string | undefined): string[] {
    const out: string[] = [];
    // keapgres's own views (the *_model views over custom_fields): read like a user's view
    if (schemaname === undefined || schemaname === KEAP_SCHEMA) {
      for (const v of modelViews(this.ctx.catalog)) if (v.name === relname) out.push(v.sql);
    }
    const views = this.ctx.views;
    if (views === undefined || views.size === 0) return out;
    for (const [key, sql] of views) {
      const dot = key.lastIndexOf('.');
      const keySchema = dot >= 0 ? key.slice(0, dot) : undefined;
      const keyName = dot >= 0 ? key.slice(dot + 1) : key;
      if (keyName !== relname) continue;
      if (schemaname !== undefined && keySchema !== undefined && keySchema !== schemaname) continue;
      out.push(sql);
    }
    return out;
  }
}

// The planner's entry point: what a batch of SQL needs from Keap before the engine may run it.
import { scanSync } from 'libpg-query';
import type { BatchPlan, FetchPlan } from './types.js';
import type { PlannerContext } from './context.js';
import type { ParamValues } from './conjunct-analysis.js';
import { loadParser, parseSqlCached } from './parse-cache.js';
import { normaliseFetches } from './plan-normalisation.js';
import { BatchPlanner } from './statement-planner.js';

/**
 * Plans `sql` (one statement or several, as in a simple Query). `params` are the Bind values of an
 * extended-protocol execution: text, null for SQL NULL, undefined where the value is not known as text
 * (conditions on it are then not pushed). A statement that does not parse plans to nothing: the engine
 * reports the syntax error itself.
 */
export async function planSql(sql: string, params: ParamValues, ctx: PlannerContext): Promise<BatchPlan> {
  await loadParser();
  return planSqlSync(sql, params, ctx);
}

/** planSql for callers that already awaited `loadParser()`. */
export function planSqlSync(sql: string, params: ParamValues, ctx: PlannerContext): BatchPlan {
  const parsed = parseSqlCached(sql);
  if (parsed === undefined) return { fetches: [] };
  try {
    const planner = new BatchPlanner(ctx);
    for (const { stmt, text } of parsed) planner.planStatement(stmt, text, params);
    return planner.result();
  } catch {
    // A parse tree the planner did not expect must not fail the client's statement: load in full every
    // Keap table the text names (the engine then decides, as always).
    return fallbackPlan(sql, ctx);
  }
}

/** Every Keap table named in `sql` (as an identifier), fetched in full. */
export function fallbackPlan(sql: string, ctx: PlannerContext): BatchPlan {
  const fetches: FetchPlan[] = [];
  let tokens: ReturnType<typeof scanSync>['tokens'] = [];
  try {
    tokens = scanSync(sql).tokens;
  } catch {
    return { fetches };
  }
  const seen = new Set<string>();
  for (const t of tokens) {
    const name = t.text.startsWith('"') ? t.text.slice(1, -1).replace(/""/g, '"') : t.text.toLowerCase();
    if (!seen.has(name) && ctx.catalog.tables.has(name)) {
      seen.add(name);
      fetches.push({ table: name, conditions: [] });
    }
  }
  return { fetches };
}

/** Plans of several executions of one batch (e.g. many Bind/Execute before Sync) as one plan. */
export function mergeBatchPlans(plans: readonly BatchPlan[]): BatchPlan {
  const rejection = plans.find((p) => p.rejection !== undefined)?.rejection;
  if (rejection !== undefined) return { fetches: [], rejection };
  const writes = plans.flatMap((p) => p.writes ?? []);
  return writes.length ? { fetches: normaliseFetches(plans.flatMap((p) => p.fetches)), writes } : { fetches: normaliseFetches(plans.flatMap((p) => p.fetches)) };
}

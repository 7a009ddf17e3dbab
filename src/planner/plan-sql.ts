// The planner's entry point: what a batch of SQL needs from Keap before the engine may run it.
import type { BatchPlan } from './types.js';
import type { PlannerContext } from './context.js';
import type { ParamValues } from './conjunct-analysis.js';
import { loadParser, parseSqlCached } from './parse-cache.js';
import { BatchPlanner, normaliseFetches } from './statement-planner.js';

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
  const planner = new BatchPlanner(ctx);
  for (const { stmt, text } of parsed) planner.planStatement(stmt, text, params);
  return planner.result();
}

/** Plans of several executions of one batch (e.g. many Bind/Execute before Sync) as one plan. */
export function mergeBatchPlans(plans: readonly BatchPlan[]): BatchPlan {
  const rejection = plans.find((p) => p.rejection !== undefined)?.rejection;
  if (rejection !== undefined) return { fetches: [], rejection };
  return { fetches: normaliseFetches(plans.flatMap((p) => p.fetches)) };
}

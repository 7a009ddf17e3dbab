// Plans as the connector gets them: one condition per column and operator, no plan another plan covers.
import type { FetchPlan, PushedCondition } from './types.js';
import type { KeapRef } from './references.js';

/**
 * One condition per column and operator, and none beside an equality on the same column: the API gets a
 * simple filter, and a dropped condition only widens what it returns (so the reference becomes inexact).
 */
export function normaliseConditions(ref: KeapRef): PushedCondition[] {
  const out: PushedCondition[] = [];
  const byColumn = new Map<string, PushedCondition[]>();
  for (const c of ref.conditions) {
    const list = byColumn.get(c.column) ?? [];
    byColumn.set(c.column, list);
    list.push(c);
  }
  for (const [, list] of byColumn) {
    const eq = list.find((c) => c.op === '=') ?? list.find((c) => c.op === 'in');
    const keep = eq !== undefined ? [eq] : list.filter((c, i) => list.findIndex((d) => d.op === c.op) === i);
    if (keep.length !== list.length) ref.inexact = true;
    out.push(...keep);
  }
  return out;
}

/** Drops plans another plan of the batch makes redundant; a full fetch of a table covers every other plan of it. */
export function normaliseFetches(fetches: readonly FetchPlan[]): FetchPlan[] {
  const tablesWithFullFetch = new Set(
    fetches.filter((f) => f.conditions.length === 0 && f.limit === undefined && !f.countOnly).map((f) => f.table),
  );
  const byTable = new Map<string, number>();
  for (const f of fetches) byTable.set(f.table, (byTable.get(f.table) ?? 0) + 1);
  const seen = new Set<string>();
  const out: FetchPlan[] = [];
  for (const f of fetches) {
    let plan = f;
    // count-only answers a lone count(*); beside other plans of the table the rows are needed after all
    if (plan.countOnly && (byTable.get(plan.table) ?? 0) > 1) {
      plan = { table: plan.table, conditions: plan.conditions };
    }
    if (tablesWithFullFetch.has(plan.table) && (plan.conditions.length > 0 || plan.limit !== undefined)) continue;
    const key = JSON.stringify(plan);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(plan);
  }
  return out;
}

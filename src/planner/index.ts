// The planner: which Keap tables a batch of SQL reads, with which pushable conditions, and whether it
// writes to one (refused). See statement-planner.ts for the rules that keep fetched rows ⊇ needed rows.
export type { BatchPlan, FetchPlan, PushedCondition, PushedValue } from './types.js';
export type { PlannerContext } from './context.js';
export { planSql, planSqlSync, mergeBatchPlans } from './plan-sql.js';
export { loadParser } from './parse-cache.js';
export {
  sessionDefinitions,
  applySessionDefinitions,
  type SessionDefinition,
  type SessionDefinitionState,
} from './session-definitions.js';

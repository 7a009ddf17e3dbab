// What the planner hands to the connector: for one Keap table reference, what to fetch.
// Pushdown is an optimisation only: the rows fetched for a plan must be a superset of the rows
// the statement needs from that table; the engine re-evaluates every condition.
import type { FilterOp } from '../schema/types.js';

/** A literal value, already resolved from a constant or a bound $n parameter (text form). */
export type PushedValue = string | number | boolean | null;

export interface PushedCondition {
  column: string;
  op: FilterOp;
  /** one value for comparisons and prefix; a list for `in`; unused for `isnull` */
  value?: PushedValue;
  values?: PushedValue[];
}

export interface FetchPlan {
  /** Keap table name (as in schemas/) */
  table: string;
  /** AND-ed conditions, each supported by the table's schema */
  conditions: PushedCondition[];
  /** only when provably safe: single table, nothing left for the engine, orderable by the API */
  limit?: number;
  orderBy?: { column: string; direction: 'asc' | 'desc' };
  /** `SELECT count(*) FROM t` with only pushed conditions: the API's count suffices */
  countOnly?: boolean;
}

/** A statement of the batch that writes to a writable Keap table: src/writes turns its rows into Keap calls. */
export interface WriteTarget {
  table: string;
  op: 'insert' | 'update' | 'delete';
  /** INSERT … ON CONFLICT DO NOTHING: a row Keap reports as a duplicate is skipped, not an error */
  onConflictNothing?: boolean;
  /** INSERT … ON CONFLICT DO UPDATE on a table whose insert Keap can make an upsert */
  upsert?: boolean;
}

/** What a batch needs before the engine may run it. */
export interface BatchPlan {
  fetches: FetchPlan[];
  /** writes to Keap tables the batch makes (the rows are decided by the engine, src/writes) */
  writes?: WriteTarget[];
  /** set when the batch writes to a Keap table: the session answers with this error instead */
  rejection?: { sqlstate: string; message: string; detail?: string; hint?: string };
}

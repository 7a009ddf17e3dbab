// The table references of one query level, as the planner tracks them while it walks a statement.
import type { ColumnSchema, TableSchema } from '../schema/types.js';
import type { FetchPlan, PushedCondition, PushedValue } from './types.js';
import type { AnalysedConjunct, ColumnHit } from './conjunct-analysis.js';

/** One Keap table reference in a FROM clause. */
export interface KeapRef {
  table: TableSchema;
  /** the name the query uses for it: its alias, or the table name */
  refname: string;
  hasAlias: boolean;
  /** inside an aliased join `(a JOIN b) AS j`: not reachable by its own name */
  nameHidden: boolean;
  /** `contacts AS c(a, b)`: columns renamed, so names cannot be matched to the schema */
  renamedColumns: boolean;
  /** TABLESAMPLE picks among stored rows: fewer stored rows would change the sample */
  sampled: boolean;
  /** on the nullable side of an outer join within the current query level */
  nullable: boolean;
  conditions: PushedCondition[];
  /** some condition on this reference is left for the engine */
  inexact: boolean;
  /** the reference's plan, placed in the batch when the reference is met (plans keep statement order) */
  plan: FetchPlan;
  /** an IN list fetched as one plan per value (see PushResult.split) */
  split?: { column: string; values: PushedValue[] };
}

/**
 * A subquery in FROM or a view whose output columns pass Keap columns through unchanged (no grouping,
 * DISTINCT, LIMIT, window or set-returning functions): a condition on such an output column holds for
 * every row of the Keap reference below that reaches the result.
 */
export interface DerivedRef {
  refname: string;
  nameHidden: boolean;
  nullable: boolean;
  /** output column → the Keap column it passes through, or null (computed, ambiguous) */
  columns: ReadonlyMap<string, ColumnHit<KeapRef> | null>;
}

export type FromRef = KeapRef | DerivedRef;

export function isKeapRef(r: FromRef): r is KeapRef {
  return 'table' in r;
}

/** The FROM items of one query level (SELECT, UPDATE … FROM, DELETE … USING). */
export interface Level {
  refs: KeapRef[];
  derived: DerivedRef[];
  /** Keap references of inner levels that got conditions through a derived table of this level */
  touched: Set<KeapRef>;
  /** FROM items that are not Keap tables (CTEs, subqueries, functions, scratch tables, views) */
  opaqueItems: number;
  /** a USING / NATURAL join merges columns: unqualified names are not matched to one table */
  mergedColumns: boolean;
  /** `a.x = b.y` between two Keap references, from WHERE or an inner join's ON */
  equalities: Array<[ColumnHit<KeapRef>, ColumnHit<KeapRef>]>;
  /**
   * `a.x = b.y` in a LEFT/RIGHT JOIN's ON, a on the preserved side, b on the nullable side: a row of b is kept
   * only joined to an a satisfying the ON, so conditions on a.x (from WHERE, inner ONs or this ON) hold for b.y.
   */
  outerEqualities: Array<{ from: ColumnHit<KeapRef>; to: ColumnHit<KeapRef>; onFacts: AnalysedConjunct<KeapRef>[] }>;
  /** conditions on one reference from WHERE or an inner join's ON, which equalities carry to another */
  facts: AnalysedConjunct<KeapRef>[];
}

export function allRefs(level: Level): FromRef[] {
  return level.derived.length === 0 ? level.refs : [...level.refs, ...level.derived];
}

const columnIndexes = new WeakMap<TableSchema, Map<string, ColumnSchema>>();

export function columnOf(table: TableSchema, name: string): ColumnSchema | undefined {
  let index = columnIndexes.get(table);
  if (index === undefined) {
    index = new Map(table.columns.map((c) => [c.name, c]));
    columnIndexes.set(table, index);
  }
  return index.get(name);
}

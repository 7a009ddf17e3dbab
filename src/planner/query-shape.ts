// Shapes of queries the planner must recognise: which output columns pass a Keap column through, which
// target lists keep one row per input row, what an ORDER BY name means, whether a query is count(*).
import type { ColumnSchema } from '../schema/types.js';
import { as, stringList, unwrap, walkNodes, type AstNode } from './ast.js';
import type { ColumnHit } from './conjunct-analysis.js';
import { allRefs, isKeapRef, type DerivedRef, type KeapRef, type Level } from './references.js';

/** How often `name` is used as an unqualified relation inside `node` (over-counting only loses pushdown). */
export function countReferences(node: AstNode, name: string): number {
  let n = 0;
  walkNodes(node, (tag, body) => {
    if (tag === 'RangeVar' && body.schemaname === undefined && body.relname === name) n++;
  });
  return n;
}

/**
 * The output columns of a SELECT that pass a Keap column through unchanged, when the SELECT only filters
 * and projects (no grouping, DISTINCT, LIMIT/OFFSET, window or set-returning functions): then a condition
 * on the output column is a condition on the Keap rows that reach the output.
 */
export function passThroughColumns(
  sel: AstNode,
  level: Level,
  resolve: (ref: AstNode) => ColumnHit<KeapRef> | undefined,
): DerivedRef['columns'] | undefined {
  if (sel.groupClause !== undefined || sel.havingClause !== undefined || sel.distinctClause !== undefined) return undefined;
  if (sel.windowClause !== undefined || sel.limitCount !== undefined || sel.limitOffset !== undefined) return undefined;
  if (sel.intoClause !== undefined || sel.lockingClause !== undefined) return undefined;
  const targets = (sel.targetList ?? []) as AstNode[];
  if (!targets.every((t) => rowPreserving(t))) return undefined;
  const columns = new Map<string, ColumnHit<KeapRef> | null>();
  const duplicates = new Set<string>();
  const add = (name: string, hit: ColumnHit<KeapRef> | null): void => {
    if (columns.has(name)) duplicates.add(name);
    columns.set(name, hit);
  };
  for (const t of targets) {
    const target = as(t, 'ResTarget');
    if (target === undefined) return undefined;
    const colref = as(target.val, 'ColumnRef');
    const fields = (colref?.fields ?? []) as AstNode[];
    if (colref !== undefined && as(fields[fields.length - 1], 'A_Star') !== undefined) {
      // * and x.* expand to columns the planner can name only for Keap references
      if (level.mergedColumns) return undefined;
      const qualifier = fields.length === 2 ? as(fields[0], 'String')?.sval : undefined;
      if (fields.length > 2 || (fields.length === 2 && qualifier === undefined)) return undefined;
      const expanded = qualifier === undefined ? allRefs(level) : allRefs(level).filter((r) => !r.nameHidden && r.refname === qualifier);
      if (expanded.length === 0 || (qualifier === undefined && level.opaqueItems > level.derived.length)) return undefined;
      for (const r of expanded) {
        if (!isKeapRef(r)) for (const [name, hit] of r.columns) add(name, hit);
        else if (r.renamedColumns) return undefined;
        else for (const column of r.table.columns) add(column.name, { rel: r, column });
      }
      continue;
    }
    const name = target.name ?? implicitName(target.val) ?? '?column?';
    add(name, colref !== undefined ? (resolve(colref) ?? null) : null);
  }
  for (const d of duplicates) columns.set(d, null);
  return columns;
}

/** Equal values of these columns are equal values of the other: integers with integers, text with text. */
export function sameComparison(a: ColumnSchema, b: ColumnSchema): boolean {
  const integer = (t: ColumnSchema['type']): boolean => t === 'integer' || t === 'bigint';
  if (integer(a.type) && integer(b.type)) return true;
  return a.type === b.type && (a.type === 'text' || a.type === 'date');
}

export const ORDER_SAFE_TYPES = new Set<ColumnSchema['type']>(['integer', 'bigint', 'numeric', 'double precision', 'timestamptz', 'date']);

export function hasSubLink(node: AstNode): boolean {
  let found = false;
  walkNodes(node, (tag) => {
    if (tag === 'SubLink') found = true;
    return !found;
  });
  return found;
}

/** True when an output column is named `name` and is not simply a column reference (PostgreSQL's FigureColname). */
export function outputNameShadows(target: AstNode | undefined, name: string): boolean {
  if (target === undefined) return true;
  const column = as(target.val, 'ColumnRef');
  const sameColumn = column !== undefined && stringList(column.fields)?.at(-1) === name;
  if (target.name !== undefined) return target.name === name && !sameColumn;
  return column === undefined && implicitName(target.val) === name;
}

function implicitName(node: AstNode | undefined): string | undefined {
  const u = unwrap(node);
  if (u === undefined) return undefined;
  const [tag, body] = u;
  if (tag === 'ColumnRef') return stringList(body.fields)?.at(-1);
  if (tag === 'TypeCast' || tag === 'CollateClause') return implicitName(body.arg);
  if (tag === 'FuncCall') return stringList(body.funcname)?.at(-1);
  return undefined;
}

function funcName(f: AstNode): string | undefined {
  const parts = stringList(f.funcname);
  if (parts === undefined || parts.length === 0 || parts.length > 2) return undefined;
  if (parts.length === 2 && parts[0] !== 'pg_catalog') return undefined;
  return parts[parts.length - 1];
}

export function isCountStar(sel: AstNode): boolean {
  const targets = (sel.targetList ?? []) as AstNode[];
  if (targets.length !== 1) return false;
  const f = as(as(targets[0], 'ResTarget')?.val, 'FuncCall');
  return (
    f !== undefined &&
    funcName(f) === 'count' &&
    f.agg_star === true &&
    f.agg_distinct !== true &&
    f.agg_filter === undefined &&
    f.over === undefined &&
    sel.sortClause === undefined &&
    sel.withClause === undefined
  );
}

/**
 * Functions known to return one value per row: a target list made of these (and operators) keeps one output
 * row per input row, so LIMIT n needs at most n input rows. Aggregates, window and set-returning functions
 * (unnest, generate_series, user functions) do not.
 */
const ROW_PRESERVING_FUNCTIONS = new Set([
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length', 'btrim', 'ltrim', 'rtrim',
  'substring', 'substr', 'left', 'right', 'concat', 'concat_ws', 'replace', 'split_part', 'strpos', 'position',
  'lpad', 'rpad', 'reverse', 'repeat', 'md5', 'starts_with', 'format', 'regexp_replace', 'translate',
  'abs', 'round', 'floor', 'ceil', 'ceiling', 'trunc', 'sign', 'mod', 'power', 'sqrt',
  'date_trunc', 'date_part', 'extract', 'to_char', 'to_date', 'to_timestamp', 'timezone', 'age', 'now',
  'jsonb_extract_path_text', 'json_extract_path_text', 'jsonb_extract_path', 'json_extract_path', 'to_json', 'to_jsonb',
  'jsonb_build_object', 'json_build_object', 'jsonb_typeof', 'json_typeof', 'array_to_string', 'array_length', 'cardinality',
  'pg_typeof', 'text', 'numeric', 'int4', 'int8', 'float8', 'bool',
]);

export function rowPreserving(node: AstNode): boolean {
  let ok = true;
  walkNodes(node, (tag, body) => {
    if (tag === 'FuncCall') {
      const name = funcName(body);
      if (name === undefined || !ROW_PRESERVING_FUNCTIONS.has(name) || body.over !== undefined || body.agg_star === true) ok = false;
    }
    return ok;
  });
  return ok;
}

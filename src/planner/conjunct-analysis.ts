// What one AND-ed condition says about one column of one table reference, in a form independent of
// the API: "column op value", "column IN (…)", "column LIKE pattern", "column IS NULL".
// Conditions that mention anything but one column and constants/parameters say nothing pushable.
import type { ColumnSchema } from '../schema/types.js';
import { as, constValue, stringList, unwrap, type AstNode, type RawValue } from './ast.js';
import type { ValueExpr } from './value-coercion.js';

export type CompareOp = '=' | '<' | '<=' | '>' | '>=';

export type Requirement =
  | { kind: 'compare'; op: CompareOp; value: ValueExpr }
  | { kind: 'in'; values: ValueExpr[] }
  | { kind: 'like'; pattern: ValueExpr }
  | { kind: 'isnull' };

/** A column of a table reference, as a condition names it. */
export interface ColumnHit<R> {
  rel: R;
  column: ColumnSchema;
  /** the derived table or view whose output column passes this column through, when named through one */
  via?: object;
}

export interface AnalysedConjunct<R> extends ColumnHit<R> {
  requirements: Requirement[];
  /** false for conditions that hold on a NULL-extended row (IS NULL): unsafe on the nullable side of an outer join */
  strict: boolean;
}

/** Resolves a ColumnRef body to a Keap column of a reference at this query level, or undefined. */
export type ColumnResolver<R> = (columnRef: AstNode) => ColumnHit<R> | undefined;

/** Bound parameter values: text, SQL NULL (null), or unknown (undefined). */
export type ParamValues = ReadonlyArray<string | null | undefined> | undefined;

const FLIPPED: Record<CompareOp, CompareOp> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

export function analyseConjunct<R>(expr: AstNode, resolve: ColumnResolver<R>, params: ParamValues): AnalysedConjunct<R> | undefined {
  const u = unwrap(expr);
  if (u === undefined) return undefined;
  const [tag, body] = u;
  switch (tag) {
    case 'A_Expr':
      return analyseAExpr(body, resolve, params);
    case 'NullTest': {
      if (body.nulltesttype !== 'IS_NULL' || body.argisrow === true) return undefined;
      const hit = columnOf(body.arg, resolve);
      return hit && { ...hit, requirements: [{ kind: 'isnull' }], strict: false };
    }
    case 'ColumnRef':
      return booleanColumn(expr, true, resolve);
    case 'BooleanTest':
      if (body.booltesttype === 'IS_TRUE') return booleanColumn(body.arg, true, resolve);
      if (body.booltesttype === 'IS_FALSE') return booleanColumn(body.arg, false, resolve);
      return undefined;
    case 'BoolExpr':
      if (body.boolop === 'NOT_EXPR' && body.args?.length === 1) return booleanColumn(body.args[0], false, resolve);
      if (body.boolop === 'OR_EXPR') return analyseOr(body.args as AstNode[], resolve, params);
      return undefined;
    default:
      return undefined;
  }
}

function booleanColumn<R>(node: AstNode, value: boolean, resolve: ColumnResolver<R>): AnalysedConjunct<R> | undefined {
  const hit = columnOf(node, resolve);
  if (hit === undefined || hit.column.type !== 'boolean') return undefined;
  return { ...hit, requirements: [{ kind: 'compare', op: '=', value: { raw: { kind: 'boolean', value } } }], strict: true };
}

/** `a = 1 OR a = 2 OR a IN (3, 4)` on one column → `a IN (1, 2, 3, 4)`. */
function analyseOr<R>(arms: AstNode[], resolve: ColumnResolver<R>, params: ParamValues): AnalysedConjunct<R> | undefined {
  let first: AnalysedConjunct<R> | undefined;
  const values: ValueExpr[] = [];
  for (const arm of arms) {
    const a = analyseConjunct(arm, resolve, params);
    if (a === undefined || a.requirements.length !== 1) return undefined;
    if (first === undefined) first = a;
    else if (a.rel !== first.rel || a.column !== first.column || a.via !== first.via) return undefined;
    const req = a.requirements[0]!;
    if (req.kind === 'compare' && req.op === '=') values.push(req.value);
    else if (req.kind === 'in') values.push(...req.values);
    else return undefined;
  }
  if (first === undefined) return undefined;
  return { rel: first.rel, column: first.column, via: first.via, requirements: [{ kind: 'in', values }], strict: true };
}

function operatorName(name: readonly AstNode[] | undefined): string | undefined {
  const parts = stringList(name);
  if (parts === undefined || parts.length === 0 || parts.length > 2) return undefined;
  if (parts.length === 2 && parts[0] !== 'pg_catalog') return undefined;
  return parts[parts.length - 1];
}

function analyseAExpr<R>(e: AstNode, resolve: ColumnResolver<R>, params: ParamValues): AnalysedConjunct<R> | undefined {
  const op = operatorName(e.name);
  switch (e.kind) {
    case 'AEXPR_OP': {
      if (op === undefined || !(op in FLIPPED)) return undefined;
      let hit = columnOf(e.lexpr, resolve);
      let value = valueOf(e.rexpr, params);
      let cmp = op as CompareOp;
      if (hit === undefined) {
        hit = columnOf(e.rexpr, resolve);
        value = valueOf(e.lexpr, params);
        cmp = FLIPPED[cmp];
      }
      if (hit === undefined || value === undefined) return undefined;
      return { ...hit, requirements: [{ kind: 'compare', op: cmp, value }], strict: true };
    }
    case 'AEXPR_NOT_DISTINCT': {
      // x IS NOT DISTINCT FROM v: x = v for a non-null v (false on NULL: strict), x IS NULL for NULL
      let hit = columnOf(e.lexpr, resolve);
      let value = valueOf(e.rexpr, params);
      if (hit === undefined) {
        hit = columnOf(e.rexpr, resolve);
        value = valueOf(e.lexpr, params);
      }
      if (hit === undefined || value === undefined) return undefined;
      if (value.raw.kind === 'null') return { ...hit, requirements: [{ kind: 'isnull' }], strict: false };
      return { ...hit, requirements: [{ kind: 'compare', op: '=', value }], strict: true };
    }
    case 'AEXPR_IN': {
      if (op !== '=') return undefined; // NOT IN
      const hit = columnOf(e.lexpr, resolve);
      const items = as(e.rexpr, 'List')?.items as AstNode[] | undefined;
      if (hit === undefined || items === undefined) return undefined;
      const values = items.map((item) => valueOf(item, params));
      if (values.some((v) => v === undefined)) return undefined;
      return { ...hit, requirements: [{ kind: 'in', values: values as ValueExpr[] }], strict: true };
    }
    case 'AEXPR_OP_ANY': {
      if (op !== '=') return undefined;
      const hit = columnOf(e.lexpr, resolve);
      const values = hit && arrayValues(e.rexpr, params);
      if (hit === undefined || values === undefined) return undefined;
      return { ...hit, requirements: [{ kind: 'in', values }], strict: true };
    }
    case 'AEXPR_BETWEEN': {
      const hit = columnOf(e.lexpr, resolve);
      const items = as(e.rexpr, 'List')?.items as AstNode[] | undefined;
      if (hit === undefined || items?.length !== 2) return undefined;
      const requirements: Requirement[] = [];
      const low = valueOf(items[0]!, params);
      const high = valueOf(items[1]!, params);
      if (low !== undefined) requirements.push({ kind: 'compare', op: '>=', value: low });
      if (high !== undefined) requirements.push({ kind: 'compare', op: '<=', value: high });
      return requirements.length > 0 ? { ...hit, requirements, strict: true } : undefined;
    }
    case 'AEXPR_LIKE': {
      if (op !== '~~') return undefined; // NOT LIKE; an ESCAPE clause makes the pattern a function call
      const hit = columnOf(e.lexpr, resolve);
      const pattern = valueOf(e.rexpr, params);
      if (hit === undefined || pattern === undefined) return undefined;
      return { ...hit, requirements: [{ kind: 'like', pattern }], strict: true };
    }
    default:
      return undefined;
  }
}

function columnOf<R>(node: AstNode | undefined, resolve: ColumnResolver<R>): ColumnHit<R> | undefined {
  const ref = as(node, 'ColumnRef');
  return ref === undefined ? undefined : resolve(ref);
}

/** A constant or parameter, with at most one cast; undefined for anything else or an unknown parameter. */
export function valueOf(node: AstNode | undefined, params: ParamValues): ValueExpr | undefined {
  const u = unwrap(node);
  if (u === undefined) return undefined;
  const [tag, body] = u;
  if (tag === 'A_Const') {
    const raw = constValue(body);
    return raw && { raw };
  }
  if (tag === 'ParamRef') {
    const raw = paramValue(body.number, params);
    return raw && { raw };
  }
  if (tag === 'FuncCall') return toTimestampValue(body, params);
  if (tag === 'TypeCast') {
    const inner = unwrap(body.arg);
    if (inner === undefined || (inner[0] !== 'A_Const' && inner[0] !== 'ParamRef')) return undefined;
    const v = valueOf(body.arg, params);
    const names = stringList(body.typeName?.names);
    if (v === undefined || names === undefined || names.length === 0 || body.typeName?.arrayBounds !== undefined) return undefined;
    if (names.length === 2 && names[0] !== 'pg_catalog') return undefined;
    return { raw: v.raw, cast: names[names.length - 1]!.toLowerCase(), castTypmod: body.typeName?.typmods !== undefined };
  }
  return undefined;
}

/** Formats whose output for a matching literal is exactly the literal's wall-clock time (Superset's convert_dttm). */
const TO_TIMESTAMP_FORMATS: Record<string, RegExp> = {
  'YYYY-MM-DD HH24:MI:SS.US': /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/,
  'YYYY-MM-DD HH24:MI:SS': /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/,
  'YYYY-MM-DD': /^\d{4}-\d{2}-\d{2}$/,
};

/**
 * `to_timestamp('2024-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')` is that wall-clock time in the
 * session's time zone: the same as a timestamp literal without an offset.
 */
function toTimestampValue(f: AstNode, params: ParamValues): ValueExpr | undefined {
  const name = stringList(f.funcname);
  if (name === undefined || name.at(-1) !== 'to_timestamp' || (name.length === 2 && name[0] !== 'pg_catalog') || name.length > 2) return undefined;
  const args = (f.args ?? []) as AstNode[];
  if (args.length !== 2 || f.agg_star === true || f.over !== undefined) return undefined;
  const text = valueOf(args[0], params);
  const format = as(args[1], 'A_Const');
  const pattern = typeof format?.sval?.sval === 'string' ? TO_TIMESTAMP_FORMATS[format.sval.sval as string] : undefined;
  if (text === undefined || text.cast !== undefined || text.raw.kind !== 'string' || pattern === undefined) return undefined;
  if (!pattern.test(text.raw.text)) return undefined;
  return { raw: text.raw, cast: 'timestamp' };
}

function paramValue(n: unknown, params: ParamValues): RawValue | undefined {
  if (typeof n !== 'number' || params === undefined) return undefined;
  const v = params[n - 1];
  if (v === undefined) return undefined;
  return v === null ? { kind: 'null' } : { kind: 'string', text: v };
}

/** `= ANY(ARRAY[…])`, `= ANY('{…}')`, `= ANY($1)` with an array literal value. */
function arrayValues(node: AstNode | undefined, params: ParamValues): ValueExpr[] | undefined {
  const arr = as(node, 'A_ArrayExpr');
  if (arr !== undefined) {
    const values = ((arr.elements ?? []) as AstNode[]).map((el) => valueOf(el, params));
    return values.some((v) => v === undefined) ? undefined : (values as ValueExpr[]);
  }
  // '{1,2}'::int8[] and $1::text[]: the element type is the cast's type
  let elementCast: string | undefined;
  const cast = as(node, 'TypeCast');
  if (cast !== undefined) {
    const names = stringList(cast.typeName?.names);
    const bounds = (cast.typeName?.arrayBounds ?? []) as AstNode[];
    if (names === undefined || names.length === 0 || bounds.length !== 1 || cast.typeName?.typmods !== undefined) return undefined;
    if (names.length === 2 && names[0] !== 'pg_catalog') return undefined;
    elementCast = names[names.length - 1]!.toLowerCase();
    node = cast.arg;
    if (as(node, 'A_Const') === undefined && as(node, 'ParamRef') === undefined) return undefined;
  }
  const v = valueOf(node, params);
  if (v === undefined || v.raw.kind !== 'string') return v?.raw.kind === 'null' ? [] : undefined;
  if (v.cast !== undefined) return undefined; // any other cast is not an array
  const items = parseArrayLiteral(v.raw.text);
  return items?.map((text): ValueExpr => (text === null ? { raw: { kind: 'null' } } : { raw: { kind: 'string', text }, cast: elementCast }));
}

/** A one-dimensional array literal `{a,"b c",NULL}` → ['a', 'b c', null]; undefined when not that simple. */
export function parseArrayLiteral(text: string): Array<string | null> | undefined {
  const t = text.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) return undefined;
  const body = t.slice(1, -1);
  if (body.trim() === '') return [];
  const out: Array<string | null> = [];
  let i = 0;
  while (i <= body.length) {
    while (body[i] === ' ') i++;
    if (body[i] === '"') {
      let s = '';
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === '\\') i++;
        if (i >= body.length) return undefined;
        s += body[i];
        i++;
      }
      if (body[i] !== '"') return undefined;
      i++;
      while (body[i] === ' ') i++;
      out.push(s);
    } else {
      let s = '';
      while (i < body.length && body[i] !== ',') {
        const ch = body[i]!;
        if (ch === '{' || ch === '}' || ch === '"' || ch === '\\') return undefined;
        s += ch;
        i++;
      }
      s = s.trim();
      if (s === '') return undefined;
      out.push(s.toUpperCase() === 'NULL' ? null : s);
    }
    if (i >= body.length) break;
    if (body[i] !== ',') return undefined;
    i++;
  }
  return out;
}

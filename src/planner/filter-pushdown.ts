// Turns requirements on a column into conditions the table's API can evaluate, as its schema declares.
// Every condition produced is implied by the requirement (the API returns a superset); when the API's
// answer is also exactly the requirement, the condition is "exact" and nothing is left for the engine.
import type { ColumnSchema, FilterOp, PushableFilter, TableSchema } from '../schema/types.js';
import type { PushedCondition, PushedValue } from './types.js';
import type { Requirement } from './conjunct-analysis.js';
import { coerceValue, textOf, type BoundRole, type CoercedValue, type CoercionOptions } from './value-coercion.js';

export interface PushResult {
  conditions: PushedCondition[];
  /** the API evaluates the requirement exactly: rows it returns all satisfy it */
  exact: boolean;
  /**
   * An IN list on a column the API filters only by equality: one fetch per value (their union is the
   * requirement). Only for short lists, since each value costs at least one API call.
   */
  split?: { column: string; values: PushedValue[] };
}

/** Longest IN list fetched as one equality fetch per value. */
export const MAX_SPLIT_VALUES = 10;

const NOTHING: PushResult = { conditions: [], exact: false };

function filterFor(table: TableSchema, column: string): PushableFilter | undefined {
  return table.filters.find((f) => f.column === column);
}

/** Integer comparisons are exact on the API side too; text (collation, case), times (precision) may not be. */
function exactType(column: ColumnSchema): boolean {
  return column.type === 'integer' || column.type === 'bigint';
}

export function pushRequirement(table: TableSchema, column: ColumnSchema, req: Requirement, opts: CoercionOptions): PushResult {
  const filter = filterFor(table, column.name);
  if (filter === undefined) return NOTHING;
  const can = (op: FilterOp): boolean => filter.ops.includes(op);
  const coerce = (v: Parameters<typeof coerceValue>[0], role: BoundRole): CoercedValue | undefined =>
    coerceValue(v, column, role, opts);
  switch (req.kind) {
    case 'isnull':
      return can('isnull') ? { conditions: [{ column: column.name, op: 'isnull' }], exact: false } : NOTHING;
    case 'like': {
      const pattern = textOf(req.pattern);
      if (pattern === undefined || column.type !== 'text') return NOTHING;
      const prefix = likePrefix(pattern);
      if (prefix === undefined) return NOTHING;
      if (!prefix.wildcard) return pushEquals(column, filter, { value: prefix.text, widened: false }, can);
      return can('prefix') ? { conditions: [{ column: column.name, op: 'prefix', value: prefix.text }], exact: false } : NOTHING;
    }
    case 'in': {
      const values: PushedValue[] = [];
      for (const v of req.values) {
        if (v.raw.kind === 'null') continue; // x IN (…, NULL) is true only for the other values
        const c = coerce(v, 'exact');
        if (c === undefined) return NOTHING;
        if (!values.includes(c.value)) values.push(c.value);
      }
      if (values.length === 0) return NOTHING;
      if (values.length === 1) return pushEquals(column, filter, { value: values[0]!, widened: false }, can);
      if (!can('in') || (filter.maxList !== undefined && values.length > filter.maxList)) {
        if (can('=') && values.length <= MAX_SPLIT_VALUES) return { conditions: [], exact: exactType(column), split: { column: column.name, values } };
        return NOTHING;
      }
      return { conditions: [{ column: column.name, op: 'in', values }], exact: exactType(column) };
    }
    case 'compare': {
      if (req.op === '=') {
        const c = coerce(req.value, 'exact');
        if (c !== undefined) return pushEquals(column, filter, c, can);
        // a timestamp in an unknown zone is still within a window around its UTC reading
        const low = coerce(req.value, 'lower');
        const high = coerce(req.value, 'upper');
        if (low === undefined || high === undefined || !can('>=') || !can('<=')) return NOTHING;
        return {
          conditions: [
            { column: column.name, op: '>=', value: low.value },
            { column: column.name, op: '<=', value: high.value },
          ],
          exact: false,
        };
      }
      const role: BoundRole = req.op === '>' || req.op === '>=' ? 'lower' : 'upper';
      const c = coerce(req.value, role);
      if (c === undefined) return NOTHING;
      return pushBound(column, req.op, c, can);
    }
  }
}

function pushEquals(column: ColumnSchema, filter: PushableFilter, c: CoercedValue, can: (op: FilterOp) => boolean): PushResult {
  const exact = exactType(column) && !c.widened;
  if (can('=')) return { conditions: [{ column: column.name, op: '=', value: c.value }], exact };
  if (can('in') && (filter.maxList === undefined || filter.maxList >= 1)) {
    return { conditions: [{ column: column.name, op: 'in', values: [c.value] }], exact };
  }
  if (can('>=') && can('<=')) {
    return {
      conditions: [
        { column: column.name, op: '>=', value: c.value },
        { column: column.name, op: '<=', value: c.value },
      ],
      exact,
    };
  }
  if (column.type === 'text' && can('prefix') && typeof c.value === 'string' && c.value !== '') {
    return { conditions: [{ column: column.name, op: 'prefix', value: c.value }], exact: false };
  }
  return NOTHING;
}

function pushBound(column: ColumnSchema, op: '<' | '<=' | '>' | '>=', c: CoercedValue, can: (op: FilterOp) => boolean): PushResult {
  const exact = exactType(column) && !c.widened;
  if (can(op)) return { conditions: [{ column: column.name, op, value: c.value }], exact };
  const strict = op === '<' || op === '>';
  const inclusive = op === '<' ? '<=' : op === '>' ? '>=' : undefined;
  // x > v implies x >= v: a superset, exact only for integers moved by one
  if (strict && inclusive !== undefined && can(inclusive)) {
    const shifted = exactType(column) ? shiftInteger(c.value, op === '>' ? 1 : -1) : undefined;
    if (shifted !== undefined) return { conditions: [{ column: column.name, op: inclusive, value: shifted }], exact };
    return { conditions: [{ column: column.name, op: inclusive, value: c.value }], exact: false };
  }
  // x >= v over integers is x > v-1
  if (!strict && exactType(column)) {
    const strictOp = op === '>=' ? '>' : '<';
    const shifted = shiftInteger(c.value, op === '>=' ? -1 : 1);
    if (can(strictOp) && shifted !== undefined) return { conditions: [{ column: column.name, op: strictOp, value: shifted }], exact };
  }
  return NOTHING;
}

function shiftInteger(value: PushedValue, by: number): PushedValue | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value + by)) return value + by;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return (BigInt(value) + BigInt(by)).toString();
  return undefined;
}

/**
 * The literal prefix of a LIKE pattern (default escape `\`): text before the first `%` or `_`.
 * `wildcard` is false when the pattern has no wildcard at all (then LIKE is equality).
 * Undefined when the prefix is empty or the pattern is malformed (a trailing escape is an error in SQL).
 */
export function likePrefix(pattern: string): { text: string; wildcard: boolean } | undefined {
  let text = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      if (i + 1 >= pattern.length) return undefined;
      text += pattern[++i];
    } else if (ch === '%' || ch === '_') {
      return text === '' ? undefined : { text, wildcard: true };
    } else text += ch;
  }
  return { text, wildcard: false };
}

// Fetch-plan conditions → the API's own filter: a v2 `filter=` expression or v1 query parameters.
// A condition is pushed only when its value can be written so that the API reads exactly that value;
// anything else is left out, which fetches a superset (the engine re-checks every condition).
// In v2 the filter is one string of `field<op>value` clauses joined by `;`, lists split on `,`, a trailing
// `*` is a prefix wildcard and `NONE` means "absent": a value carrying any of those cannot be quoted, so it is
// not pushed. v1 values travel as separate query parameters and cannot break the syntax, but the reference
// shows `*` acting as a wildcard in some v1 parameters, so the same caution applies.
import type { FetchPlan, PushedCondition, PushedValue } from '../planner/types.js';
import type { FilterOp, PushableFilter, TableSchema } from '../schema/types.js';

/** Longest value pushed; longer ones risk URL limits on the gateway and are matched by the engine. */
export const MAX_PUSHED_VALUE_LENGTH = 512;
/** Longest `in` list pushed when the schema sets no maxList. */
export const DEFAULT_MAX_LIST = 100;

export interface EncodedFilter {
  /** query parameters carrying the filter (v2: `filter`; v1: one per parameter) */
  query: Record<string, string>;
  pushed: PushedCondition[];
  dropped: PushedCondition[];
}

type WireOp = '==' | '>' | '>=' | '<' | '<=';

interface Clause {
  param: string;
  wireOp: WireOp;
  text: string;
}

const SQL_TO_WIRE: Partial<Record<FilterOp, WireOp>> = { '=': '==', in: '==', prefix: '==', '<': '<', '<=': '<=', '>': '>', '>=': '>=', isnull: '==' };

export function filterFor(table: TableSchema, column: string, op: FilterOp): PushableFilter | undefined {
  return table.filters.find((f) => f.column === column && f.ops.includes(op));
}

/** The API parameter name for a condition (per-op override first). */
export function paramFor(filter: PushableFilter, op: FilterOp): string {
  return filter.params?.[op] ?? filter.param;
}

/** Encodes the plan's conditions for the table's endpoint; conditions that cannot be carried safely are dropped. */
export function encodeFilter(table: TableSchema, conditions: readonly PushedCondition[]): EncodedFilter {
  const pushed: PushedCondition[] = [];
  const dropped: PushedCondition[] = [];
  const clauses: Clause[] = [];
  const seen = new Set<string>();
  for (const cond of conditions) {
    const clause = encodeCondition(table, cond);
    // One clause per parameter and operator: a second `email==` would be ambiguous (the API may keep either),
    // and keeping the first still fetches a superset.
    const key = clause && `${clause.param}\u0000${table.source.version === 1 ? '' : clause.wireOp}`;
    if (!clause || !key || seen.has(key)) {
      dropped.push(cond);
      continue;
    }
    seen.add(key);
    clauses.push(clause);
    pushed.push(cond);
  }
  return { query: clausesToQuery(table, clauses), pushed, dropped };
}

function clausesToQuery(table: TableSchema, clauses: Clause[]): Record<string, string> {
  if (table.source.version === 1) {
    const query: Record<string, string> = {};
    for (const c of clauses) query[c.param] = c.text;
    return query;
  }
  const parts = [...(table.source.baseFilter ?? []), ...clauses.map((c) => `${c.param}${c.wireOp}${c.text}`)];
  return parts.length > 0 ? { filter: parts.join(';') } : {};
}

export function encodeCondition(table: TableSchema, cond: PushedCondition): Clause | undefined {
  const filter = filterFor(table, cond.column, cond.op);
  if (!filter) return undefined;
  const version = table.source.version;
  const param = paramFor(filter, cond.op);
  if (!isPlainParamName(param)) return undefined;
  const wireOp = (filter.wireOps?.[cond.op] ?? SQL_TO_WIRE[cond.op]) as WireOp | undefined;
  if (!wireOp || !['==', '>', '>=', '<', '<='].includes(wireOp)) return undefined;
  // v1 has no operators: a parameter stands for its comparison (since/until), as the schema declares.

  switch (cond.op) {
    case 'isnull':
      // v2's documented sentinel for "field absent"; v1 has none.
      return version === 2 ? { param, wireOp, text: 'NONE' } : undefined;
    case 'in': {
      const values = (cond.values ?? []).filter((v) => v !== null);
      if (values.length === 0) return undefined;
      if (values.length > (filter.maxList ?? DEFAULT_MAX_LIST)) return undefined;
      if (version === 1 && values.length > 1) return undefined; // v1 parameters take one value
      const texts = values.map((v) => encodeValue(filter, v, version, 'list'));
      if (texts.some((t) => t === undefined)) return undefined;
      return { param, wireOp, text: [...new Set(texts as string[])].join(',') };
    }
    case 'prefix': {
      if (typeof cond.value !== 'string' || cond.value === '') return undefined;
      const text = encodeValue(filter, cond.value, version, 'scalar');
      return text === undefined ? undefined : { param, wireOp, text: `${text}*` };
    }
    default: {
      if (cond.value === undefined || cond.value === null) return undefined;
      const text = encodeValue(filter, cond.value, version, 'scalar', cond.op);
      return text === undefined ? undefined : { param, wireOp, text };
    }
  }
}

/** A parameter name from a schema file is trusted, but only if it is a plain identifier. */
function isPlainParamName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(name);
}

/**
 * The value as the API must see it, or undefined when it cannot be written safely.
 * `op` matters for timestamps: rounding to the API's millisecond precision must widen, never narrow, the range.
 */
export function encodeValue(
  filter: PushableFilter,
  value: PushedValue,
  version: 1 | 2,
  position: 'scalar' | 'list',
  op?: FilterOp,
): string | undefined {
  if (value === null) return undefined;
  switch (filter.format ?? 'text') {
    case 'id':
      return encodeId(value);
    case 'boolean':
      return encodeBoolean(value);
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && isRealDate(value) ? value : undefined;
    case 'iso_timestamp':
      return typeof value === 'string' ? encodeTimestamp(value, op) : undefined;
    case 'text':
      return encodeText(typeof value === 'number' ? String(value) : value, version, position);
  }
}

function encodeId(value: PushedValue): string | undefined {
  const text = typeof value === 'number' ? (Number.isSafeInteger(value) ? String(value) : '') : typeof value === 'string' ? value : '';
  // Leading zeros would name the same id to the API but a different text to the engine: plain digits only.
  return /^(0|[1-9]\d{0,18})$/.test(text) ? text : undefined;
}

function encodeBoolean(value: PushedValue): string | undefined {
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  if (['t', 'true', 'yes', 'y', 'on', '1'].includes(v)) return 'true';
  if (['f', 'false', 'no', 'n', 'off', '0'].includes(v)) return 'false';
  return undefined;
}

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function encodeText(value: PushedValue, version: 1 | 2, position: 'scalar' | 'list'): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.length === 0 || value.length > MAX_PUSHED_VALUE_LENGTH) return undefined;
  // The API may trim; a trimmed value matches different rows, not more rows.
  if (value.trim() !== value) return undefined;
  // Control characters (and lone surrogates, which cannot be URL-encoded) are never sent.
  if (/[\u0000-\u001f\u007f]/.test(value) || LONE_SURROGATE_RE.test(value)) return undefined;
  if (/[*%\\]/.test(value)) return undefined;
  if (version === 2) {
    if (/[;=<>!,]/.test(value)) return undefined;
    if (value.toUpperCase() === 'NONE') return undefined;
  }
  if (position === 'list' && value.includes(',')) return undefined;
  return value;
}

// PostgreSQL's text form of a timestamptz: "2024-01-02 03:04:05.678901+00" (also ISO with T, Z, +hh:mm).
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)$/i;

function encodeTimestamp(value: string, op: FilterOp | undefined): string | undefined {
  const m = TIMESTAMP_RE.exec(value.trim());
  if (!m) return undefined; // without an explicit offset the instant depends on a time zone we do not know
  const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m;
  const offsetMs = parseOffset(zone as string);
  if (offsetMs === undefined) return undefined;
  const date = `${y}-${mo}-${d}`;
  if (!isRealDate(date) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const fracDigits = frac.padEnd(9, '0');
  const millis = Number(fracDigits.slice(0, 3));
  const subMillis = /[1-9]/.test(fracDigits.slice(3));
  let epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis) - offsetMs;
  if (subMillis) {
    // The API works in milliseconds: an upper bound rounds up, a lower bound down, equality cannot be kept.
    if (op === '<' || op === '<=') epoch += 1;
    else if (op !== '>' && op !== '>=') return undefined;
  }
  return new Date(epoch).toISOString();
}

function parseOffset(zone: string): number | undefined {
  if (zone.toUpperCase() === 'Z') return 0;
  const m = /^([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?$/.exec(zone);
  if (!m) return undefined;
  const ms = (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)) * 1000;
  return m[1] === '-' ? -ms : ms;
}

function isRealDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** `ORDER BY` → the API's ordering parameters, or undefined when the API cannot order by that column. */
export function encodeOrder(table: TableSchema, orderBy: FetchPlan['orderBy']): Record<string, string> | undefined {
  if (!orderBy) return {};
  const sort = table.sort.find((s) => s.column === orderBy.column);
  if (!sort || !isPlainParamName(sort.param)) return undefined;
  if (table.source.version === 2) return { order_by: `${sort.param} ${orderBy.direction}` };
  return { order: sort.param, order_direction: orderBy.direction === 'asc' ? 'ASCENDING' : 'DESCENDING' };
}

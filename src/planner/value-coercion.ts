// How a constant or bound parameter compares with a Keap column, following PostgreSQL's input rules for the
// column's type. Only values whose meaning is certain are converted; anything PostgreSQL would read
// differently (DateStyle-dependent dates, 'now', hex integers, typmod truncation, …) is not pushed.
import type { ColumnSchema } from '../schema/types.js';
import type { PushedValue } from './types.js';
import type { RawValue } from './ast.js';

/** A value side of a comparison: a constant or parameter, optionally with one explicit cast. */
export interface ValueExpr {
  raw: RawValue;
  /** the cast's type name (last part, lower case), e.g. 'int8', 'timestamptz' */
  cast?: string;
  /** the cast has a type modifier (varchar(3), numeric(5,2)): it may change the value */
  castTypmod?: boolean;
}

/**
 * Which side of the comparison the value bounds: a lower bound may be lowered and an upper bound raised
 * (the fetched set only grows), an exact value may not change at all.
 */
export type BoundRole = 'lower' | 'upper' | 'exact';

export interface CoercedValue {
  value: PushedValue;
  /** the value was moved outwards (e.g. a timestamp without offset in an unknown time zone) */
  widened: boolean;
}

const INTEGER_CASTS = new Set(['int2', 'int4', 'int8', 'integer', 'smallint', 'bigint', 'int', 'numeric', 'decimal']);
const FLOAT_CASTS = new Set([...INTEGER_CASTS, 'float4', 'float8', 'real', 'double precision']);
const TEXT_CASTS = new Set(['text', 'varchar']);
const TIMESTAMP_CASTS = new Set(['timestamptz', 'timestamp', 'date']);

const INT_RANGES: Record<string, [bigint, bigint]> = {
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

export interface CoercionOptions {
  /** true when literal timestamps without an offset are UTC (session TimeZone is UTC) */
  utc: boolean;
}

export function coerceValue(v: ValueExpr, column: ColumnSchema, role: BoundRole, opts: CoercionOptions): CoercedValue | undefined {
  if (v.raw.kind === 'null') return undefined;
  if (v.castTypmod) return undefined;
  switch (column.type) {
    case 'integer':
    case 'bigint':
      return coerceInteger(v, column.type, role);
    case 'numeric':
    case 'double precision':
      return coerceNumber(v);
    case 'boolean':
      return coerceBoolean(v);
    case 'text':
      return coerceText(v);
    case 'timestamptz':
      return coerceTimestamp(v, role, opts);
    case 'date':
      return coerceDate(v);
    default:
      return undefined;
  }
}

/** A text value (for LIKE patterns): constants and parameters of type text only. */
export function textOf(v: ValueExpr): string | undefined {
  return coerceText(v)?.value as string | undefined;
}

function exact(value: PushedValue): CoercedValue {
  return { value, widened: false };
}

function integerValue(n: bigint): PushedValue {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

function coerceInteger(v: ValueExpr, type: 'integer' | 'bigint', role: BoundRole): CoercedValue | undefined {
  if (v.cast !== undefined && !INTEGER_CASTS.has(v.cast)) return undefined;
  let n: bigint;
  const raw = v.raw;
  if (raw.kind === 'integer') n = BigInt(raw.text);
  else if (raw.kind === 'string' && /^\s*[+-]?\d+\s*$/.test(raw.text) && v.cast !== 'numeric' && v.cast !== 'decimal') {
    n = BigInt(raw.text.trim());
  } else if ((raw.kind === 'decimal' || (raw.kind === 'string' && (v.cast === 'numeric' || v.cast === 'decimal'))) && /^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/.test(raw.text)) {
    // integer column against a numeric value: exact when integral, otherwise round outwards for bounds
    const text = raw.text.trim();
    const [intPart, frac = ''] = text.replace(/^[+]/, '').split('.');
    const whole = BigInt(intPart === '' || intPart === '-' ? `${intPart}0` : intPart!);
    if (/^0*$/.test(frac)) n = whole;
    else if (role === 'exact') return undefined;
    else {
      const negative = text.startsWith('-');
      // lower bound: floor; upper bound: ceil (truncation goes towards zero)
      n = role === 'lower' ? (negative ? whole - 1n : whole) : negative ? whole : whole + 1n;
    }
  } else return undefined;
  const [min, max] = INT_RANGES[type]!;
  if (n < min || n > max) return undefined;
  return exact(integerValue(n));
}

function coerceNumber(v: ValueExpr): CoercedValue | undefined {
  if (v.cast !== undefined && !FLOAT_CASTS.has(v.cast)) return undefined;
  const raw = v.raw;
  let text: string;
  if (raw.kind === 'integer' || raw.kind === 'decimal') text = raw.text;
  else if (raw.kind === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw.text)) text = raw.text.trim();
  else return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) return undefined;
  // keep the decimal text when a JavaScript number would not carry it exactly
  return exact(String(n) === text.replace(/^\+/, '') ? n : text.replace(/^\+/, ''));
}

const TRUE_WORDS = new Set(['t', 'true', 'y', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['f', 'false', 'n', 'no', 'off', '0']);

function coerceBoolean(v: ValueExpr): CoercedValue | undefined {
  if (v.cast !== undefined && v.cast !== 'bool' && v.cast !== 'boolean') return undefined;
  const raw = v.raw;
  if (raw.kind === 'boolean') return exact(raw.value);
  if (raw.kind !== 'string') return undefined;
  const word = raw.text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return exact(true);
  if (FALSE_WORDS.has(word)) return exact(false);
  return undefined;
}

function coerceText(v: ValueExpr): CoercedValue | undefined {
  if (v.cast !== undefined && !TEXT_CASTS.has(v.cast)) return undefined;
  return v.raw.kind === 'string' ? exact(v.raw.text) : undefined;
}

const TIMESTAMP_RE =
  /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/i;

interface ParsedTimestamp {
  /** milliseconds since the epoch, reading the wall-clock fields as UTC */
  wallMillis: number;
  /** microseconds beyond the millisecond */
  extraMicros: number;
  /** offset in minutes east of UTC, when the literal has one */
  offsetMinutes?: number;
  hasTime: boolean;
}

function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const m = TIMESTAMP_RE.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(wall);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return undefined;
  const micros = Number(frac.padEnd(6, '0') || '0');
  let offsetMinutes: number | undefined;
  if (zone !== undefined) {
    if (zone.toUpperCase() === 'Z') offsetMinutes = 0;
    else {
      const sign = zone.startsWith('-') ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      const oh = Number(digits.slice(0, 2));
      const om = Number(digits.slice(2) || '0');
      if (oh > 15 || om > 59) return undefined;
      offsetMinutes = sign * (oh * 60 + om);
    }
  }
  return {
    wallMillis: wall + Math.floor(micros / 1000),
    extraMicros: micros % 1000,
    offsetMinutes,
    hasTime: m[4] !== undefined,
  };
}

/** Offsets in use run from -12:00 to +14:00: a wall-clock time in an unknown zone is within 14 h of UTC. */
const UNKNOWN_ZONE_MARGIN_MS = 14 * 3600 * 1000;

function coerceTimestamp(v: ValueExpr, role: BoundRole, opts: CoercionOptions): CoercedValue | undefined {
  if (v.cast !== undefined && !TIMESTAMP_CASTS.has(v.cast)) return undefined;
  if (v.raw.kind !== 'string') return undefined;
  const parsed = parseTimestamp(v.raw.text);
  if (parsed === undefined) return undefined;
  let millis = parsed.wallMillis;
  let extraMicros = parsed.extraMicros;
  let offset = parsed.offsetMinutes;
  if (v.cast === 'date') {
    // ::date drops the time of day; the date then compares as local midnight
    millis = Math.floor(millis / 86_400_000) * 86_400_000;
    extraMicros = 0;
    offset = undefined;
  } else if (v.cast === 'timestamp') {
    offset = undefined; // timestamp without time zone ignores a written offset
  }
  let widened = false;
  if (offset !== undefined) millis -= offset * 60_000;
  else if (!opts.utc) {
    if (role === 'exact') return undefined;
    millis += role === 'lower' ? -UNKNOWN_ZONE_MARGIN_MS : UNKNOWN_ZONE_MARGIN_MS;
    widened = true;
  }
  if (extraMicros !== 0) {
    // JavaScript dates carry milliseconds: round outwards
    if (role === 'exact') return undefined;
    if (role === 'upper') millis += 1;
    widened = true;
  }
  const date = new Date(millis);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) return undefined;
  return { value: date.toISOString(), widened };
}

const DATE_RE = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/;

function coerceDate(v: ValueExpr): CoercedValue | undefined {
  if (v.cast !== undefined && v.cast !== 'date') return undefined;
  if (v.raw.kind !== 'string') return undefined;
  const m = DATE_RE.exec(v.raw.text);
  if (m === null) return undefined;
  const parsed = parseTimestamp(`${m[1]}-${m[2]}-${m[3]}`);
  if (parsed === undefined) return undefined;
  return exact(`${m[1]}-${m[2]}-${m[3]}`);
}

// API records → PostgreSQL COPY text (tab-separated, \N for NULL, backslash escapes), per table schema.
// This is the loader's hot path: column readers and formatters are compiled once per table, and each
// value is converted with plain string operations (no regular expressions per value).
import type { ColumnSchema, TableSchema } from './types.js';
import { qualifiedName, quoteIdent } from './ddl.js';

const NULL = '\\N';

/** `COPY public."t" ("a", "b") FROM '/dev/blob'`: the engine feeds the text through PGlite's /dev/blob. */
export function copyStatement(table: TableSchema, source = "'/dev/blob'"): string {
  return `COPY ${qualifiedName(table)} (${table.columns.map((c) => quoteIdent(c.name)).join(', ')}) FROM ${source}`;
}

type Getter = (record: unknown, parent: unknown, custom: Map<string, unknown> | undefined) => unknown;
type Formatter = (value: unknown) => string;

// ---- paths -------------------------------------------------------------------------------------

/** One step of a dot path: a key, or a key whose array is searched for `[match=value]`. */
interface Step {
  key: string;
  matchKey?: string;
  matchValue?: string;
}

function parseSteps(path: string): Step[] {
  return path.split('.').map((part) => {
    const open = part.indexOf('[');
    if (open < 0) return { key: part };
    const eq = part.indexOf('=', open);
    if (eq < 0 || !part.endsWith(']')) throw new Error(`path step "${part}" must be key[field=value]`);
    return { key: part.slice(0, open), matchKey: part.slice(open + 1, eq), matchValue: part.slice(eq + 1, -1) };
  });
}

function follow(value: unknown, steps: Step[]): unknown {
  let cur = value;
  for (const step of steps) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[step.key];
    if (step.matchKey !== undefined) {
      if (!Array.isArray(cur)) return undefined;
      let found: unknown;
      for (const item of cur) {
        if (item && typeof item === 'object' && String((item as Record<string, unknown>)[step.matchKey]) === step.matchValue) {
          found = item;
          break;
        }
      }
      cur = found;
    }
  }
  return cur;
}

/** Checks a column path's syntax; throws with what is wrong. */
export function checkPath(path: string): void {
  for (const alt of path.split('|')) {
    const steps = parseSteps(alt.startsWith('$parent.') ? alt.slice('$parent.'.length) : alt);
    if (steps.some((s) => s.key === '')) throw new Error(`"${alt}" has an empty step`);
  }
}

function compileGetter(column: ColumnSchema): Getter {
  if (column.customFieldId !== undefined) {
    const id = column.customFieldId;
    return (_r, _p, custom) => custom?.get(id);
  }
  // "a|b": the first of several places that is set (where Keap's own documents disagree on a name).
  const alternatives = column.path.split('|');
  if (alternatives.length > 1) {
    const getters = alternatives.map((path) => compilePathGetter(path));
    return (r, p, custom) => {
      for (const get of getters) {
        const v = get(r, p, custom);
        if (v !== undefined && v !== null) return v;
      }
      return undefined;
    };
  }
  return compilePathGetter(column.path);
}

function compilePathGetter(path: string): Getter {
  // a table read through another's listing (TableSource.viaListing): the array element itself, or nothing
  if (path === '$element') return (r) => r;
  if (path === '$none') return () => undefined;
  // the key of a one-row table (TableSource.single: the business profile, the application's configuration)
  if (path === '$one') return () => 1;
  const fromParent = path.startsWith('$parent.');
  const steps = parseSteps(fromParent ? path.slice('$parent.'.length) : path);
  if (steps.length === 1 && steps[0]!.matchKey === undefined) {
    const key = steps[0]!.key;
    return fromParent
      ? (_r, p) => (p !== null && typeof p === 'object' ? (p as Record<string, unknown>)[key] : undefined)
      : (r) => (r !== null && typeof r === 'object' ? (r as Record<string, unknown>)[key] : undefined);
  }
  return fromParent ? (_r, p) => follow(p, steps) : (r) => follow(r, steps);
}

// ---- value formatting ---------------------------------------------------------------------------

/** COPY text escaping: backslash, newline, carriage return and tab; NUL cannot be stored and is dropped. */
export function escapeCopy(s: string): string {
  let i = 0;
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 || c === 10 || c === 13 || c === 9 || c === 0) break;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 92) out += '\\\\';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c !== 0) out += s[i];
  }
  return out;
}

function isIntegerText(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 20) return false;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const INT64_MAX = 9223372036854775807n;
function integerText(v: unknown): string | null {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return String(v);
    if (!Number.isFinite(v)) return null;
    // 1e21 would print as "1e+21", which bigint does not read.
    const b = BigInt(Math.trunc(v));
    return b > INT64_MAX || b < -INT64_MAX - 1n ? null : b.toString();
  }
  if (typeof v === 'string') {
    const s = v.trim();
    if (!isIntegerText(s)) return null;
    if (s.length >= 19) {
      const b = BigInt(s);
      if (b > INT64_MAX || b < -INT64_MAX - 1n) return null;
    }
    // "007" and "7" are one id to PostgreSQL: keep one spelling so duplicate keys are recognised.
    if (s.length > 1 && (s.charCodeAt(0) === 48 || (s.charCodeAt(0) === 45 && s.charCodeAt(1) === 48))) return BigInt(s).toString();
    return s;
  }
  if (typeof v === 'bigint') return v.toString();
  return null;
}

function numericText(v: unknown): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return null;
    // Only decimal notation: Number() also reads "0x1f" and "0b1", which PostgreSQL rejects.
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!((c >= 48 && c <= 57) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69)) return null;
    }
    return Number.isFinite(Number(s)) ? s : null;
  }
  return null;
}

/**
 * Smallest-unit integer amount → decimal text without floating point (12345 → "123.45" with 2 decimals,
 * "12345" with 0, "12.345" with 3).
 */
export function centsToDecimal(amount: unknown, decimals = 2): string | null {
  const digits = integerText(amount);
  if (digits === null) return null;
  if (decimals === 0) return digits;
  const negative = digits.startsWith('-');
  const abs = (negative ? digits.slice(1) : digits).padStart(decimals + 1, '0');
  return `${negative ? '-' : ''}${abs.slice(0, -decimals)}.${abs.slice(-decimals)}`;
}

// ISO 4217 currencies whose minor unit is not the cent: "smallest currency unit" means yen, not 1/100 yen.
const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);

/** Decimal places of a currency's minor unit (2 unless ISO 4217 says otherwise). */
export function currencyDecimals(code: unknown): number {
  if (typeof code !== 'string') return 2;
  const c = code.toUpperCase();
  return ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
}

function currencyText(v: unknown): string | null {
  if (v !== null && typeof v === 'object') {
    const { amount, currency_code } = v as { amount?: unknown; currency_code?: unknown };
    return centsToDecimal(amount, currencyDecimals(currency_code));
  }
  return numericText(v);
}

function booleanText(v: unknown): string | null {
  if (v === true) return 't';
  if (v === false) return 'f';
  if (typeof v === 'number') return v === 0 ? 'f' : 't';
  if (typeof v === 'string') {
    switch (v.trim().toLowerCase()) {
      case 'true':
      case 't':
      case 'yes':
      case 'y':
      case '1':
        return 't';
      case 'false':
      case 'f':
      case 'no':
      case 'n':
      case '0':
        return 'f';
    }
  }
  return null;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

function digits2(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);
}

/**
 * A real calendar date yyyy-mm-dd at the start of s (not the year 0000 Keap uses for "no date", not
 * 2024-02-30): PostgreSQL rejects impossible dates, and one would fail the whole COPY.
 */
function startsWithDate(s: string): boolean {
  if (
    !(
      s.length >= 10 &&
      isDigit(s, 0) && isDigit(s, 1) && isDigit(s, 2) && isDigit(s, 3) &&
      s.charCodeAt(4) === 45 && isDigit(s, 5) && isDigit(s, 6) &&
      s.charCodeAt(7) === 45 && isDigit(s, 8) && isDigit(s, 9)
    )
  ) {
    return false;
  }
  const year = digits2(s, 0) * 100 + digits2(s, 2);
  const month = digits2(s, 5);
  const day = digits2(s, 8);
  if (year === 0 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= days;
}

function dateText(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  return startsWithDate(v) ? v.slice(0, 10) : null;
}

/**
 * The time and zone after a valid date, in the shapes Keap sends: `THH:MM[:SS[.fff…]]` then nothing,
 * `Z`, or `±HH[[:]MM]`. Returns whether an offset is present, or undefined when the text is not that.
 */
function checkTimeAndZone(s: string): { zoned: boolean } | undefined {
  const n = s.length;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 116 && sep !== 32) || n < 16) return undefined; // T, t or space
  if (!isDigit(s, 11) || !isDigit(s, 12) || s.charCodeAt(13) !== 58 || !isDigit(s, 14) || !isDigit(s, 15)) return undefined;
  if (digits2(s, 11) > 23 || digits2(s, 14) > 59) return undefined;
  let i = 16;
  if (i < n && s.charCodeAt(i) === 58) {
    if (!isDigit(s, i + 1) || !isDigit(s, i + 2) || digits2(s, i + 1) > 59) return undefined;
    i += 3;
    if (i < n && s.charCodeAt(i) === 46) {
      i++;
      const start = i;
      while (i < n && isDigit(s, i)) i++;
      if (i === start) return undefined;
    }
  }
  if (i === n) return { zoned: false };
  const z = s.charCodeAt(i);
  if ((z === 90 || z === 122) && i + 1 === n) return { zoned: true };
  if (z !== 43 && z !== 45) return undefined;
  const rest = n - i - 1; // after the sign: HH, HHMM or HH:MM
  if (!isDigit(s, i + 1) || !isDigit(s, i + 2)) return undefined;
  if (rest === 2) return { zoned: true };
  if (rest === 4 && isDigit(s, i + 3) && isDigit(s, i + 4)) return { zoned: true };
  if (rest === 5 && s.charCodeAt(i + 3) === 58 && isDigit(s, i + 4) && isDigit(s, i + 5)) return { zoned: true };
  return undefined;
}

/**
 * ISO-8601 instants as Keap sends them (v1 `2024-11-07T20:35:13.000+0000`, v2 `2024-03-15T10:30:00Z`).
 * A value without an offset is UTC: it gets a `Z` so the session's TimeZone setting cannot shift it.
 * Other shapes go through Date.parse (as UTC) and are written back as ISO; what cannot be read is NULL.
 */
function timestampText(v: unknown): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? new Date(v).toISOString() : null;
  if (typeof v !== 'string') return null;
  if (startsWithDate(v)) {
    if (v.length === 10) return `${v}T00:00:00Z`;
    const shape = checkTimeAndZone(v);
    if (shape) return shape.zoned ? v : `${v}Z`;
  }
  const t = v.trim();
  if (t.length < 10 || t.startsWith('0000')) return null; // Date.parse reads "12" as a date; Keap never sends that
  let ms = Date.parse(/[zZ]$|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`);
  // A named zone ("… 10:00:00 GMT") cannot take a Z: read it as written.
  if (!Number.isFinite(ms)) ms = Date.parse(t);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function epochMillisText(v: unknown): string | null {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) return null;
  const d = new Date(n);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function textText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return null;
  return JSON.stringify(v);
}

function jsonText(v: unknown): string | null {
  const s = JSON.stringify(v);
  if (s === undefined) return null;
  // jsonb rejects the \u0000 escape; drop NULs rather than lose the whole load.
  return s.includes('\\u0000') ? s.split('\\u0000').join('') : s;
}

function listOf(v: unknown, commaList: boolean): unknown[] | null {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string' && (commaList || v.includes(','))) {
    const out: string[] = [];
    for (const part of v.split(',')) {
      const t = part.trim();
      if (t !== '') out.push(t);
    }
    return out;
  }
  if (v === null || v === undefined) return null;
  return [v];
}

function arrayElement(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92) out += '\\';
    if (c !== 0) out += s[i];
  }
  return out + '"';
}

function textArrayText(v: unknown, commaList: boolean): string | null {
  const list = listOf(v, commaList);
  if (list === null) return null;
  const parts: string[] = [];
  for (const item of list) {
    const t = textText(item);
    parts.push(t === null ? 'NULL' : arrayElement(t));
  }
  return `{${parts.join(',')}}`;
}

function bigintArrayText(v: unknown, commaList: boolean): string | null {
  const list = listOf(v, commaList);
  if (list === null) return null;
  const parts: string[] = [];
  for (const item of list) {
    const t = integerText(item);
    if (t !== null) parts.push(t);
  }
  return `{${parts.join(',')}}`;
}

function compileFormatter(column: ColumnSchema): Formatter {
  const commaList = column.transform === 'comma_list';
  let convert: (v: unknown) => string | null;
  switch (column.type) {
    case 'bigint':
    case 'integer':
      convert = integerText;
      break;
    case 'numeric':
    case 'double precision':
      convert = column.transform === 'currency_amount' ? currencyText : numericText;
      break;
    case 'boolean':
      convert = booleanText;
      break;
    case 'date':
      convert = dateText;
      break;
    case 'timestamptz':
      convert = column.transform === 'epoch_millis' ? epochMillisText : timestampText;
      break;
    case 'jsonb':
      convert = jsonText;
      break;
    case 'text[]':
      convert = (v) => textArrayText(v, commaList);
      break;
    case 'bigint[]':
      convert = (v) => bigintArrayText(v, commaList);
      break;
    case 'text':
    default:
      convert = textText;
  }
  return (v) => {
    if (v === null || v === undefined) return NULL;
    const t = convert(v);
    return t === null ? NULL : escapeCopy(t);
  };
}

// ---- rows --------------------------------------------------------------------------------------

function customFieldMap(record: unknown): Map<string, unknown> | undefined {
  const list = record !== null && typeof record === 'object' ? (record as { custom_fields?: unknown }).custom_fields : undefined;
  if (!Array.isArray(list)) return undefined;
  const map = new Map<string, unknown>();
  for (const item of list) {
    if (item !== null && typeof item === 'object') {
      const { id, content } = item as { id?: unknown; content?: unknown };
      if (id !== undefined && id !== null) map.set(String(id), content);
    }
  }
  return map;
}

/**
 * Turns API records of one table into COPY text, chunk after chunk. It remembers primary keys across
 * chunks: a row whose key was already loaded (a record seen on two pages while the data changed) or
 * whose key has a NULL is skipped and counted, because either would make the whole COPY fail.
 */
export class CopyRowEncoder {
  readonly table: TableSchema;
  rowCount = 0;
  skippedDuplicateKey = 0;
  skippedNullKey = 0;
  private readonly getters: Getter[];
  private readonly formatters: Formatter[];
  private readonly keyIndexes: number[];
  private readonly hasCustom: boolean;
  private readonly unnest: string | undefined;
  private readonly seen = new Set<string | number>();
  private readonly numericKey: boolean;
  /** when set, the key of every row written is appended here (callers that check keys themselves) */
  rowKeys: Array<string | number> | undefined;

  constructor(table: TableSchema) {
    this.table = table;
    this.getters = table.columns.map(compileGetter);
    this.formatters = table.columns.map(compileFormatter);
    this.keyIndexes = table.primaryKey.map((k) => table.columns.findIndex((c) => c.name === k));
    this.hasCustom = table.columns.some((c) => c.customFieldId !== undefined);
    this.unnest = table.source.unnest;
    const keyTypes = this.keyIndexes.map((i) => table.columns[i]?.type);
    this.numericKey = keyTypes.length === 1 && (keyTypes[0] === 'bigint' || keyTypes[0] === 'integer');
  }

  /** Forgets the keys written so far (a caller that checks keys across calls itself). */
  forgetKeys(): void {
    this.seen.clear();
  }

  /**
   * COPY text for these records. For an unnest table, pass the parent endpoint's records: each element
   * of `record[unnest]` becomes a row, with `$parent.` paths reading the record. For a perParent table,
   * `$parent.` paths read `parent` (the parent's API record, e.g. the tag), or else each record's own
   * `$parent` property (how the Keap connector delivers per-parent records).
   */
  encode(records: readonly unknown[], parent?: unknown): string {
    let out = '';
    for (const record of records) out += this.encodeRecord(record, parent);
    return out;
  }

  /** The COPY lines of one API record: none (skipped), one, or one per element of an unnest table's list. */
  encodeRecord(record: unknown, parent?: unknown): string {
    const unnest = this.unnest;
    if (unnest === undefined) {
      // The connector hands per-parent records with their parent attached as `$parent`.
      return this.encodeRow(record, parent ?? (record !== null && typeof record === 'object' ? (record as { $parent?: unknown }).$parent : undefined));
    }
    if (record === null || typeof record !== 'object') return '';
    const children = (record as Record<string, unknown>)[unnest];
    let out = '';
    if (Array.isArray(children)) for (const child of children) out += this.encodeRow(child, record);
    return out;
  }

  /** One line of COPY text with its newline, or '' when the row is skipped. */
  private encodeRow(record: unknown, parent: unknown): string {
    const custom = this.hasCustom ? customFieldMap(record) : undefined;
    const getters = this.getters;
    const formatters = this.formatters;
    const keyIndexes = this.keyIndexes;
    let key: string | number = '';
    for (let k = 0; k < keyIndexes.length; k++) {
      const i = keyIndexes[k]!;
      const f = formatters[i]!(getters[i]!(record, parent, custom));
      if (f === NULL) {
        this.skippedNullKey++;
        return '';
      }
      key = k === 0 ? f : `${key}\t${f}`;
    }
    // A single integer key is remembered as a number: a million keys then cost far less memory.
    if (this.numericKey && (key as string).length < 16) key = Number(key);
    if (this.seen.has(key)) {
      this.skippedDuplicateKey++;
      return '';
    }
    this.seen.add(key);
    this.rowKeys?.push(key);
    this.rowCount++;
    let line = formatters[0]!(getters[0]!(record, parent, custom));
    for (let i = 1; i < getters.length; i++) line += '\t' + formatters[i]!(getters[i]!(record, parent, custom));
    return line + '\n';
  }
}

/** COPY text for one batch of records (see CopyRowEncoder for unnest/perParent and key handling). */
export function recordsToCopyText(table: TableSchema, records: readonly unknown[], parent?: unknown): string {
  return new CopyRowEncoder(table).encode(records, parent);
}

// The v2 `filter` language (reference §3.2): `field==value` clauses joined by `;`, trailing `*` for a case-insensitive
// prefix, `>`/`>=`/`<`/`<=`/`!=` where a field allows them, comma lists for set fields, `NONE` for "absent", and
// custom fields by their `field_name`. Anything else is a 400, as Keap answers.
import { ApiError } from './http-errors.js';
import { parseTime } from './formats.js';
import type { CustomFieldDef, CustomValue } from './model.js';

export type Op = '==' | '!=' | '>' | '>=' | '<' | '<=';
export type Scalar = string | number | boolean | null | undefined;

export interface FilterField<T> {
  /** how the filter value is read and compared */
  type: 'string' | 'id' | 'number' | 'time' | 'bool' | 'set';
  /** a trailing `*` makes `==` a case-insensitive prefix match */
  prefix?: boolean;
  /** operators besides `==` */
  ops?: Op[];
  /** `field==NONE` matches records without a value */
  none?: boolean;
  /** `field==t` means "record time ≥ t" (since/start) or "≤ t" (until/end) */
  bound?: 'since' | 'until';
  /** the record's value (an array matches when any element does) */
  get: (rec: T) => Scalar | Scalar[];
  /** the value straight from the id, so scans need not build the record */
  cheap?: (id: number) => Scalar | Scalar[];
  /** this field is the record id: ranges and sets narrow the scan instead of filtering it */
  isId?: boolean;
}
export type FilterSpec<T> = Record<string, FilterField<T>>;

export interface Clause<T> { name: string; field: FilterField<T>; op: Op; raw: string }

export interface ParsedFilter<T> {
  /** does the record match every clause? (`lazy` builds the record only if a clause needs it) */
  matches(id: number, lazy: () => T | undefined): boolean;
  /** narrowing from id clauses: scan ids in [lo, hi], or only these ids */
  idLo: number; idHi: number; idSet: number[] | null;
  readonly empty: boolean;
}

const CLAUSE = /^\s*([A-Za-z0-9_.]+)\s*(==|!=|>=|<=|>|<)\s*(.*?)\s*$/s;

export function parseFilter<T>(expr: string | null, spec: FilterSpec<T>, custom?: { defs: CustomFieldDef[]; values: (rec: T) => Record<number, CustomValue> }): ParsedFilter<T> {
  const preds: ((id: number, lazy: () => T | undefined) => boolean)[] = [];
  let idLo = 1; let idHi = Number.MAX_SAFE_INTEGER; let idSet: number[] | null = null;
  const clauses = (expr ?? '').split(';').map((s) => s.trim()).filter((s) => s !== '');
  for (const text of clauses) {
    const m = CLAUSE.exec(text);
    if (!m) throw new ApiError(400, `Invalid filter: '${text}' is not of the form field==value`);
    const [, name, op, raw] = m as unknown as [string, string, Op, string];
    let field = spec[name];
    if (!field && custom) {
      // standard names win over custom-field names (reference §3.2)
      const def = custom.defs.find((d) => d.fieldName === name);
      if (def) field = customFilterField(def, custom.values);
    }
    if (!field) throw new ApiError(400, `Invalid filter field: '${name}'. Allowed fields: ${Object.keys(spec).join(', ')}${custom ? ' and custom fields by field_name' : ''}`);
    if (op !== '==' && !field.ops?.includes(op)) throw new ApiError(400, `Invalid filter operator '${op}' for field '${name}'`);
    if (field.isId && !(raw === 'NONE')) {
      if (field.type === 'set' || raw.includes(',')) {
        const ids = raw.split(',').map((x) => parseIdValue(name, x));
        idSet = idSet ? idSet.filter((x) => ids.includes(x)) : [...new Set(ids)].sort((a, b) => a - b);
        continue;
      }
      const v = parseIdValue(name, raw);
      switch (op) {
        case '==': idLo = Math.max(idLo, v); idHi = Math.min(idHi, v); continue;
        case '>': idLo = Math.max(idLo, v + 1); continue;
        case '>=': idLo = Math.max(idLo, v); continue;
        case '<': idHi = Math.min(idHi, v - 1); continue;
        case '<=': idHi = Math.min(idHi, v); continue;
        default: break; // != filters like any other field
      }
    }
    preds.push(clausePredicate(name, field, op, raw));
  }
  return {
    idLo, idHi, idSet,
    empty: preds.length === 0,
    matches(id, lazy) {
      for (const p of preds) if (!p(id, lazy)) return false;
      return true;
    },
  };
}

function parseIdValue(name: string, raw: string): number {
  const v = Number(raw.trim());
  if (!Number.isInteger(v)) throw new ApiError(400, `Invalid value '${raw}' for filter field '${name}': expected an id`);
  return v;
}

function clausePredicate<T>(name: string, field: FilterField<T>, op: Op, raw: string): (id: number, lazy: () => T | undefined) => boolean {
  const read = (id: number, lazy: () => T | undefined): Scalar | Scalar[] => {
    if (field.cheap) return field.cheap(id);
    const rec = lazy();
    return rec === undefined ? undefined : field.get(rec);
  };
  if (raw === 'NONE') {
    if (!field.none) throw new ApiError(400, `Filter field '${name}' does not accept NONE`);
    const isNone = (v: Scalar | Scalar[]): boolean => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
    return op === '!=' ? (id, lazy) => !isNone(read(id, lazy)) : (id, lazy) => isNone(read(id, lazy));
  }
  let test: (v: Scalar) => boolean;
  switch (field.type) {
    case 'string': {
      if (field.prefix && raw.slice(0, -1).includes('*')) throw new ApiError(400, `Invalid filter value '${raw}': only a trailing * is allowed`);
      if (field.prefix && raw.endsWith('*')) {
        const p = raw.slice(0, -1).toLowerCase();
        test = (v) => typeof v === 'string' && v.toLowerCase().startsWith(p);
      } else {
        if (raw.includes('*') && !field.prefix) throw new ApiError(400, `Filter field '${name}' does not accept wildcards`);
        const want = raw.toLowerCase();
        test = (v) => typeof v === 'string' && v.toLowerCase() === want;
      }
      if (op === '!=') { const eq = test; test = (v) => !eq(v); }
      break;
    }
    case 'set': {
      const want = new Set(raw.split(',').map((s) => s.trim()));
      test = (v) => v !== null && v !== undefined && want.has(String(v));
      break;
    }
    case 'bool': {
      const b = raw.toLowerCase();
      if (b !== 'true' && b !== 'false') throw new ApiError(400, `Invalid value '${raw}' for filter field '${name}': expected true or false`);
      test = (v) => Boolean(v) === (b === 'true');
      break;
    }
    case 'id': case 'number': case 'time': {
      const want = field.type === 'time' ? parseTime(raw) : Number(raw);
      if (want === undefined || Number.isNaN(want)) throw new ApiError(400, `Invalid value '${raw}' for filter field '${name}'`);
      const effective: Op = field.bound === 'since' ? '>=' : field.bound === 'until' ? '<=' : op;
      test = compare(effective, want);
      break;
    }
  }
  return (id, lazy) => {
    const v = read(id, lazy);
    if (Array.isArray(v)) return op === '!=' && field.type === 'string' ? v.every(test) : v.some(test);
    return test(v);
  };
}

function compare(op: Op, want: number): (v: Scalar) => boolean {
  const num = (v: Scalar): number => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN);
  switch (op) {
    case '==': return (v) => num(v) === want;
    case '!=': return (v) => v !== null && v !== undefined && num(v) !== want;
    case '>': return (v) => num(v) > want;
    case '>=': return (v) => num(v) >= want;
    case '<': return (v) => num(v) < want;
    case '<=': return (v) => num(v) <= want;
  }
}

function customFilterField<T>(def: CustomFieldDef, values: (rec: T) => Record<number, CustomValue>): FilterField<T> {
  const get = (rec: T): Scalar => values(rec)[def.id] ?? null;
  const cmp: Op[] = ['!=', '>', '>=', '<', '<='];
  switch (def.type) {
    case 'WholeNumber': case 'DecimalNumber': case 'Currency': case 'Percent': case 'Year': case 'Month':
      return { type: 'number', ops: cmp, get, none: true };
    case 'Date': case 'DateTime':
      return { type: 'time', ops: cmp, get, none: true };
    case 'YesNo':
      return { type: 'bool', get, none: true };
    case 'ListBox':
      return { type: 'string', prefix: true, get: (rec) => String(get(rec) ?? '').split(',').filter(Boolean), none: true };
    case 'User':
      return { type: 'set', get, none: true };
    default:
      return { type: 'string', prefix: true, ops: ['!='], get, none: true };
  }
}

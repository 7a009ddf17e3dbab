// Reads a Profile directory of schemas/*.yaml into a validated, frozen Catalog.
// Every file is checked completely up front so a bad schema fails at start-up with the file, table,
// column and what is wrong, never halfway through a query.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { SqlError, SQLSTATE } from '../errors.js';
import { parseWrite } from './write-spec.js';
import { checkPath as checkColumnPath } from './rows.js';
import type {
  Catalog,
  ColumnSchema,
  FilterOp,
  ForeignKey,
  PgType,
  PushableFilter,
  SortableColumn,
  TableSchema,
  TableSource,
  ValueTransform,
} from './types.js';

export const PG_TYPES: readonly PgType[] = [
  'bigint',
  'integer',
  'numeric',
  'double precision',
  'boolean',
  'text',
  'date',
  'timestamptz',
  'jsonb',
  'text[]',
  'bigint[]',
];
const TRANSFORMS: readonly ValueTransform[] = ['currency_amount', 'epoch_millis', 'comma_list'];
const FILTER_OPS: readonly FilterOp[] = ['=', 'in', '<', '<=', '>', '>=', 'prefix', 'isnull'];
const FILTER_FORMATS = ['text', 'id', 'iso_timestamp', 'date', 'boolean'] as const;
const IDENTIFIER = /^[a-z][a-z0-9_]*$/;

/** The schemas/ directory shipped with the package (dist/src/schema → ../../../schemas, src/schema → ../../schemas). */
export function builtinSchemasDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of [['..', '..', '..'], ['..', '..']]) {
    const dir = join(here, ...up, 'schemas');
    try {
      if (statSync(dir).isDirectory()) return dir;
    } catch {
      // not this layout
    }
  }
  return join(here, '..', '..', '..', 'schemas');
}

function schemaError(file: string, message: string, hint?: string): SqlError {
  return new SqlError(SQLSTATE.configFileError, `invalid table schema ${file}: ${message}`, {
    hint: hint ?? 'Fix the file; the format is described in schemas/README.md.',
  });
}

/** Reads and validates every `*.yaml` file in `dir` (default: the built-in schemas). */
export function loadCatalog(dir: string = builtinSchemasDir()): Catalog {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
  } catch (e) {
    throw new SqlError(SQLSTATE.configFileError, `cannot read the schema directory "${dir}"`, {
      detail: (e as Error).message,
      hint: 'Profile must name a directory of <table>.yaml files.',
    });
  }
  if (names.length === 0) {
    throw new SqlError(SQLSTATE.configFileError, `the schema directory "${dir}" holds no .yaml files`, {
      hint: 'Profile must name a directory of <table>.yaml files.',
    });
  }
  names.sort();
  const tables = new Map<string, TableSchema>();
  const fileOf = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw schemaError(name, `not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    const table = parseTable(name, doc);
    if (tables.has(table.name)) throw schemaError(name, `table "${table.name}" is also defined in ${fileOf.get(table.name)}`);
    tables.set(table.name, table);
    fileOf.set(table.name, name);
  }
  for (const table of tables.values()) checkReferences(fileOf.get(table.name)!, table, tables);
  return catalogOf(tables.values());
}

/** A frozen catalog of the given tables (in order). */
export function catalogOf(tables: Iterable<TableSchema>): Catalog {
  const map = new Map<string, TableSchema>();
  for (const t of tables) map.set(t.name, deepFreeze(t));
  return Object.freeze({ tables: map as ReadonlyMap<string, TableSchema> });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Field-by-field reader that names the place of every problem. */
class Reader {
  constructor(
    private readonly file: string,
    private readonly where: string,
  ) {}

  fail(message: string): never {
    throw schemaError(this.file, `${this.where}: ${message}`);
  }

  at(where: string): Reader {
    return new Reader(this.file, `${this.where}, ${where}`);
  }

  object(value: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
    if (!value || typeof value !== 'object' || Array.isArray(value)) this.fail(`${what} must be a mapping`);
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) this.fail(`unknown key "${key}" in ${what} (allowed: ${allowed.join(', ')})`);
    }
    return record;
  }

  string(value: unknown, what: string): string {
    if (typeof value !== 'string' || value.trim() === '') this.fail(`${what} must be a non-empty string`);
    return value;
  }

  optString(value: unknown, what: string): string | undefined {
    return value === undefined ? undefined : this.string(value, what);
  }

  identifier(value: unknown, what: string): string {
    const s = this.string(value, what);
    if (!IDENTIFIER.test(s)) this.fail(`${what} "${s}" must be snake_case (a-z, 0-9, _; starting with a letter)`);
    if (s.length > 63) this.fail(`${what} "${s}" is longer than PostgreSQL's 63-character identifier limit`);
    return s;
  }

  bool(value: unknown, what: string): boolean | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(`${what} must be true or false`);
    return value;
  }

  positiveInt(value: unknown, what: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) this.fail(`${what} must be a positive integer`);
    return value;
  }

  list(value: unknown, what: string, nonEmpty = true): unknown[] {
    if (!Array.isArray(value)) this.fail(`${what} must be a list`);
    if (nonEmpty && value.length === 0) this.fail(`${what} must not be empty`);
    return value;
  }

  stringList(value: unknown, what: string): string[] {
    return this.list(value, what).map((v, i) => this.string(v, `${what}[${i}]`));
  }

  oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(`${what} ${JSON.stringify(value)} is not one of: ${allowed.join(', ')}`);
    }
    return value as T;
  }
}

const TABLE_KEYS = ['name', 'description', 'source', 'primaryKey', 'foreignKeys', 'columns', 'filters', 'sort', 'write'];
const SOURCE_KEYS = [
  'version',
  'path',
  'listKey',
  'pageSizeMax',
  'fields',
  'query',
  'unnest',
  'perParent',
  'viaListing',
  'count',
  'customFieldsModel',
  'extraPaths',
  'baseFilter',
  'unpaged',
  'single',
  'changedSince',
];
const COLUMN_KEYS = ['name', 'type', 'path', 'description', 'transform', 'notNull', 'optionalProperty', 'customFieldId', 'customFieldName'];
const FILTER_KEYS = ['column', 'ops', 'param', 'params', 'format', 'maxList', 'wireOps'];

/** Validates one parsed file into a TableSchema (references to other tables are checked later). */
export function parseTable(file: string, doc: unknown): TableSchema {
  const top = new Reader(file, 'file');
  const t = top.object(doc, 'the file', TABLE_KEYS);
  const name = top.identifier(t.name, 'name');
  const expected = basename(file).replace(/\.ya?ml$/, '');
  if (name !== expected) top.fail(`table name "${name}" must match the file name "${expected}"`);
  const r = new Reader(file, `table "${name}"`);
  const description = r.string(t.description, 'description');
  const source = parseSource(r.at('source'), t.source);

  const columns = r.list(t.columns, 'columns').map((c, i) => parseColumn(r, c, i));
  const byName = new Map<string, ColumnSchema>();
  for (const c of columns) {
    if (byName.has(c.name)) r.at(`column "${c.name}"`).fail('is declared twice');
    byName.set(c.name, c);
  }
  const hasColumn = (rr: Reader, col: unknown, what: string): string => {
    const s = rr.string(col, what);
    if (!byName.has(s)) rr.fail(`${what} "${s}" is not a column of this table`);
    return s;
  };

  const primaryKey = r.list(t.primaryKey, 'primaryKey').map((c, i) => hasColumn(r, c, `primaryKey[${i}]`));
  if (new Set(primaryKey).size !== primaryKey.length) r.fail('primaryKey lists a column twice');
  for (const c of primaryKey) {
    const type = byName.get(c)!.type;
    if (type === 'jsonb' || type.endsWith('[]')) r.fail(`primary key column "${c}" has type ${type}, which cannot be a key`);
  }

  const foreignKeys = r.list(t.foreignKeys ?? [], 'foreignKeys', false).map((f, i): ForeignKey => {
    const fr = r.at(`foreignKeys[${i}]`);
    const fk = fr.object(f, 'a foreign key', ['columns', 'references']);
    const cols = fr.list(fk.columns, 'columns').map((c, j) => hasColumn(fr, c, `columns[${j}]`));
    const ref = fr.object(fk.references, 'references', ['table', 'columns']);
    return {
      columns: cols,
      references: { table: fr.identifier(ref.table, 'references.table'), columns: fr.stringList(ref.columns, 'references.columns') },
    };
  });

  const filters = r.list(t.filters ?? [], 'filters', false).map((f, i): PushableFilter => {
    const fr = r.at(`filters[${i}]`);
    const o = fr.object(f, 'a filter', FILTER_KEYS);
    const column = hasColumn(fr, o.column, 'column');
    const ops = fr.list(o.ops, 'ops').map((op, j) => fr.oneOf(op, `ops[${j}]`, FILTER_OPS));
    const filter: PushableFilter = { column, ops, param: fr.string(o.param, 'param') };
    if (o.params !== undefined) filter.params = opMap(fr.at('params'), o.params, ops);
    if (o.wireOps !== undefined) filter.wireOps = opMap(fr.at('wireOps'), o.wireOps, ops);
    if (o.format !== undefined) filter.format = fr.oneOf(o.format, 'format', FILTER_FORMATS);
    if (o.maxList !== undefined) {
      if (!ops.includes('in')) fr.fail('maxList is only meaningful with the "in" op');
      filter.maxList = fr.positiveInt(o.maxList, 'maxList');
    }
    checkFilterFits(fr, filter, byName.get(column)!, source.version);
    return filter;
  });
  const filtered = new Set<string>();
  for (const f of filters) {
    // The planner and connector take the first filter of a column: a second one would be ignored.
    if (filtered.has(f.column)) r.fail(`column "${f.column}" has two filters; declare one with per-op names in params`);
    filtered.add(f.column);
  }
  if (source.changedSince !== undefined && !filters.some((f) => f.column === source.changedSince && f.ops.includes('>='))) {
    r.at('source').fail(`changedSince "${source.changedSince}" needs a filter with op >= on that column`);
  }

  const sort = r.list(t.sort ?? [], 'sort', false).map((s, i): SortableColumn => {
    const sr = r.at(`sort[${i}]`);
    const o = sr.object(s, 'a sort', ['column', 'param']);
    return { column: hasColumn(sr, o.column, 'column'), param: sr.string(o.param, 'param') };
  });
  if (sort.length > 0 && source.version === 2 && source.unnest) r.fail('an unnest table cannot declare sort: rows are not in API order');

  const table: TableSchema = { name, description, source, primaryKey, foreignKeys, columns, filters, sort };
  if (t.write !== undefined) table.write = parseWrite((what) => r.at('write').fail(what), t.write, byName, source.version);
  return table;
}

const WIRE_OPS = ['==', '!=', '<', '<=', '>', '>='];

/** A filter must fit its column: prefix on text, ids on integers, timestamps on instants, NONE only in v2. */
function checkFilterFits(r: Reader, filter: PushableFilter, column: ColumnSchema, version: 1 | 2): void {
  if (filter.ops.includes('prefix') && column.type !== 'text') r.fail(`op prefix needs a text column, "${column.name}" is ${column.type}`);
  if (filter.ops.includes('isnull') && version !== 2) r.fail('op isnull is the v2 NONE sentinel; v1 has no way to ask for a missing value');
  const format = filter.format ?? 'text';
  const fits: Record<string, readonly PgType[]> = {
    id: ['bigint', 'integer', 'bigint[]'],
    iso_timestamp: ['timestamptz', 'date'],
    date: ['date', 'timestamptz'],
    boolean: ['boolean'],
  };
  if (format !== 'text' && !fits[format]!.includes(column.type)) r.fail(`format ${format} does not fit column "${column.name}" of type ${column.type}`);
  for (const [op, wire] of Object.entries(filter.wireOps ?? {})) {
    if (!WIRE_OPS.includes(wire)) r.fail(`wireOps "${op}": "${wire}" is not one of ${WIRE_OPS.join(' ')}`);
  }
}

function opMap(r: Reader, value: unknown, ops: FilterOp[]): Partial<Record<FilterOp, string>> {
  const o = r.object(value, 'the mapping', FILTER_OPS);
  const out: Partial<Record<FilterOp, string>> = {};
  for (const [op, v] of Object.entries(o)) {
    if (!ops.includes(op as FilterOp)) r.fail(`op "${op}" is not in this filter's ops`);
    out[op as FilterOp] = r.string(v, `"${op}"`);
  }
  return out;
}

function parseSource(r: Reader, value: unknown): TableSource {
  const o = r.object(value, 'source', SOURCE_KEYS);
  const version = o.version;
  if (version !== 1 && version !== 2) r.fail('version must be 1 or 2');
  const path = r.string(o.path, 'path');
  const checkPath = (p: string, what: string): void => {
    if (!p.startsWith(`/v${version}/`)) r.fail(`${what} "${p}" must start with /v${version}/ (source.version is ${version})`);
  };
  checkPath(path, 'path');
  if (o.listKey !== null && typeof o.listKey !== 'string') r.fail('listKey must be the envelope key (a string) or null for a bare array');
  const source: TableSource = {
    version,
    path,
    listKey: o.listKey as string | null,
    pageSizeMax: r.positiveInt(o.pageSizeMax, 'pageSizeMax'),
  };
  if (o.fields !== undefined) source.fields = r.stringList(o.fields, 'fields');
  if (o.query !== undefined) {
    const q = r.object(o.query, 'query', Object.keys(o.query as object));
    source.query = Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));
  }
  if (o.unnest !== undefined) source.unnest = r.string(o.unnest, 'unnest');
  if (o.perParent !== undefined) {
    const pr = r.at('perParent');
    const p = pr.object(o.perParent, 'perParent', ['table', 'column', 'param']);
    source.perParent = { table: pr.identifier(p.table, 'table'), column: pr.identifier(p.column, 'column'), param: pr.string(p.param, 'param') };
    if (!path.includes(`{${source.perParent.param}}`)) pr.fail(`param "${source.perParent.param}" does not appear as {${source.perParent.param}} in path "${path}"`);
  } else if (/\{[^}]+\}/.test(path)) {
    r.fail(`path "${path}" has a placeholder but no perParent says what fills it`);
  }
  if (source.unnest && source.perParent) r.fail('a table cannot be both unnest and perParent');
  if (o.viaListing !== undefined) {
    const vr = r.at('viaListing');
    const v = vr.object(o.viaListing, 'viaListing', ['table', 'unnest', 'fields', 'columns']);
    const cols = vr.object(v.columns, 'columns', Object.keys((v.columns ?? {}) as object));
    source.viaListing = {
      table: vr.identifier(v.table, 'table'),
      ...(v.unnest !== undefined ? { unnest: vr.string(v.unnest, 'unnest') } : {}),
      ...(v.fields !== undefined ? { fields: vr.stringList(v.fields, 'fields') } : {}),
      columns: Object.fromEntries(Object.entries(cols).map(([k, p]) => {
        const path = vr.string(p, `columns.${k}`);
        if (path !== '$element') {
          try {
            checkColumnPath(path);
          } catch (e) {
            vr.fail(`columns.${k}: path "${path}": ${(e as Error).message}`);
          }
        }
        return [k, path];
      })),
    };
    if (!source.perParent) vr.fail('only a perParent table reads another listing instead');
  }
  if (o.count !== undefined) {
    const cr = r.at('count');
    const c = cr.object(o.count, 'count', ['version', 'path', 'key']);
    if (c.version !== 1) cr.fail('version must be 1 (only v1 lists return a total count)');
    const cpath = cr.string(c.path, 'path');
    if (!cpath.startsWith('/v1/')) cr.fail(`path "${cpath}" must start with /v1/`);
    source.count = { version: 1, path: cpath, key: cr.string(c.key, 'key') };
  }
  if (o.customFieldsModel !== undefined) {
    source.customFieldsModel = r.string(o.customFieldsModel, 'customFieldsModel');
    if (!/^\/v[12]\/.+\/model$/.test(source.customFieldsModel)) r.fail(`customFieldsModel "${source.customFieldsModel}" must be a /v1|v2/<resource>/model path`);
  }
  if (o.extraPaths !== undefined) {
    source.extraPaths = r.stringList(o.extraPaths, 'extraPaths');
    for (const p of source.extraPaths) checkPath(p, 'extraPaths entry');
  }
  if (o.baseFilter !== undefined) {
    if (version !== 2) r.fail('baseFilter is a v2 filter= expression; v1 constant parameters go in query');
    source.baseFilter = r.stringList(o.baseFilter, 'baseFilter');
  }
  const unpaged = r.bool(o.unpaged, 'unpaged');
  if (unpaged !== undefined) source.unpaged = unpaged;
  const single = r.bool(o.single, 'single');
  if (single !== undefined) source.single = single;
  if (source.single && !source.unpaged) r.fail('a single-record endpoint must also be unpaged');
  if (source.single && source.listKey !== null) r.fail('a single-record endpoint has no listKey (null)');
  if (o.changedSince !== undefined) source.changedSince = r.identifier(o.changedSince, 'changedSince');
  return source;
}

function parseColumn(r: Reader, value: unknown, index: number): ColumnSchema {
  const where = value && typeof value === 'object' && typeof (value as { name?: unknown }).name === 'string' ? `column "${(value as { name: string }).name}"` : `columns[${index}]`;
  const cr = r.at(where);
  const o = cr.object(value, 'a column', COLUMN_KEYS);
  const column: ColumnSchema = {
    name: cr.identifier(o.name, 'name'),
    type: cr.oneOf(o.type, 'type', PG_TYPES),
    path: cr.string(o.path, 'path'),
    description: cr.string(o.description, 'description'),
  };
  if (column.path.startsWith('.') || column.path.endsWith('.') || column.path.includes('..')) cr.fail(`path "${column.path}" is not a dot path`);
  try {
    checkColumnPath(column.path);
  } catch (e) {
    cr.fail(`path "${column.path}": ${(e as Error).message}`);
  }
  if (o.transform !== undefined) {
    column.transform = cr.oneOf(o.transform, 'transform', TRANSFORMS);
    const fits =
      (column.transform === 'currency_amount' && column.type === 'numeric') ||
      (column.transform === 'epoch_millis' && column.type === 'timestamptz') ||
      (column.transform === 'comma_list' && column.type.endsWith('[]'));
    if (!fits) cr.fail(`transform ${column.transform} does not produce type ${column.type}`);
  }
  const notNull = cr.bool(o.notNull, 'notNull');
  if (notNull !== undefined) column.notNull = notNull;
  if (o.optionalProperty !== undefined) column.optionalProperty = cr.string(o.optionalProperty, 'optionalProperty');
  if (o.customFieldId !== undefined) column.customFieldId = String(o.customFieldId);
  if (o.customFieldName !== undefined) column.customFieldName = cr.string(o.customFieldName, 'customFieldName');
  return column;
}

function checkReferences(file: string, table: TableSchema, tables: Map<string, TableSchema>): void {
  const r: Reader = new Reader(file, `table "${table.name}"`);
  table.foreignKeys.forEach((fk, i) => {
    const fr: Reader = r.at(`foreignKeys[${i}]`);
    const target = tables.get(fk.references.table);
    if (!target) fr.fail(`references table "${fk.references.table}", which no file defines`);
    if (fk.references.columns.length !== fk.columns.length) fr.fail(`${fk.columns.length} column(s) reference ${fk.references.columns.length} column(s)`);
    fk.references.columns.forEach((c, j) => {
      const col = target.columns.find((x) => x.name === c);
      if (!col) fr.fail(`references column "${c}", which table "${target.name}" does not have`);
      const own = table.columns.find((x) => x.name === fk.columns[j])!;
      if (own.type !== col.type) fr.fail(`column "${own.name}" (${own.type}) cannot reference "${target.name}.${c}" (${col.type})`);
    });
    const pk = target.primaryKey;
    if (pk.length !== fk.references.columns.length || pk.some((c) => !fk.references.columns.includes(c))) {
      fr.fail(`must reference the primary key of "${target.name}" (${pk.join(', ')}): PostgreSQL needs a unique target`);
    }
  });
  const pp = table.source.perParent;
  if (pp) {
    const pr: Reader = r.at('source.perParent');
    const parent = tables.get(pp.table);
    if (!parent) pr.fail(`table "${pp.table}" is not defined`);
    if (!parent.columns.some((c) => c.name === pp.column)) pr.fail(`table "${pp.table}" has no column "${pp.column}"`);
  }
  const vl = table.source.viaListing;
  if (vl) {
    const vr: Reader = r.at('source.viaListing');
    const listing = tables.get(vl.table);
    if (!listing) vr.fail(`table "${vl.table}" is not defined`);
    if (listing.source.perParent || listing.source.unnest) vr.fail(`table "${vl.table}" is not read from a listing of its own`);
    for (const name of Object.keys(vl.columns)) if (!table.columns.some((c) => c.name === name)) vr.fail(`columns: "${name}" is not a column of this table`);
    for (const k of table.primaryKey) if (!(k in vl.columns)) vr.fail(`columns: the key column "${k}" must be given`);
  }
}

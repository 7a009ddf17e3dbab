// The connected account's custom fields (GET /v{1,2}/<resource>/model) as typed columns custom_<name>.
// Values live in each record's custom_fields: [{id, content}], so a column names its field by id.
import { catalogOf } from './load.js';
import { addColumnsDdl, qualifiedName, quoteIdent, quoteLiteral } from './ddl.js';
import { snakeCase } from './names.js';
import type { Catalog, ColumnSchema, FilterOp, PgType, PushableFilter, TableSchema } from './types.js';

const MAX_IDENTIFIER = 63;

/** Keap field type (v2 UPPER_SNAKE, or v1 CamelCase normalised to it) → PostgreSQL type. */
export function customFieldType(fieldType: string): { type: PgType; commaList?: boolean } {
  switch (normaliseFieldType(fieldType)) {
    case 'WHOLE_NUMBER':
    case 'YEAR':
      return { type: 'bigint' };
    case 'DECIMAL_NUMBER':
    case 'CURRENCY':
    case 'PERCENT':
      return { type: 'numeric' };
    case 'DATE':
      return { type: 'date' };
    case 'DATE_TIME':
      return { type: 'timestamptz' };
    case 'YES_NO':
      return { type: 'boolean' };
    // Several choices in one field: an array, so `'x' = ANY(col)` works; Keap sends them comma-separated.
    case 'LIST_BOX':
      return { type: 'text[]', commaList: true };
    case 'USER_LIST_BOX':
      return { type: 'bigint[]', commaList: true };
    case 'USER':
      return { type: 'bigint' };
    default:
      // TEXT, TEXT_AREA, EMAIL, NAME, PHONE_NUMBER, SOCIAL_SECURITY_NUMBER, STATE, WEBSITE, DROPDOWN,
      // RADIO, DRILLDOWN, DAY_OF_WEEK, MONTH and any type Keap adds later.
      return { type: 'text' };
  }
}

/** "DecimalNumber" (v1) and "DECIMAL_NUMBER" (v2) → "DECIMAL_NUMBER". */
export function normaliseFieldType(fieldType: string): string {
  return snakeCase(fieldType).toUpperCase();
}

interface FieldDefinition {
  id: string;
  label: string;
  fieldName: string;
  fieldType: string;
  options: string[];
}

function definitions(model: unknown): FieldDefinition[] {
  const list = model !== null && typeof model === 'object' ? (model as { custom_fields?: unknown }).custom_fields : undefined;
  if (!Array.isArray(list)) return [];
  const out: FieldDefinition[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const f = item as Record<string, unknown>;
    if (f.id === undefined || f.id === null) continue;
    const options = Array.isArray(f.options)
      ? f.options.map((o) => (o && typeof o === 'object' ? String((o as { label?: unknown }).label ?? '') : String(o))).filter((s) => s !== '')
      : [];
    out.push({
      id: String(f.id),
      label: typeof f.label === 'string' ? f.label : '',
      fieldName: typeof f.field_name === 'string' ? f.field_name : '',
      fieldType: typeof f.field_type === 'string' ? f.field_type : 'TEXT',
      options,
    });
  }
  return out;
}

function columnName(base: string, id: string, taken: Set<string>): string {
  const stem = `custom_${snakeCase(base) || id}`.slice(0, MAX_IDENTIFIER);
  let name = stem;
  if (taken.has(name) || !/^[a-z]/.test(name)) {
    const suffix = `_${snakeCase(id)}`;
    name = `${stem.slice(0, MAX_IDENTIFIER - suffix.length)}${suffix}`;
    for (let n = 2; taken.has(name); n++) name = `${stem.slice(0, MAX_IDENTIFIER - suffix.length - 3)}${suffix}_${n}`;
  }
  taken.add(name);
  return name;
}

/**
 * Columns for the custom fields in the body of GET /v{1,2}/<resource>/model. Names are
 * custom_<snake field_name> (the label when a field has no name), unique among themselves;
 * `reserved` names (the table's own columns) are avoided by suffixing the field id.
 */
export function customFieldColumns(model: unknown, version: 1 | 2, reserved: Iterable<string> = []): ColumnSchema[] {
  const taken = new Set(reserved);
  return definitions(model).map((f) => {
    const { type, commaList } = customFieldType(f.fieldType);
    const what = f.label || f.fieldName || `custom field ${f.id}`;
    const options = f.options.length > 0 && f.options.length <= 25 ? ` Options: ${f.options.join(', ')}.` : '';
    const column: ColumnSchema = {
      name: columnName(f.fieldName || f.label, f.id, taken),
      type,
      path: 'custom_fields',
      description: `${what} (custom field ${f.id}, ${normaliseFieldType(f.fieldType)}).${options}`,
      customFieldId: f.id,
      optionalProperty: 'custom_fields',
    };
    if (commaList) column.transform = 'comma_list';
    if (f.fieldName) column.customFieldName = f.fieldName;
    void version; // v1 and v2 models differ only in id type and field_type spelling, both handled above
    return column;
  });
}

/** v2 lets `filter=` name a custom field by its field_name: equality and prefix on text, ranges on numbers and instants. */
function customFieldFilter(column: ColumnSchema): PushableFilter | undefined {
  if (!column.customFieldName) return undefined;
  const param = column.customFieldName;
  let ops: FilterOp[];
  let format: PushableFilter['format'];
  switch (column.type) {
    case 'text':
      ops = ['=', 'prefix'];
      break;
    case 'bigint':
    case 'numeric':
      ops = ['=', '<', '<=', '>', '>='];
      break;
    case 'timestamptz':
    case 'date':
      // Keap wants the full ISO-8601 form with millis and offset for date custom fields.
      ops = ['<', '<=', '>', '>='];
      format = 'iso_timestamp';
      break;
    default:
      return undefined;
  }
  return format ? { column: column.name, ops, param, format } : { column: column.name, ops, param };
}

/**
 * The catalog with `table`'s custom field columns replaced by `columns` (from customFieldColumns).
 * Column names already used by the table's own columns are suffixed with the field id; v2 tables
 * also get pushable filters by field_name (unless the name clashes with a standard filter, which
 * Keap would apply instead); `custom_fields` is added to the requested optional properties.
 */
export function withCustomFields(catalog: Catalog, tableName: string, columns: readonly ColumnSchema[]): Catalog {
  const table = catalog.tables.get(tableName);
  if (!table) throw new Error(`withCustomFields: no table "${tableName}" in the catalog`);
  const base = table.columns.filter((c) => c.customFieldId === undefined);
  const taken = new Set(base.map((c) => c.name));
  const added: ColumnSchema[] = columns.map((c) => {
    const name = taken.has(c.name) ? columnName(c.name.replace(/^custom_/, ''), c.customFieldId ?? 'x', taken) : c.name;
    taken.add(name);
    return { ...c, name };
  });
  const droppedNames = new Set(table.columns.filter((c) => c.customFieldId !== undefined).map((c) => c.name));
  const filters = table.filters.filter((f) => !droppedNames.has(f.column));
  const sort = table.sort.filter((s) => !droppedNames.has(s.column));
  if (table.source.version === 2 && !table.source.unnest) {
    const standardParams = new Set(filters.flatMap((f) => [f.param, ...Object.values(f.params ?? {})]));
    for (const c of added) {
      const f = customFieldFilter(c);
      if (f && !standardParams.has(f.param)) filters.push(f);
    }
  }
  const source = { ...table.source };
  if (added.length > 0 && source.fields && !source.fields.includes('custom_fields')) source.fields = [...source.fields, 'custom_fields'];
  const next: TableSchema = { ...table, source, columns: [...base, ...added], filters, sort };
  return catalogOf([...catalog.tables.values()].map((t) => (t.name === tableName ? next : t)));
}

/** A `/model` endpoint to read when a connection starts: the custom fields of `table`. */
export interface CustomFieldModelSource {
  table: string;
  path: string;
  version: 1 | 2;
}

/** Every table's custom-field model endpoint, in catalog order. */
export function customFieldModels(catalog: Catalog): CustomFieldModelSource[] {
  const out: CustomFieldModelSource[] = [];
  for (const t of catalog.tables.values()) {
    const path = t.source.customFieldsModel;
    if (path) out.push({ table: t.name, path, version: path.startsWith('/v1/') ? 1 : 2 });
  }
  return out;
}

/**
 * The catalog with each table's custom fields from the fetched model bodies (keyed by model path, as
 * listed by customFieldModels). A table whose model was not fetched keeps the columns it has.
 */
export function withAccountCustomFields(catalog: Catalog, models: ReadonlyMap<string, unknown>): Catalog {
  let next = catalog;
  for (const m of customFieldModels(catalog)) {
    if (!models.has(m.path)) continue;
    next = withCustomFields(next, m.table, customFieldColumns(models.get(m.path), m.version));
  }
  return next;
}

/**
 * DDL that turns an engine's tables built for `from` into those for `to` (the custom fields were re-read):
 * custom columns that went away or changed type are dropped, new ones are added with their comments.
 */
export function customFieldsDdl(from: Catalog, to: Catalog): string {
  const parts: string[] = [];
  for (const table of to.tables.values()) {
    const before = new Map((from.tables.get(table.name)?.columns ?? []).filter((c) => c.customFieldId !== undefined).map((c) => [c.name, c]));
    const after = table.columns.filter((c) => c.customFieldId !== undefined);
    const keep = new Set(after.filter((c) => before.get(c.name)?.type === c.type).map((c) => c.name));
    for (const c of before.values()) {
      if (!keep.has(c.name)) parts.push(`ALTER TABLE ${qualifiedName(table)} DROP COLUMN IF EXISTS ${quoteIdent(c.name)};`);
    }
    const added = after.filter((c) => !keep.has(c.name));
    if (added.length > 0) parts.push(addColumnsDdl(table, added));
    // A label may change while the column stays: refresh every comment.
    for (const c of after.filter((x) => keep.has(x.name) && before.get(x.name)!.description !== x.description)) {
      parts.push(`COMMENT ON COLUMN ${qualifiedName(table)}.${quoteIdent(c.name)} IS ${quoteLiteral(c.description)};`);
    }
  }
  return parts.join('\n');
}

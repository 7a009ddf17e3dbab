// A row's column values (as the engine's to_jsonb gives them) → the JSON body of a Keap write. Paths are the
// schema's (write.paths where the write names a column differently than the read): dot paths build nested
// objects, `list[field=EMAIL1].email` builds the list element of that slot.
import type { ColumnSchema, TableSchema } from '../schema/types.js';

export type Json = Record<string, unknown>;

/** The body path a column is written to. */
export function writePath(table: TableSchema, column: string): string {
  return table.write?.paths[column] ?? table.columns.find((c) => c.name === column)!.path;
}

/** The body's top-level property a column writes (for v2 `update_mask`). */
export function topLevelName(path: string): string {
  return path.split('.')[0]!.replace(/\[.*$/, '');
}

/** Sets `columns` of `row` into a new body; custom_* columns go into the `custom_fields` list as {id, content}. */
export function bodyOf(table: TableSchema, row: Json, columns: readonly string[]): Json {
  const body: Json = {};
  for (const name of columns) {
    const column = table.columns.find((c) => c.name === name)!;
    if (column.customFieldId !== undefined) {
      const list = (body.custom_fields ??= []) as Json[];
      const id = table.source.version === 2 ? String(column.customFieldId) : Number(column.customFieldId);
      list.push({ id, content: customContent(column, row[name]) });
      continue;
    }
    setPath(body, writePath(table, name), wireValue(column, row[name], table.source.version));
  }
  return body;
}

/** Whether a column may be written by a table's writes (listed, or a custom field where the table takes them). */
export function writableColumn(table: TableSchema, column: string): boolean {
  const spec = table.write;
  if (!spec) return false;
  if (spec.columns.includes(column)) return true;
  return spec.customFields === true && table.columns.some((c) => c.name === column && c.customFieldId !== undefined);
}

/** A custom field's content: numbers as numbers, dates and times as ISO text, lists comma-joined, the rest as text. */
function customContent(column: ColumnSchema, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.join(',');
  if (column.type === 'numeric' || column.type === 'double precision' || column.type === 'integer' || column.type === 'bigint') return Number(value);
  return value;
}

/** A column's value as Keap takes it: v2 ids as strings, money in the minor unit, the rest as JSON gives it. */
export function wireValue(column: ColumnSchema, value: unknown, version: 1 | 2): unknown {
  if (value === null || value === undefined) return null;
  if (column.transform === 'currency_amount') return Math.round(Number(value) * 100);
  if ((column.type === 'bigint' || column.type === 'integer') && version === 2 && isIdColumn(column)) return String(value);
  if (column.type === 'numeric' || column.type === 'double precision') return Number(value);
  return value;
}

/** v2 sends ids as strings (reference §3.2); counts and minutes stay numbers. */
function isIdColumn(column: ColumnSchema): boolean {
  return column.name === 'id' || column.name.endsWith('_id');
}

function setPath(body: Json, path: string, value: unknown): void {
  const steps = path.split('.');
  let cur: Json = body;
  steps.forEach((step, i) => {
    const last = i === steps.length - 1;
    const m = /^(\w+)\[(\w+)=([^\]]*)\]$/.exec(step);
    if (m) {
      const [, key, matchKey, matchValue] = m as unknown as [string, string, string, string];
      const list = (cur[key] ??= []) as Json[];
      let item = list.find((x) => String(x[matchKey]) === matchValue);
      if (!item) list.push((item = { [matchKey]: matchValue }));
      if (last) throw new Error(`write path ${path} ends in a list slot`);
      cur = item;
      return;
    }
    if (last) cur[step] = value;
    else cur = (cur[step] ??= {}) as Json;
  });
}

// The `write:` block of a schema file: which of INSERT, UPDATE and DELETE a table takes, through which Keap
// call, and which columns a write may set. Writability is data, like the rest of a table's definition.
import type { ColumnSchema, TableWrite, WriteCall } from './types.js';

const WRITE_KEYS = ['insert', 'update', 'delete', 'columns', 'insertOnly', 'required', 'paths', 'customFields'];
const CALL_KEYS = ['method', 'path', 'bulk', 'updateMask', 'through', 'upsert'];
const METHODS = ['POST', 'PATCH', 'PUT', 'DELETE'] as const;

type Fail = (what: string) => never;

export function parseWrite(fail: Fail, value: unknown, columns: ReadonlyMap<string, ColumnSchema>, version: 1 | 2): TableWrite {
  const o = mapping(fail, value, 'write', WRITE_KEYS);
  const names = (v: unknown, what: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) fail(`${what} must be a list of columns`);
    return v.map((c) => {
      if (typeof c !== 'string' || !columns.has(c)) fail(`${what}: ${JSON.stringify(c)} is not a column of this table`);
      return c;
    });
  };
  const write: TableWrite = {
    columns: names(o.columns, 'columns'),
    insertOnly: names(o.insertOnly, 'insertOnly'),
    required: names(o.required, 'required'),
    paths: {},
  };
  for (const c of [...write.insertOnly, ...write.required]) {
    if (!write.columns.includes(c)) fail(`"${c}" must also be listed in columns`);
  }
  if (o.paths !== undefined) {
    const p = mapping(fail, o.paths, 'paths', [...columns.keys()]);
    for (const [k, v] of Object.entries(p)) {
      if (typeof v !== 'string' || !/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(v)) fail(`paths.${k} must be a dot path`);
      write.paths[k] = v;
    }
  }
  if (o.customFields !== undefined) {
    if (typeof o.customFields !== 'boolean') fail('customFields must be true or false');
    write.customFields = o.customFields;
  }
  for (const op of ['insert', 'update', 'delete'] as const) {
    if (o[op] !== undefined) write[op] = parseCall(fail, o[op], op, columns, version);
  }
  if (!write.insert && !write.update && !write.delete) fail('write needs at least one of insert, update, delete');
  return write;
}

function parseCall(fail: Fail, value: unknown, op: string, columns: ReadonlyMap<string, ColumnSchema>, version: 1 | 2): WriteCall {
  const o = mapping(fail, value, op, CALL_KEYS);
  const method = o.method ?? (op === 'insert' ? 'POST' : op === 'update' ? 'PATCH' : 'DELETE');
  if (!METHODS.includes(method as WriteCall['method'])) fail(`${op}.method must be one of ${METHODS.join(', ')}`);
  if (typeof o.path !== 'string' || !/^\/v[12]\//.test(o.path)) fail(`${op}.path must start with /v1/ or /v2/`);
  for (const m of o.path.matchAll(/\{(\w+)\}/g)) if (!columns.has(m[1]!)) fail(`${op}.path names {${m[1]}}, which is not a column`);
  const call: WriteCall = { method: method as WriteCall['method'], path: o.path };
  if (o.bulk !== undefined) {
    const b = mapping(fail, o.bulk, `${op}.bulk`, ['by', 'column', 'list', 'max']);
    for (const k of ['by', 'column'] as const) if (typeof b[k] !== 'string' || !columns.has(b[k] as string)) fail(`${op}.bulk.${k} must be a column`);
    if (typeof b.list !== 'string') fail(`${op}.bulk.list must be the body's list name`);
    if (typeof b.max !== 'number' || !Number.isInteger(b.max) || b.max < 1) fail(`${op}.bulk.max must be a positive integer`);
    call.bulk = { by: b.by as string, column: b.column as string, list: b.list as string, max: b.max as number };
  }
  if (o.updateMask !== undefined) {
    if (typeof o.updateMask !== 'boolean') fail(`${op}.updateMask must be true or false`);
    call.updateMask = o.updateMask;
  }
  if (o.through !== undefined) {
    if (typeof o.through !== 'string') fail(`${op}.through must be the parent record's list name`);
    call.through = o.through;
  }
  if (o.upsert !== undefined) {
    const u = mapping(fail, o.upsert, `${op}.upsert`, Object.keys(o.upsert as object));
    call.upsert = Object.fromEntries(Object.entries(u).map(([k, v]) => [k, String(v)]));
  }
  void version;
  return call;
}

function mapping(fail: Fail, value: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail(`${what} must be a mapping`);
  for (const k of Object.keys(value as object)) if (!allowed.includes(k)) fail(`unknown key "${k}" in ${what} (allowed: ${allowed.join(', ')})`);
  return value as Record<string, unknown>;
}

// A JSON-schema subset validator for the OpenAPI 3.0 response schemas in response-schemas.json:
// type, properties, required, items, enum, format, nullable, allOf/oneOf/anyOf, additionalProperties.
import { readFileSync } from 'node:fs';

export interface Schema {
  type?: string; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; format?: string;
  nullable?: boolean; allOf?: Schema[]; oneOf?: Schema[]; anyOf?: Schema[]; additionalProperties?: boolean | Schema; title?: string;
}

export interface SchemaFile {
  v1: Record<string, Schema>; v2: Record<string, Schema>; components: { v1: Record<string, Schema>; v2: Record<string, Schema> };
}

export function loadSchemas(): SchemaFile {
  // tests run from dist/test/; the schemas stay in the source tree
  const file = new URL('../../../test/openapi/response-schemas.json', import.meta.url);
  return JSON.parse(readFileSync(file, 'utf8')) as SchemaFile;
}

export interface ValidateOptions {
  /** v1 sends unset values as JSON null although its schemas do not say nullable (reference §3.1, [AMP] fixtures) */
  allowNull?: boolean;
}

/** Every violation, as "path: problem". Empty when the value conforms. */
export function validate(value: unknown, schema: Schema, opts: ValidateOptions = {}, path = '$'): string[] {
  const errs: string[] = [];
  if (value === null) {
    if (schema.nullable || opts.allowNull || Object.keys(schema).every((k) => k === 'description' || k === 'title' || k === 'example')) return errs;
    return [`${path}: null is not allowed`];
  }
  for (const s of schema.allOf ?? []) errs.push(...validate(value, s, opts, path));
  if (schema.oneOf || schema.anyOf) {
    const alts = (schema.oneOf ?? schema.anyOf)!;
    if (!alts.some((s) => validate(value, s, opts, path).length === 0)) errs.push(`${path}: matches none of the alternatives`);
  }
  const t = schema.type ?? (schema.properties ? 'object' : undefined);
  switch (t) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) { errs.push(`${path}: expected object, got ${kind(value)}`); break; }
      const o = value as Record<string, unknown>;
      for (const r of schema.required ?? []) if (!(r in o)) errs.push(`${path}: missing required property ${r}`);
      for (const [k, v] of Object.entries(o)) {
        const ps = schema.properties?.[k];
        if (ps) errs.push(...validate(v, ps, opts, `${path}.${k}`));
        else if (typeof schema.additionalProperties === 'object') errs.push(...validate(v, schema.additionalProperties, opts, `${path}.${k}`));
        else if (schema.additionalProperties === false) errs.push(`${path}: unexpected property ${k}`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) { errs.push(`${path}: expected array, got ${kind(value)}`); break; }
      if (schema.items) value.forEach((v, i) => errs.push(...validate(v, schema.items!, opts, `${path}[${i}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') { errs.push(`${path}: expected string, got ${kind(value)}`); break; }
      if (schema.format === 'date-time' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/.test(value)) errs.push(`${path}: not a date-time: ${value}`);
      if (schema.format === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) errs.push(`${path}: not a date: ${value}`);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) { errs.push(`${path}: expected integer, got ${kind(value)}`); break; }
      if (schema.format === 'int32' && (value < -(2 ** 31) || value >= 2 ** 31)) errs.push(`${path}: out of int32 range`);
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) errs.push(`${path}: expected number, got ${kind(value)}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errs.push(`${path}: expected boolean, got ${kind(value)}`);
      break;
    default: break;
  }
  if (schema.enum && !schema.enum.includes(value)) errs.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.join('|')}`);
  return errs;
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

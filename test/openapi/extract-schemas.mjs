// Extracts the 200-response schemas of the GET operations the sandbox serves from the OpenAPI files in spec/,
// so the tests validate against Keap's own schemas without reading the 4 MB specs each run.
// Run: node test/openapi/extract-schemas.mjs  (writes test/openapi/response-schemas.json)
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const specs = {
  v1: JSON.parse(readFileSync(new URL('spec/keap-v1-openapi-2025-11-05.json', root), 'utf8')),
  v2: JSON.parse(readFileSync(new URL('spec/keap-v2-openapi-2025-11-05.json', root), 'utf8')),
};

// Known spec defects, corrected from the reference (spec/KEAP-REFERENCE.md) so the tests check what Keap sends:
// §3.3: a custom field's `content` is any JSON value (string, number, boolean, null), though the specs say `object`.
function patch(schema) {
  if (Array.isArray(schema)) return schema.map(patch);
  if (!schema || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) out[k] = patch(v);
  if (out.properties && out.properties.content && out.properties.id && Object.keys(out.properties).length === 2
      && out.properties.content.type === 'object' && !out.properties.content.properties) {
    out.properties.content = { description: 'any JSON value (reference §3.3)' };
  }
  return out;
}

function resolve(spec, schema, seen = new Set()) {
  if (Array.isArray(schema)) return schema.map((s) => resolve(spec, s, seen));
  if (!schema || typeof schema !== 'object') return schema;
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    if (seen.has(name)) return {};
    return resolve(spec, spec.components.schemas[name], new Set([...seen, name]));
  }
  const out = {};
  for (const [k, v] of Object.entries(schema)) out[k] = resolve(spec, v, seen);
  return out;
}

const out = { v1: {}, v2: {}, components: { v1: {}, v2: {} } };
for (const [version, spec] of Object.entries(specs)) {
  for (const [path, item] of Object.entries(spec.paths)) {
    const ok = item.get?.responses?.['200']?.content?.['application/json']?.schema;
    if (ok) out[version][path] = patch(resolve(spec, ok));
  }
}
// Schemas of list endpoints the 2025-11-05 v2 file lacks (they are in Keap's newer swagger), validated item-wise.
for (const name of ['Note', 'Tag', 'Payment', 'TransactionV2', 'EmailSent', 'FileMetadata', 'RestV2Opportunity', 'Company', 'Contact', 'OrderV2', 'Subscription', 'Task', 'User', 'RestAffiliate', 'Campaign', 'TagCategory', 'InvoiceOrderPayment', 'PaymentMethod', 'Referral']) {
  if (specs.v2.components.schemas[name]) out.components.v2[name] = patch(resolve(specs.v2, specs.v2.components.schemas[name]));
}
writeFileSync(new URL('test/openapi/response-schemas.json', root), JSON.stringify(out));
console.log('v1', Object.keys(out.v1).length, 'v2', Object.keys(out.v2).length, 'components', Object.keys(out.components.v2));

// Writes a first draft of schemas/<table>.yaml from the Keap OpenAPI files and the reference's
// filter tables. The drafts are a starting point for curation, never the shipped files: run it
// into a scratch directory and merge by hand (`node dist/src/schema/generate.js /tmp/drafts`).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { snakeCase } from './names.js';
import type { ColumnSchema, FilterOp, PushableFilter, SortableColumn } from './types.js';

interface DraftSpec {
  table: string;
  version: 1 | 2;
  path: string;
  listKey: string | null;
  unnest?: string;
}

const DRAFTS: DraftSpec[] = [
  { table: 'contacts', version: 2, path: '/v2/contacts', listKey: 'contacts' },
  { table: 'contact_email_addresses', version: 2, path: '/v2/contacts', listKey: 'contacts', unnest: 'email_addresses' },
  { table: 'contact_phone_numbers', version: 2, path: '/v2/contacts', listKey: 'contacts', unnest: 'phone_numbers' },
  { table: 'contact_addresses', version: 2, path: '/v2/contacts', listKey: 'contacts', unnest: 'addresses' },
  { table: 'companies', version: 2, path: '/v2/companies', listKey: 'companies' },
  { table: 'tags', version: 2, path: '/v2/tags', listKey: 'tags' },
  { table: 'tag_categories', version: 2, path: '/v2/tags/categories', listKey: 'tag_categories' },
  { table: 'contact_tags', version: 2, path: '/v2/tags/{tag_id}/contacts', listKey: 'contacts' },
  { table: 'products', version: 2, path: '/v2/products', listKey: 'products' },
  { table: 'orders', version: 2, path: '/v2/orders', listKey: 'orders' },
  { table: 'order_items', version: 2, path: '/v2/orders', listKey: 'orders', unnest: 'order_items' },
  { table: 'order_payments', version: 2, path: '/v2/orders/{order_id}/payments', listKey: 'invoice_order_payments' },
  { table: 'payments', version: 2, path: '/v2/sales/payments', listKey: 'payments' },
  { table: 'transactions', version: 1, path: '/v1/transactions', listKey: 'transactions' },
  { table: 'subscriptions', version: 2, path: '/v2/subscriptions', listKey: 'subscriptions' },
  { table: 'opportunities', version: 2, path: '/v2/opportunities', listKey: 'opportunities' },
  { table: 'opportunity_stages', version: 2, path: '/v2/opportunities/stages', listKey: 'stages' },
  { table: 'tasks', version: 2, path: '/v2/tasks', listKey: 'tasks' },
  { table: 'notes', version: 2, path: '/v2/notes', listKey: 'notes' },
  { table: 'campaigns', version: 2, path: '/v2/campaigns', listKey: 'campaigns' },
  { table: 'emails', version: 2, path: '/v2/emails', listKey: 'emails' },
  { table: 'users', version: 2, path: '/v2/users', listKey: 'users' },
  { table: 'appointments', version: 1, path: '/v1/appointments', listKey: 'appointments' },
  { table: 'files', version: 2, path: '/v2/files', listKey: 'files' },
  { table: 'affiliates', version: 2, path: '/v2/affiliates', listKey: 'affiliates' },
  { table: 'custom_fields', version: 2, path: '/v2/contacts/model', listKey: 'custom_fields' },
];

type JsonSchema = {
  type?: string;
  format?: string;
  title?: string;
  description?: string;
  enum?: string[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  $ref?: string;
};

interface Spec {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: JsonSchema }> }> }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}


function deref(spec: Spec, s: JsonSchema | undefined): JsonSchema | undefined {
  let cur = s;
  for (let i = 0; cur?.$ref && i < 20; i++) {
    cur = spec.components?.schemas?.[cur.$ref.split('/').pop()!];
  }
  return cur;
}

function listItemSchema(spec: Spec, d: DraftSpec): JsonSchema | undefined {
  const body = deref(spec, spec.paths[d.path]?.get?.responses?.['200']?.content?.['application/json']?.schema);
  let items = d.listKey === null ? deref(spec, body?.items) : deref(spec, deref(spec, body?.properties?.[d.listKey])?.items);
  if (d.unnest) items = deref(spec, deref(spec, items?.properties?.[d.unnest])?.items);
  return items;
}

function columnType(name: string, s: JsonSchema): Pick<ColumnSchema, 'type' | 'transform'> {
  if (s.title === 'CurrencyValue') return { type: 'numeric', transform: 'currency_amount' };
  switch (s.type) {
    case 'integer':
      return { type: s.format === 'int32' ? 'integer' : 'bigint' };
    case 'number':
      return { type: 'numeric' };
    case 'boolean':
      return { type: 'boolean' };
    case 'array':
      if (s.items?.type === 'string') return { type: /(^|_)ids$/.test(name) ? 'bigint[]' : 'text[]' };
      if (s.items?.type === 'integer') return { type: 'bigint[]' };
      return { type: 'jsonb' };
    case 'object':
      return { type: 'jsonb' };
    default:
      if (s.format === 'date-time' || /(_time|_date|^date_.*)$/.test(name)) return { type: 'timestamptz' };
      if (s.format === 'date') return { type: 'date' };
      if (name === 'id' || name.endsWith('_id')) return { type: 'bigint' };
      return { type: 'text' };
  }
}

function describe(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.description) parts.push(s.description.trim());
  if (s.enum) parts.push(`One of ${s.enum.join(', ')}.`);
  return parts.join(' ');
}

function draftColumns(items: JsonSchema | undefined): ColumnSchema[] {
  const columns: ColumnSchema[] = [];
  for (const [key, prop] of Object.entries(items?.properties ?? {})) {
    const name = snakeCase(key);
    columns.push({ name, ...columnType(name, prop), path: key, description: describe(prop) });
  }
  columns.sort((a, b) => (a.name === 'id' ? -1 : b.name === 'id' ? 1 : 0));
  return columns;
}

/** The reference's Appendix B filter table and order_by line for one v2 endpoint. */
function referenceFilters(reference: string, d: DraftSpec): { filters: PushableFilter[]; sort: SortableColumn[] } {
  const heading = `### GET /crm/rest${d.path}  (`;
  const start = reference.indexOf(heading);
  if (start < 0) return { filters: [], sort: [] };
  const end = reference.indexOf('\n### ', start + heading.length);
  const section = reference.slice(start, end < 0 ? undefined : end);
  const filters: PushableFilter[] = [];
  const sort: SortableColumn[] = [];
  if (d.version === 2) {
    const table = section.split('Filter fields')[1]?.split('\n\n')[1] ?? '';
    for (const line of table.split('\n').slice(2)) {
      const cells = line.split('|').map((c) => c.trim());
      const field = cells[1]?.replace(/`/g, '');
      if (!field || field.startsWith('*')) continue;
      const ops: FilterOp[] = cells[2]?.startsWith('Set') || cells[2]?.startsWith('List') ? ['in'] : ['='];
      if (cells[3]?.includes('prefix')) ops.push('prefix');
      if (cells[3]?.includes('>=')) ops.push('<', '<=', '>', '>=');
      if (cells[3]?.includes('NONE')) ops.push('isnull');
      filters.push({ column: field, ops, param: field });
    }
    const orderLine = section.split('\n').find((l) => l.startsWith('order_by fields:'));
    for (const m of orderLine?.matchAll(/`([A-Za-z_]+)`/g) ?? []) sort.push({ column: snakeCase(m[1]!), param: m[1]! });
  } else {
    for (const line of section.split('\n')) {
      const cells = line.split('|').map((c) => c.trim());
      if (cells[2] !== 'query') continue;
      const param = cells[1]!.replace(/`/g, '').replace(' (req)', '');
      if (['limit', 'offset', 'order', 'order_direction', 'optional_properties'].includes(param)) continue;
      filters.push({ column: param, ops: ['='], param });
    }
  }
  return { filters, sort };
}

export function generateDrafts(specDir: string, outDir: string): string[] {
  const v1 = JSON.parse(readFileSync(join(specDir, 'keap-v1-openapi-2025-11-05.json'), 'utf8')) as Spec;
  const v2 = JSON.parse(readFileSync(join(specDir, 'keap-v2-openapi-2025-11-05.json'), 'utf8')) as Spec;
  const reference = readFileSync(join(specDir, 'KEAP-REFERENCE.md'), 'utf8');
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const d of DRAFTS) {
    const columns = draftColumns(listItemSchema(d.version === 1 ? v1 : v2, d));
    const { filters, sort } = referenceFilters(reference, d);
    const draft = {
      name: d.table,
      description: '',
      source: {
        version: d.version,
        path: d.path,
        listKey: d.listKey,
        pageSizeMax: 1000,
        ...(d.unnest ? { unnest: d.unnest } : {}),
      },
      primaryKey: ['id'],
      foreignKeys: [],
      columns,
      filters,
      sort,
    };
    const file = join(outDir, `${d.table}.yaml`);
    writeFileSync(file, `# DRAFT generated from spec/ by src/schema/generate.ts: curate before use.\n${stringify(draft, { lineWidth: 0 })}`);
    written.push(file);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const out = process.argv[2] ?? join(tmpdir(), 'keapgres-schema-drafts');
  for (const f of generateDrafts(join(root, 'spec'), out)) console.log(f);
}

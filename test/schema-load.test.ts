import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinSchemasDir, loadCatalog } from '../src/schema/load.js';
import { SqlError } from '../src/errors.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REQUIRED_TABLES = [
  'contacts',
  'contact_email_addresses',
  'contact_phone_numbers',
  'contact_addresses',
  'companies',
  'tags',
  'tag_categories',
  'contact_tags',
  'products',
  'orders',
  'order_items',
  'order_payments',
  'transactions',
  'subscriptions',
  'opportunities',
  'opportunity_stages',
  'tasks',
  'notes',
  'campaigns',
  'emails',
  'users',
  'appointments',
  'files',
  'affiliates',
  'custom_fields',
];

test('builtinSchemasDir finds the package schemas/ directory from the compiled module', () => {
  assert.equal(builtinSchemasDir(), join(projectRoot, 'schemas'));
});

test('the built-in schemas load and cover every required Keap table', () => {
  const catalog = loadCatalog();
  for (const name of REQUIRED_TABLES) assert.ok(catalog.tables.has(name), `missing table ${name}`);
});

test('every table and column has a description, a primary key, and snake_case names', () => {
  for (const table of loadCatalog().tables.values()) {
    assert.ok(table.description.length > 10, `${table.name}: description`);
    assert.ok(table.primaryKey.length > 0, `${table.name}: primary key`);
    for (const c of table.columns) {
      assert.match(c.name, /^[a-z][a-z0-9_]*$/, `${table.name}.${c.name}`);
      assert.ok(c.description.length > 3, `${table.name}.${c.name}: description`);
    }
  }
});

test('ids are bigint, money numeric, and v2 CurrencyValue columns use currency_amount', () => {
  const catalog = loadCatalog();
  for (const table of catalog.tables.values()) {
    for (const c of table.columns) {
      if (c.name === 'id' || (c.name.endsWith('_id') && !['global_user_id', 'keap_id', 'unique_site_id', 'original_provider_id', 'provider_source_id', 'created_by_global_id', 'external_transaction_id'].includes(c.name))) {
        assert.equal(c.type, 'bigint', `${table.name}.${c.name} should be bigint`);
      }
    }
  }
  const orders = catalog.tables.get('orders')!;
  for (const name of ['total', 'total_paid', 'total_due', 'refund_total']) {
    const c = orders.columns.find((x) => x.name === name)!;
    assert.equal(c.type, 'numeric');
    assert.equal(c.transform, 'currency_amount');
  }
  assert.equal(catalog.tables.get('products')!.columns.find((c) => c.name === 'price')!.transform, 'currency_amount');
});

test('relations are declared as foreign keys so BI tools offer the joins', () => {
  const catalog = loadCatalog();
  const fk = (table: string, column: string): string | undefined => {
    const f = catalog.tables.get(table)!.foreignKeys.find((k) => k.columns.length === 1 && k.columns[0] === column);
    return f && `${f.references.table}.${f.references.columns.join(',')}`;
  };
  assert.equal(fk('contacts', 'company_id'), 'companies.id');
  assert.equal(fk('contacts', 'owner_id'), 'users.id');
  assert.equal(fk('orders', 'contact_id'), 'contacts.id');
  assert.equal(fk('order_items', 'order_id'), 'orders.id');
  assert.equal(fk('order_items', 'product_id'), 'products.id');
  assert.equal(fk('contact_tags', 'contact_id'), 'contacts.id');
  assert.equal(fk('contact_tags', 'tag_id'), 'tags.id');
  assert.equal(fk('tags', 'category_id'), 'tag_categories.id');
  assert.equal(fk('opportunities', 'stage_id'), 'opportunity_stages.id');
  assert.equal(fk('order_payments', 'order_id'), 'orders.id');
  assert.equal(fk('contact_email_addresses', 'contact_id'), 'contacts.id');
});

test('child tables: unnest of contacts and orders, keyed by parent and slot', () => {
  const catalog = loadCatalog();
  for (const [name, array] of [
    ['contact_email_addresses', 'email_addresses'],
    ['contact_phone_numbers', 'phone_numbers'],
    ['contact_addresses', 'addresses'],
  ] as const) {
    const t = catalog.tables.get(name)!;
    assert.equal(t.source.path, '/v2/contacts');
    assert.equal(t.source.unnest, array);
    assert.deepEqual(t.primaryKey, ['contact_id', 'field']);
    assert.equal(t.columns.find((c) => c.name === 'contact_id')!.path, '$parent.id');
  }
  assert.equal(catalog.tables.get('order_items')!.source.unnest, 'order_items');
  assert.deepEqual(catalog.tables.get('contact_tags')!.source.perParent, { table: 'tags', column: 'id', param: 'tag_id' });
});

/** The reference's section for one list endpoint (Appendix A for v1, B for v2). */
function referenceSection(reference: string, path: string): string | undefined {
  // a '-' segment is the documented wildcard for a path parameter (/v2/leadSources/-/expenses)
  const pattern = new RegExp(`^### GET /crm/rest${path.split('/').map((seg) => (seg === '-' ? '\\{[^}/]+\\}' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}  \\(`, 'm');
  const heading = pattern.exec(reference)?.[0];
  if (heading === undefined) return undefined;
  const start = reference.indexOf(heading);
  const end = reference.indexOf('\n### ', start + heading.length);
  return reference.slice(start, end < 0 ? undefined : end);
}

test('every declared filter and sort is one the reference documents for that endpoint', () => {
  const reference = readFileSync(join(projectRoot, 'spec', 'KEAP-REFERENCE.md'), 'utf8');
  for (const table of loadCatalog().tables.values()) {
    const section = referenceSection(reference, table.source.path);
    // a filter that fills the path placeholder is no query parameter: nothing to find in the reference
    const placeholder = `{${table.source.perParent?.param}}`;
    if (table.filters.every((f) => f.param === placeholder) && table.sort.length === 0 && !table.source.baseFilter) continue;
    assert.ok(section, `${table.name}: no reference section for ${table.source.path}`);
    const documented = (param: string): boolean =>
      section.includes(`| \`${param}\` |`) || section.includes(`(String) ${param} `) || section.includes(`(String) ${param}\n`);
    for (const f of table.filters) {
      for (const param of new Set([f.param, ...Object.values(f.params ?? {})])) {
        if (param === `{${table.source.perParent?.param}}`) continue; // fills the path placeholder
        assert.ok(documented(param), `${table.name}: filter parameter "${param}" is not in the reference`);
      }
    }
    for (const clause of table.source.baseFilter ?? []) {
      const param = clause.split('==')[0]!;
      assert.ok(documented(param), `${table.name}: baseFilter parameter "${param}" is not in the reference`);
    }
    const orderLine = table.source.version === 2 ? section.split('\n').find((l) => l.startsWith('order_by fields:')) ?? '' : section;
    for (const s of table.sort) assert.ok(orderLine.includes(`\`${s.param}\``), `${table.name}: sort "${s.param}" is not in the reference`);
  }
});

// ---- validation errors ------------------------------------------------------------------------

const VALID = `
name: things
description: Things for the test.
source: { version: 2, path: /v2/things, listKey: things, pageSizeMax: 1000 }
primaryKey: [id]
foreignKeys: []
columns:
  - { name: id, type: bigint, path: id, description: "Thing id." }
  - { name: label, type: text, path: label, description: "Label." }
filters:
  - { column: label, ops: ["=", prefix], param: label }
sort:
  - { column: id, param: id }
`;

function loadOne(files: Record<string, string>): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'keapgres-schema-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return loadCatalog(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function loadError(files: Record<string, string>): SqlError {
  try {
    loadOne(files);
  } catch (e) {
    assert.ok(e instanceof SqlError, `expected SqlError, got ${String(e)}`);
    assert.equal(e.sqlstate, 'F0000');
    return e;
  }
  assert.fail('expected the catalog to be rejected');
}

test('a valid minimal file loads into a frozen catalog', () => {
  const catalog = loadOne({ 'things.yaml': VALID }) as ReturnType<typeof loadCatalog>;
  const t = catalog.tables.get('things')!;
  assert.equal(t.columns.length, 2);
  assert.ok(Object.isFrozen(t) && Object.isFrozen(t.columns[0]));
});

test('schema errors name the file, the table, the column and what is wrong', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown column type', VALID.replace('type: text', 'type: varchar'), /things\.yaml: table "things", column "label": type "varchar" is not one of/],
    ['unknown key (typo)', VALID.replace('path: label,', 'pth: label,'), /column "label": unknown key "pth"/],
    ['missing description', VALID.replace(', description: "Label."', ''), /column "label": description must be a non-empty string/],
    ['name differs from file name', VALID.replace('name: things', 'name: stuff'), /table name "stuff" must match the file name "things"/],
    ['primary key on a missing column', VALID.replace('primaryKey: [id]', 'primaryKey: [uid]'), /primaryKey\[0\] "uid" is not a column/],
    ['filter on a missing column', VALID.replace('column: label, ops', 'column: lbl, ops'), /filters\[0\]: column "lbl" is not a column/],
    ['unknown filter op', VALID.replace('ops: ["=", prefix]', 'ops: ["=", like]'), /filters\[0\]: ops\[1\] "like" is not one of/],
    ['transform that does not fit the type', VALID.replace('path: label,', 'path: label, transform: currency_amount,'), /transform currency_amount does not produce type text/],
    ['path version mismatch', VALID.replace('path: /v2/things', 'path: /v1/things'), /source: path "\/v1\/things" must start with \/v2\//],
    ['placeholder without perParent', VALID.replace('path: /v2/things', 'path: "/v2/things/{x}/items"'), /has a placeholder but no perParent/],
    ['duplicate column', VALID.replace('name: label, type: text', 'name: id, type: text'), /column "id": is declared twice/],
    ['empty path alternative', VALID.replace('path: label,', 'path: "label|",'), /path "label\|": "" has an empty step/],
    ['bad path syntax', VALID.replace('path: label,', 'path: "labels[field].x",'), /path "labels\[field\]\.x"/],
    ['not YAML', 'name: [', /things\.yaml: not valid YAML/],
    ['prefix on a non-text column', VALID.replace('column: label, ops: ["=", prefix], param: label', 'column: id, ops: ["=", prefix], param: id'), /op prefix needs a text column, "id" is bigint/],
    ['id format on a text column', VALID.replace('param: label }', 'param: label, format: id }'), /format id does not fit column "label" of type text/],
    ['unknown wire operator', VALID.replace('param: label }', 'param: label, wireOps: { "=": "~" } }'), /wireOps "=": "~" is not one of/],
    ['two filters on one column', VALID.replace('  - { column: label, ops: ["=", prefix], param: label }', '  - { column: label, ops: ["="], param: label }\n  - { column: label, ops: [prefix], param: name }'), /column "label" has two filters/],
  ];
  for (const [what, text, expected] of cases) {
    const e = loadError({ 'things.yaml': text });
    assert.match(e.message, expected, what);
    assert.ok(e.hint, `${what}: hint`);
  }
});

test('foreign keys must name a defined table, its primary key, and a matching type', () => {
  const withFk = (fk: string): string => VALID.replace('foreignKeys: []', `foreignKeys:\n  - ${fk}`);
  assert.match(
    loadError({ 'things.yaml': withFk('{ columns: [id], references: { table: owners, columns: [id] } }') }).message,
    /foreignKeys\[0\]: references table "owners", which no file defines/,
  );
  const owners = VALID.replace(/things/g, 'owners');
  assert.match(
    loadError({ 'things.yaml': withFk('{ columns: [label], references: { table: owners, columns: [id] } }'), 'owners.yaml': owners }).message,
    /column "label" \(text\) cannot reference "owners.id" \(bigint\)/,
  );
  assert.match(
    loadError({ 'things.yaml': withFk('{ columns: [label], references: { table: owners, columns: [label] } }'), 'owners.yaml': owners }).message,
    /must reference the primary key of "owners"/,
  );
  const ok = loadOne({ 'things.yaml': withFk('{ columns: [id], references: { table: owners, columns: [id] } }'), 'owners.yaml': owners }) as ReturnType<typeof loadCatalog>;
  assert.equal(ok.tables.get('things')!.foreignKeys[0]!.references.table, 'owners');
});

test('a missing or empty Profile directory is a clear error', () => {
  assert.match(loadError({}).message, /holds no \.yaml files/);
  const dir = join(tmpdir(), 'keapgres-schema-does-not-exist');
  try {
    loadCatalog(dir);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof SqlError);
    assert.match(e.message, /cannot read the schema directory/);
  }
  const empty = mkdtempSync(join(tmpdir(), 'keapgres-schema-'));
  mkdirSync(join(empty, 'sub'));
  assert.throws(() => loadCatalog(empty), /holds no \.yaml files/);
  rmSync(empty, { recursive: true, force: true });
});

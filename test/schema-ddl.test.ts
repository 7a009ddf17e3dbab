import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { loadCatalog } from '../src/schema/load.js';
import { addColumnsDdl, catalogDdl } from '../src/schema/ddl.js';
import { copyStatement, recordsToCopyText } from '../src/schema/rows.js';
import type { Catalog } from '../src/schema/types.js';

let db: PGlite;
let catalog: Catalog;

before(async () => {
  catalog = loadCatalog();
  db = new PGlite();
  await db.exec(catalogDdl(catalog));
});

after(async () => {
  await db.close();
});

async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query<T>(sql, params)).rows;
}

test('every Keap table exists in schema public before any data is fetched', async () => {
  const tables = await rows<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  assert.deepEqual(
    tables.map((t) => t.table_name),
    [...catalog.tables.keys()].sort(),
  );
});

test('columns carry the declared PostgreSQL types and NOT NULL on keys', async () => {
  const cols = await rows<{ column_name: string; data_type: string; udt_name: string; is_nullable: string }>(
    `SELECT column_name, data_type, udt_name, is_nullable FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = 'contacts'`,
  );
  const by = new Map(cols.map((c) => [c.column_name, c]));
  assert.equal(by.get('id')!.data_type, 'bigint');
  assert.equal(by.get('id')!.is_nullable, 'NO');
  assert.equal(by.get('given_name')!.data_type, 'text');
  assert.equal(by.get('create_time')!.data_type, 'timestamp with time zone');
  assert.equal(by.get('birth_date')!.data_type, 'date');
  assert.equal(by.get('social_accounts')!.data_type, 'jsonb');
  assert.equal(by.get('tag_ids')!.udt_name, '_int8');
  const orders = await rows<{ data_type: string }>(
    `SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'total'`,
  );
  assert.equal(orders[0]!.data_type, 'numeric');
});

test('primary keys are real constraints (composite for child tables)', async () => {
  const pk = await rows<{ column_name: string }>(
    `SELECT k.column_name FROM information_schema.table_constraints c
       JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
      WHERE c.table_name = 'contact_email_addresses' AND c.constraint_type = 'PRIMARY KEY'
      ORDER BY k.ordinal_position`,
  );
  assert.deepEqual(
    pk.map((r) => r.column_name),
    ['contact_id', 'field'],
  );
});

test('foreign keys are declared NOT ENFORCED and visible to pg_constraint and information_schema', async () => {
  const fks = await rows<{ conname: string; conenforced: boolean; def: string }>(
    `SELECT conname, conenforced, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE contype = 'f' AND conrelid = 'public.contacts'::regclass ORDER BY conname`,
  );
  assert.deepEqual(
    fks.map((f) => f.conname),
    ['contacts_company_id_fkey', 'contacts_lead_source_id_fkey', 'contacts_owner_id_fkey'],
  );
  assert.ok(fks.every((f) => f.conenforced === false));
  assert.match(fks[0]!.def, /FOREIGN KEY \(company_id\) REFERENCES companies\(id\) NOT ENFORCED/);
  const declared = [...catalog.tables.values()].reduce((n, t) => n + t.foreignKeys.length, 0);
  const ref = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.referential_constraints WHERE constraint_schema = 'public'`);
  assert.equal(ref[0]!.n, declared);
  // What pgjdbc's getImportedKeys and SQLAlchemy reflection join on.
  const joined = await rows<{ fk_table: string; pk_table: string }>(
    `SELECT c.conrelid::regclass::text AS fk_table, c.confrelid::regclass::text AS pk_table
       FROM pg_constraint c WHERE c.conname = 'order_items_order_id_fkey'`,
  );
  assert.deepEqual(joined[0], { fk_table: 'order_items', pk_table: 'orders' });
});

test('descriptions become COMMENT ON TABLE and COMMENT ON COLUMN', async () => {
  const [t] = await rows<{ d: string }>(`SELECT obj_description('public.contacts'::regclass, 'pg_class') AS d`);
  assert.equal(t!.d, catalog.tables.get('contacts')!.description);
  const [c] = await rows<{ d: string }>(
    `SELECT col_description('public.contacts'::regclass, a.attnum) AS d FROM pg_attribute a
      WHERE a.attrelid = 'public.contacts'::regclass AND a.attname = 'owner_id'`,
  );
  assert.match(c!.d, /users\.id/);
  const missing = await rows<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
        AND col_description(c.oid, a.attnum) IS NULL`,
  );
  assert.equal(missing[0]!.n, 0);
});

test('child rows COPY in before their parents, and rows may point at records never fetched', async () => {
  const items = catalog.tables.get('order_items')!;
  const orders = [{ id: '900001', order_items: [{ id: '1', name: 'Widget', quantity: 2, product: { id: '777' } }] }];
  await db.query(copyStatement(items), [], { blob: new Blob([recordsToCopyText(items, orders)]) });
  const tags = catalog.tables.get('contact_tags')!;
  await db.query(copyStatement(tags), [], {
    blob: new Blob([recordsToCopyText(tags, [{ id: '424242', applied_time: '2024-05-01T10:00:00Z' }], { id: '55' })]),
  });
  const joined = await rows<{ n: number }>(
    `SELECT count(*)::int AS n FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL`,
  );
  assert.equal(joined[0]!.n, 1);
  const [tag] = await rows<{ contact_id: string; tag_id: string }>(`SELECT contact_id::text, tag_id::text FROM contact_tags`);
  assert.deepEqual(tag, { contact_id: '424242', tag_id: '55' });
});

test('addColumnsDdl adds custom field columns with their labels as comments', async () => {
  await db.exec(
    addColumnsDdl(catalog.tables.get('companies')!, [
      { name: 'custom_industry', type: 'text', path: 'custom_fields', customFieldId: '7', description: "Industry (the company's sector)" },
    ]),
  );
  const [c] = await rows<{ d: string }>(
    `SELECT col_description('public.companies'::regclass, a.attnum) AS d FROM pg_attribute a
      WHERE a.attrelid = 'public.companies'::regclass AND a.attname = 'custom_industry'`,
  );
  assert.equal(c!.d, "Industry (the company's sector)");
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { parse } from 'yaml';
import { loadCatalog } from '../src/schema/load.js';
import { customFieldColumns, customFieldModels, customFieldsDdl, customFieldType, withAccountCustomFields, withCustomFields } from '../src/schema/custom-fields.js';
import { catalogDdl, tableDdl } from '../src/schema/ddl.js';
import { copyStatement, recordsToCopyText } from '../src/schema/rows.js';
import { generateDrafts } from '../src/schema/generate.js';

/** GET /v2/contacts/model as the v2 spec describes it. */
const V2_MODEL = {
  custom_fields: [
    { id: '6', label: 'Job Role', field_name: 'JobRole', field_type: 'TEXT', record_type: 'CONTACT' },
    { id: '14', label: 'Seats', field_name: 'Seats', field_type: 'WHOLE_NUMBER', record_type: 'CONTACT' },
    { id: '15', label: 'Lifetime Value', field_name: 'LTV', field_type: 'CURRENCY', record_type: 'CONTACT' },
    { id: '16', label: 'Renewal', field_name: 'RenewalDate', field_type: 'DATE', record_type: 'CONTACT' },
    { id: '17', label: 'Last Demo', field_name: 'LastDemo', field_type: 'DATE_TIME', record_type: 'CONTACT' },
    { id: '18', label: 'Newsletter?', field_name: 'Newsletter', field_type: 'YES_NO', record_type: 'CONTACT' },
    {
      id: '19',
      label: 'Interests',
      field_name: 'Interests',
      field_type: 'LIST_BOX',
      record_type: 'CONTACT',
      options: [
        { id: 'a', label: 'Golf' },
        { id: 'b', label: 'Sailing' },
      ],
    },
    { id: '20', label: 'Tier', field_name: 'Tier', field_type: 'DROPDOWN', record_type: 'CONTACT', options: [{ id: 'g', label: 'Gold' }] },
    { id: '21', label: 'Email (custom)', field_name: 'email', field_type: 'EMAIL', record_type: 'CONTACT' },
    { id: '22', label: 'Job role again', field_name: 'Job_Role', field_type: 'TEXT', record_type: 'CONTACT' },
  ],
  optional_properties: ['custom_fields'],
};

test('Keap field types map to PostgreSQL types (v2 UPPER_SNAKE and v1 CamelCase alike)', () => {
  const cases: Array<[string, string]> = [
    ['TEXT', 'text'],
    ['TEXT_AREA', 'text'],
    ['EMAIL', 'text'],
    ['DROPDOWN', 'text'],
    ['RADIO', 'text'],
    ['WHOLE_NUMBER', 'bigint'],
    ['DECIMAL_NUMBER', 'numeric'],
    ['CURRENCY', 'numeric'],
    ['PERCENT', 'numeric'],
    ['DATE', 'date'],
    ['DATE_TIME', 'timestamptz'],
    ['YES_NO', 'boolean'],
    ['LIST_BOX', 'text[]'],
    ['USER', 'bigint'],
    ['USER_LIST_BOX', 'bigint[]'],
    ['WholeNumber', 'bigint'],
    ['DateTime', 'timestamptz'],
    ['YesNo', 'boolean'],
    ['ListBox', 'text[]'],
    ['SomethingNew', 'text'],
  ];
  for (const [keap, pg] of cases) assert.equal(customFieldType(keap).type, pg, keap);
});

test('custom field columns are custom_<snake field_name>, unique, labelled, and read by field id', () => {
  const cols = customFieldColumns(V2_MODEL, 2);
  assert.deepEqual(
    cols.map((c) => [c.name, c.type, c.customFieldId]),
    [
      ['custom_job_role', 'text', '6'],
      ['custom_seats', 'bigint', '14'],
      ['custom_ltv', 'numeric', '15'],
      ['custom_renewal_date', 'date', '16'],
      ['custom_last_demo', 'timestamptz', '17'],
      ['custom_newsletter', 'boolean', '18'],
      ['custom_interests', 'text[]', '19'],
      ['custom_tier', 'text', '20'],
      ['custom_email', 'text', '21'],
      ['custom_job_role_22', 'text', '22'], // JobRole and Job_Role both snake to job_role
    ],
  );
  const interests = cols.find((c) => c.name === 'custom_interests')!;
  assert.equal(interests.transform, 'comma_list');
  assert.match(interests.description, /^Interests \(custom field 19, LIST_BOX\)\. Options: Golf, Sailing\.$/);
  assert.equal(cols[0]!.customFieldName, 'JobRole');
});

test('v1 models (integer ids, CamelCase types) give the same columns', () => {
  const cols = customFieldColumns({ custom_fields: [{ id: 6, label: 'Job Role', field_name: 'JobRole', field_type: 'Text' }, { id: 7, label: 'Score', field_name: 'Score', field_type: 'DecimalNumber' }] }, 1);
  assert.deepEqual(
    cols.map((c) => [c.name, c.type, c.customFieldId]),
    [
      ['custom_job_role', 'text', '6'],
      ['custom_score', 'numeric', '7'],
    ],
  );
});

test('names avoid reserved columns, stay within 63 characters and unique; unnamed fields use the label', () => {
  const long = 'A'.repeat(80);
  const cols = customFieldColumns(
    {
      custom_fields: [
        { id: '1', label: 'x', field_name: 'Notes', field_type: 'TEXT' },
        { id: '2', label: 'x', field_name: long, field_type: 'TEXT' },
        { id: '3', label: 'x', field_name: long, field_type: 'TEXT' },
        { id: '4', label: 'Favourite Colour', field_name: '', field_type: 'TEXT' },
        { id: '5', label: '', field_name: '', field_type: 'TEXT' },
        { id: '6', label: 'Ünïcödé ☕', field_name: '', field_type: 'TEXT' },
      ],
    },
    2,
    ['custom_notes'],
  );
  const names = cols.map((c) => c.name);
  assert.equal(names[0], 'custom_notes_1');
  assert.ok(names.every((n) => n.length <= 63 && /^[a-z][a-z0-9_]*$/.test(n)), names.join(' '));
  assert.equal(new Set(names).size, names.length);
  assert.equal(names[3], 'custom_favourite_colour');
  assert.equal(names[4], 'custom_5');
  assert.equal(names[5], 'custom_unicode');
});

test('a model without custom fields (or not an object) gives no columns', () => {
  assert.deepEqual(customFieldColumns({}, 2), []);
  assert.deepEqual(customFieldColumns(null, 2), []);
  assert.deepEqual(customFieldColumns({ custom_fields: [null, 'x', { label: 'no id' }] }, 2), []);
});

test('withCustomFields adds the columns and v2 filters by field_name, replacing earlier custom columns', () => {
  const catalog = loadCatalog();
  const next = withCustomFields(catalog, 'contacts', customFieldColumns(V2_MODEL, 2));
  const contacts = next.tables.get('contacts')!;
  const base = catalog.tables.get('contacts')!;
  assert.equal(contacts.columns.length, base.columns.length + V2_MODEL.custom_fields.length);
  assert.ok(Object.isFrozen(contacts));
  assert.equal(next.tables.get('companies'), catalog.tables.get('companies')); // others untouched
  assert.equal(base.columns.some((c) => c.customFieldId), false); // the original catalog is not changed
  const filter = (column: string) => contacts.filters.find((f) => f.column === column);
  assert.deepEqual(filter('custom_job_role'), { column: 'custom_job_role', ops: ['=', 'prefix'], param: 'JobRole' });
  assert.deepEqual(filter('custom_seats')!.ops, ['=', '<', '<=', '>', '>=']);
  assert.equal(filter('custom_last_demo')!.format, 'iso_timestamp');
  assert.equal(filter('custom_newsletter'), undefined);
  assert.equal(filter('custom_interests'), undefined);
  // "email" is a standard contacts filter: Keap would apply the standard one, so it is not pushed.
  assert.equal(filter('custom_email'), undefined);
  assert.ok(contacts.source.fields!.includes('custom_fields'));

  const again = withCustomFields(next, 'contacts', customFieldColumns({ custom_fields: [V2_MODEL.custom_fields[1]] }, 2));
  const names = again.tables.get('contacts')!.columns.filter((c) => c.customFieldId).map((c) => c.name);
  assert.deepEqual(names, ['custom_seats']);
  assert.equal(again.tables.get('contacts')!.filters.filter((f) => f.column.startsWith('custom_')).length, 1);
  assert.throws(() => withCustomFields(catalog, 'nope', []), /no table "nope"/);
});

test('custom field values load typed into PGlite from each record\'s custom_fields', async () => {
  const catalog = withCustomFields(loadCatalog(), 'contacts', customFieldColumns(V2_MODEL, 2));
  const contacts = catalog.tables.get('contacts')!;
  const db = new PGlite();
  try {
    await db.exec(tableDdl(contacts));
    const record = {
      id: '5',
      custom_fields: [
        { id: '6', content: 'Product Owner' },
        { id: '14', content: 32 },
        { id: '15', content: '1999.95' },
        { id: '16', content: '2025-01-31' },
        { id: '17', content: '2025-01-31T09:15:00.000Z' },
        { id: '18', content: 'Yes' },
        { id: '19', content: 'Golf,Sailing' },
        { id: '20', content: null },
      ],
    };
    await db.query(copyStatement(contacts), [], { blob: new Blob([recordsToCopyText(contacts, [record, { id: '6' }])]) });
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT custom_job_role, custom_seats::text, custom_ltv::text, custom_renewal_date::text,
              custom_last_demo = '2025-01-31T09:15:00Z' AS demo_ok, custom_newsletter, custom_interests, custom_tier
         FROM contacts ORDER BY id`,
    );
    assert.deepEqual(rows[0], {
      custom_job_role: 'Product Owner',
      custom_seats: '32',
      custom_ltv: '1999.95',
      custom_renewal_date: '2025-01-31',
      demo_ok: true,
      custom_newsletter: true,
      custom_interests: ['Golf', 'Sailing'],
      custom_tier: null,
    });
    assert.deepEqual(rows[1], {
      custom_job_role: null,
      custom_seats: null,
      custom_ltv: null,
      custom_renewal_date: null,
      demo_ok: null,
      custom_newsletter: null,
      custom_interests: null,
      custom_tier: null,
    });
  } finally {
    await db.close();
  }
});

test('the generator drafts a table from the OpenAPI response schema and the reference filter table', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const out = mkdtempSync(join(tmpdir(), 'keapgres-drafts-'));
  try {
    const files = generateDrafts(join(root, 'spec'), out);
    assert.ok(files.some((f) => f.endsWith('contacts.yaml')));
    const draft = parse(readFileSync(join(out, 'contacts.yaml'), 'utf8')) as {
      source: { path: string };
      columns: Array<{ name: string; type: string }>;
      filters: Array<{ param: string; ops: string[] }>;
      sort: Array<{ param: string }>;
    };
    assert.equal(draft.source.path, '/v2/contacts');
    assert.equal(draft.columns.find((c) => c.name === 'id')!.type, 'bigint');
    assert.equal(draft.columns.find((c) => c.name === 'email_addresses')!.type, 'jsonb');
    assert.deepEqual(draft.filters.find((f) => f.param === 'email')!.ops, ['=', 'prefix']);
    assert.deepEqual(draft.filters.find((f) => f.param === 'ids')!.ops, ['in']);
    assert.deepEqual(
      draft.sort.map((s) => s.param),
      ['id', 'create_time', 'email', 'update_time'],
    );
    const orders = parse(readFileSync(join(out, 'orders.yaml'), 'utf8')) as { columns: Array<{ name: string; type: string; transform?: string }> };
    assert.equal(orders.columns.find((c) => c.name === 'total')?.transform, 'currency_amount');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('customFieldModels lists the /model endpoint of every table that has custom fields', () => {
  const models = customFieldModels(loadCatalog());
  assert.deepEqual(
    models.map((m) => `${m.table} ${m.path} v${m.version}`).sort(),
    [
      'affiliates /v2/affiliates/model v2',
      'companies /v2/companies/model v2',
      'contacts /v2/contacts/model v2',
      'notes /v2/notes/model v2',
      'opportunities /v2/opportunities/model v2',
      'orders /v2/orders/model v2',
      'subscriptions /v2/subscriptions/model v2',
      'tasks /v2/tasks/model v2',
    ],
  );
});

test('re-reading the custom fields changes the engine tables with ALTER TABLE, keeping unchanged columns', async () => {
  const base = loadCatalog();
  const first = withAccountCustomFields(
    base,
    new Map<string, unknown>([
      ['/v2/contacts/model', { custom_fields: [V2_MODEL.custom_fields[0], V2_MODEL.custom_fields[1], V2_MODEL.custom_fields[2]] }],
      ['/v2/orders/model', { custom_fields: [{ id: '40', label: 'PO number', field_name: 'PONumber', field_type: 'TEXT' }] }],
    ]),
  );
  assert.ok(first.tables.get('orders')!.columns.some((c) => c.name === 'custom_po_number'));
  assert.equal(first.tables.get('companies'), base.tables.get('companies'));
  const second = withAccountCustomFields(
    first,
    new Map<string, unknown>([
      [
        '/v2/contacts/model',
        {
          custom_fields: [
            { ...V2_MODEL.custom_fields[0], label: 'Role at work' }, // relabelled
            { ...V2_MODEL.custom_fields[1], field_type: 'TEXT' }, // type changed
            V2_MODEL.custom_fields[3], // added; LTV (15) removed
          ],
        },
      ],
    ]),
  );
  const db = new PGlite();
  try {
    await db.exec(catalogDdl(base));
    await db.exec(customFieldsDdl(base, first));
    await db.exec(customFieldsDdl(first, second));
    const { rows } = await db.query<{ column_name: string; data_type: string; d: string | null }>(
      `SELECT column_name, data_type, col_description('public.contacts'::regclass, ordinal_position) AS d
         FROM information_schema.columns WHERE table_name = 'contacts' AND column_name LIKE 'custom\\_%' ORDER BY column_name`,
    );
    assert.deepEqual(
      rows.map((r) => [r.column_name, r.data_type]),
      [
        ['custom_job_role', 'text'],
        ['custom_renewal_date', 'date'],
        ['custom_seats', 'text'],
      ],
    );
    assert.match(rows[0]!.d!, /^Role at work/);
    const orders = await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'custom_po_number'`);
    assert.equal(orders.rows.length, 1, 'a table whose model was not re-read keeps its columns');
    assert.equal(customFieldsDdl(second, second), '');
  } finally {
    await db.close();
  }
});

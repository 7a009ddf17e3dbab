import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { loadCatalog, parseTable } from '../src/schema/load.js';
import { catalogDdl, tableDdl } from '../src/schema/ddl.js';
import { CopyRowEncoder, centsToDecimal, copyStatement, currencyDecimals, escapeCopy, recordsToCopyText } from '../src/schema/rows.js';
import type { Catalog, TableSchema } from '../src/schema/types.js';

let db: PGlite;
let catalog: Catalog;

// A table with one column of every type, for value conversion tests.
const probe: TableSchema = parseTable('probe.yaml', {
  name: 'probe',
  description: 'Every type once.',
  source: { version: 2, path: '/v2/probe', listKey: 'probe', pageSizeMax: 1000 },
  primaryKey: ['id'],
  columns: [
    { name: 'id', type: 'bigint', path: 'id', description: 'id' },
    { name: 'n', type: 'integer', path: 'n', description: 'n' },
    { name: 'label', type: 'text', path: 'label', description: 'label' },
    { name: 'amount', type: 'numeric', path: 'amount', description: 'amount' },
    { name: 'price', type: 'numeric', path: 'price', transform: 'currency_amount', description: 'price' },
    { name: 'ratio', type: 'double precision', path: 'ratio', description: 'ratio' },
    { name: 'flag', type: 'boolean', path: 'flag', description: 'flag' },
    { name: 'day', type: 'date', path: 'day', description: 'day' },
    { name: 'at', type: 'timestamptz', path: 'at', description: 'at' },
    { name: 'at_ms', type: 'timestamptz', path: 'at_ms', transform: 'epoch_millis', description: 'at_ms' },
    { name: 'doc', type: 'jsonb', path: 'doc', description: 'doc' },
    { name: 'words', type: 'text[]', path: 'words', description: 'words' },
    { name: 'ids', type: 'bigint[]', path: 'ids', description: 'ids' },
    { name: 'csv_ids', type: 'bigint[]', path: 'csv', transform: 'comma_list', description: 'csv' },
    { name: 'nested', type: 'text', path: 'a.b.c', description: 'nested' },
    { name: 'picked', type: 'text', path: 'list[kind=WORK].value', description: 'picked' },
    { name: 'either', type: 'text', path: 'old_name|new_name', description: 'either' },
    { name: 'custom_color', type: 'text', path: 'custom_fields', customFieldId: '12', description: 'custom' },
    { name: 'custom_count', type: 'bigint', path: 'custom_fields', customFieldId: '14', description: 'custom' },
  ],
});

before(async () => {
  catalog = loadCatalog();
  db = new PGlite();
  await db.exec(catalogDdl(catalog));
  await db.exec(tableDdl(probe));
});

after(async () => {
  await db.close();
});

async function load(table: TableSchema, text: string): Promise<void> {
  await db.query(copyStatement(table), [], { blob: new Blob([text]) });
}

async function rows<T>(sql: string): Promise<T[]> {
  return (await db.query<T>(sql)).rows;
}

test('copyStatement names every column in order and reads /dev/blob', () => {
  const t = catalog.tables.get('tags')!;
  assert.equal(copyStatement(t), `COPY public."tags" ("id", "name", "description", "category_id", "create_time", "update_time") FROM '/dev/blob'`);
});

test('escapeCopy escapes backslash, tab, newline and carriage return, and drops NUL', () => {
  assert.equal(escapeCopy('plain'), 'plain');
  assert.equal(escapeCopy('a\tb\nc\rd\\e\u0000f'), 'a\\tb\\nc\\rd\\\\ef');
  assert.equal(escapeCopy('\\N'), '\\\\N');
});

test('hostile strings survive the round trip through COPY unchanged', async () => {
  const hostile = [
    'tab\there',
    'line\nbreak and\r\ncrlf',
    'back\\slash \\N \\t literal',
    '\\N',
    'NULL',
    '',
    'quote " and \' and {braces}, commas',
    'unicode: café ☕ 𝄞 日本語 \u200b',
    'trailing backslash \\',
  ];
  const records = hostile.map((label, i) => ({
    id: String(i + 1),
    label,
    doc: { label, nested: [label] },
    words: [label, 'x'],
  }));
  await load(probe, recordsToCopyText(probe, records));
  const got = await rows<{ id: string; label: string; doc: { label: string; nested: string[] }; words: string[] }>(
    `SELECT id::text, label, doc, words FROM probe WHERE id <= ${hostile.length} ORDER BY id`,
  );
  assert.equal(got.length, hostile.length);
  got.forEach((r, i) => {
    assert.equal(r.label, hostile[i], `label ${i}`);
    assert.deepEqual(r.doc, { label: hostile[i], nested: [hostile[i]] }, `doc ${i}`);
    assert.deepEqual(r.words, [hostile[i], 'x'], `words ${i}`);
  });
  // An empty string is a value, not NULL; the literal text \N is text, not NULL.
  const nulls = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM probe WHERE id <= ${hostile.length} AND label IS NULL`);
  assert.equal(nulls[0]!.n, 0);
});

test('NUL characters, which PostgreSQL cannot store, are dropped instead of failing the load', async () => {
  await load(probe, recordsToCopyText(probe, [{ id: '100', label: 'a\u0000b', doc: { s: 'x\u0000y' }, words: ['p\u0000q'] }]));
  const [r] = await rows<{ label: string; doc: { s: string }; words: string[] }>(`SELECT label, doc, words FROM probe WHERE id = 100`);
  assert.deepEqual(r, { label: 'ab', doc: { s: 'xy' }, words: ['pq'] });
});

test('values are converted per type: string ids, money, booleans, dates, instants, arrays, paths, custom fields', async () => {
  await db.exec('SET TimeZone = \'America/New_York\''); // the load must not depend on the session time zone
  await load(
    probe,
    recordsToCopyText(probe, [
      {
        id: '9007199254740993', // beyond double precision: kept exact as text
        n: 42,
        label: 17,
        amount: 12.5,
        price: { amount: 12345, currency_code: 'USD', formatted_amount: '$123.45' },
        ratio: '0.25',
        flag: 'true',
        day: '2024-02-29',
        at: '2024-11-07T20:35:13.000+0000',
        at_ms: 1700000000000,
        doc: null,
        words: 'single',
        ids: ['1', 2, 'x', '3'],
        csv: '10, 20,,30',
        a: { b: { c: 'deep' } },
        list: [{ kind: 'HOME', value: 'h' }, { kind: 'WORK', value: 'w' }],
        old_name: null,
        new_name: 'second spelling',
        custom_fields: [
          { id: '12', content: 'teal' },
          { id: 14, content: '7' },
        ],
      },
      { id: '201', price: { amount: -5 }, flag: 0, day: '2024-03-15T00:00:00.000+0000', at: '2024-03-15T10:30:00', words: [] },
      { id: '202', price: { amount: '7' }, flag: 'no', day: '0000-00-00', at: '2024-03-15', n: 'abc', amount: 'n/a' },
    ]),
  );
  const got = await rows<Record<string, string | null>>(
    `SELECT id::text, n::text, label, amount::text, price::text, ratio::text, flag::text, day::text,
            to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS at, to_char(at_ms AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS at_ms,
            doc::text, words::text, ids::text, csv_ids::text, nested, picked, either, custom_color, custom_count::text
       FROM probe WHERE id IN (9007199254740993, 201, 202) ORDER BY id`,
  );
  await db.exec('RESET TimeZone');
  assert.deepEqual(got[0], {
    id: '201', n: null, label: null, amount: null, price: '-0.05', ratio: null, flag: 'false', day: '2024-03-15',
    at: '2024-03-15 10:30:00', at_ms: null, doc: null, words: '{}', ids: null, csv_ids: null, nested: null, picked: null, either: null,
    custom_color: null, custom_count: null,
  });
  assert.deepEqual(got[1], {
    id: '202', n: null, label: null, amount: null, price: '0.07', ratio: null, flag: 'false', day: null,
    at: '2024-03-15 00:00:00', at_ms: null, doc: null, words: null, ids: null, csv_ids: null, nested: null, picked: null, either: null,
    custom_color: null, custom_count: null,
  });
  assert.deepEqual(got[2], {
    id: '9007199254740993', n: '42', label: '17', amount: '12.5', price: '123.45', ratio: '0.25', flag: 'true', day: '2024-02-29',
    at: '2024-11-07 20:35:13', at_ms: '2023-11-14 22:13:20.000', doc: null, words: '{single}', ids: '{1,2,3}', csv_ids: '{10,20,30}',
    nested: 'deep', picked: 'w', either: 'second spelling', custom_color: 'teal', custom_count: '7',
  });
});

test('impossible dates, odd instants and non-decimal numbers become NULL or ISO text, never a failed COPY', async () => {
  const cases: Array<{ id: string; day?: string; at?: string; amount?: string }> = [
    { id: '301', day: '2024-02-30', at: '2024-01-01T25:00:00Z', amount: '0x1f' },
    { id: '302', day: '2023-02-29', at: '2024-01-01T10:00:00+05:30', amount: '1e3' },
    { id: '303', day: '2024-02-29', at: '2024-01-01T10:00', amount: '-.5' },
    { id: '304', day: '2024-13-01', at: 'Tue, 05 Mar 2024 10:00:00 GMT', amount: 'Infinity' },
    { id: '305', day: '2024-04-31', at: '2024-06-01 08:09:10.123456-0700', amount: '0b1' },
    { id: '306', day: '1900-02-29', at: 'not a time', amount: '12abc' },
    { id: '307', day: '2000-02-29', at: '0000-00-00T00:00:00Z', amount: ' 42 ' },
  ];
  await load(probe, recordsToCopyText(probe, cases));
  const got = await rows<{ id: string; day: string | null; at: string | null; amount: string | null }>(
    `SELECT id::text, day::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at, amount::text
       FROM probe WHERE id BETWEEN 301 AND 307 ORDER BY id`,
  );
  assert.deepEqual(got, [
    { id: '301', day: null, at: null, amount: null },
    { id: '302', day: null, at: '2024-01-01 04:30:00.000000', amount: '1000' },
    { id: '303', day: '2024-02-29', at: '2024-01-01 10:00:00.000000', amount: '-0.5' },
    { id: '304', day: null, at: '2024-03-05 10:00:00.000000', amount: null },
    { id: '305', day: null, at: '2024-06-01 15:09:10.123456', amount: null },
    { id: '306', day: null, at: null, amount: null },
    { id: '307', day: '2000-02-29', at: null, amount: '42' },
  ]);
});

test('centsToDecimal is exact for any integer amount', () => {
  assert.equal(centsToDecimal(0), '0.00');
  assert.equal(centsToDecimal(5), '0.05');
  assert.equal(centsToDecimal(-199), '-1.99');
  assert.equal(centsToDecimal('123456789012345678'), '1234567890123456.78');
  assert.equal(centsToDecimal(1.5), '0.01');
  assert.equal(centsToDecimal(1e18), '10000000000000000.00'); // beyond 2^53 but an exact double
  assert.equal(centsToDecimal(1e21), null); // beyond bigint
  assert.equal(centsToDecimal('abc'), null);
  assert.equal(centsToDecimal(1234, 0), '1234');
  assert.equal(centsToDecimal(-5, 3), '-0.005');
});

test('CurrencyValue amounts use the currency\'s minor unit (cents, yen, fils)', () => {
  const products = catalog.tables.get('products')!;
  const price = (value: object): string => recordsToCopyText(products, [{ id: '1', price: value }]).split('\t')[3]!;
  assert.equal(price({ amount: 1999, currency_code: 'USD' }), '19.99');
  assert.equal(price({ amount: 1999, currency_code: 'JPY' }), '1999');
  assert.equal(price({ amount: 1999, currency_code: 'kwd' }), '1.999');
  assert.equal(price({ amount: 1999 }), '19.99');
  assert.equal(currencyDecimals('EUR'), 2);
});

test('unnest tables make one row per array element, reading the parent through $parent', async () => {
  const emails = catalog.tables.get('contact_email_addresses')!;
  const contacts = [
    { id: '1', email_addresses: [{ email: 'a@x.test', field: 'EMAIL1', is_opt_in: true }, { email: 'b@x.test', field: 'EMAIL2' }] },
    { id: '2', email_addresses: [] },
    { id: '3' },
    { id: '4', email_addresses: [{ email: 'c@x.test', field: 'EMAIL1', email_opt_status: 'SINGLE_OPT_IN' }] },
  ];
  await load(emails, recordsToCopyText(emails, contacts));
  const got = await rows<{ contact_id: string; field: string; email: string; is_opt_in: boolean | null }>(
    `SELECT contact_id::text, field, email, is_opt_in FROM contact_email_addresses ORDER BY contact_id, field`,
  );
  assert.deepEqual(got, [
    { contact_id: '1', field: 'EMAIL1', email: 'a@x.test', is_opt_in: true },
    { contact_id: '1', field: 'EMAIL2', email: 'b@x.test', is_opt_in: null },
    { contact_id: '4', field: 'EMAIL1', email: 'c@x.test', is_opt_in: null },
  ]);
});

test('per-parent records read their parent from the argument or from the $parent the connector attaches', async () => {
  const tags = catalog.tables.get('contact_tags')!;
  const text = recordsToCopyText(tags, [
    { id: '31', applied_time: '2024-01-01T00:00:00Z', $parent: { id: '8', name: 'VIP' } },
    { id: '32', applied_time: '2024-01-02T00:00:00Z', $parent: { id: '9' } },
  ]);
  await load(tags, text);
  const got = await rows<{ contact_id: string; tag_id: string }>(`SELECT contact_id::text, tag_id::text FROM contact_tags WHERE contact_id IN (31, 32) ORDER BY 1`);
  assert.deepEqual(got, [
    { contact_id: '31', tag_id: '8' },
    { contact_id: '32', tag_id: '9' },
  ]);
  assert.equal(recordsToCopyText(tags, [{ id: '33', $parent: { id: '9' } }], { id: '10' }).split('\t')[1], '10');
});

test('a record seen twice (paging while data changes) or with a NULL key is skipped and counted, not a failed COPY', async () => {
  const tags = catalog.tables.get('tags')!;
  const encoder = new CopyRowEncoder(tags);
  const first = encoder.encode([{ id: '1', name: 'VIP' }, { id: '2', name: 'Lead' }]);
  const second = encoder.encode([{ id: '2', name: 'Lead (again)' }, { name: 'no id' }, { id: '3', name: 'Customer' }]);
  assert.equal(encoder.rowCount, 3);
  assert.equal(encoder.skippedDuplicateKey, 1);
  assert.equal(encoder.skippedNullKey, 1);
  await load(tags, first + second);
  const got = await rows<{ id: string; name: string }>(`SELECT id::text, name FROM tags ORDER BY id`);
  assert.deepEqual(got, [
    { id: '1', name: 'VIP' },
    { id: '2', name: 'Lead' },
    { id: '3', name: 'Customer' },
  ]);
  assert.equal(encoder.encode([]), '');
  const emails = new CopyRowEncoder(catalog.tables.get('contact_email_addresses')!);
  emails.encode([{ id: '7', email_addresses: [{ field: 'EMAIL1', email: 'a' }] }, { id: '007', email_addresses: [{ field: 'EMAIL1', email: 'b' }] }]);
  assert.equal(emails.skippedDuplicateKey, 1, '"007" and "7" are the same contact id');
});

test('v1 records load with v1 dates and comma-separated id lists', async () => {
  const transactions = catalog.tables.get('transactions')!;
  await load(
    transactions,
    recordsToCopyText(transactions, [
      { id: 77, contact_id: 5, order_ids: '11,12', amount: 19.99, transaction_date: '2024-11-07T20:35:13.000+0000', paymentDate: '2024-11-07T00:00:00.000+0000', test: false, orders: [{ id: 11 }] },
    ]),
  );
  const [r] = await rows<Record<string, string>>(
    `SELECT id::text, order_ids::text, amount::text, transaction_date = '2024-11-07T20:35:13Z'::timestamptz AS same, orders::text FROM transactions`,
  );
  assert.deepEqual(r, { id: '77', order_ids: '{11,12}', amount: '19.99', same: true, orders: '[{"id": 11}]' });
});

/** A contact shaped like GET /v2/contacts?fields=… returns it. */
function contactRecord(i: number): Record<string, unknown> {
  return {
    id: String(1000 + i),
    given_name: `Given${i}`,
    family_name: `Family ${i}`,
    middle_name: null,
    email_addresses: [
      { email: `person${i}@example.test`, field: 'EMAIL1', is_opt_in: i % 2 === 0, email_opt_status: 'SINGLE_OPT_IN', opt_in_reason: 'Form' },
      { email: `other${i}@example.test`, field: 'EMAIL2' },
    ],
    phone_numbers: [{ number: `+1 555 01${String(i % 100).padStart(2, '0')}`, number_e164: '+15550100', field: 'PHONE1', type: 'Work' }],
    addresses: [{ field: 'BILLING', line1: `${i} Main St`, locality: 'Phoenix', region: 'Arizona', region_code: 'US-AZ', postal_code: '85001', country_code: 'USA' }],
    company: { id: String(i % 500), company_name: `Company ${i % 500}` },
    owner_id: String(i % 7),
    tag_ids: [String(i % 30), String(i % 11)],
    create_time: '2024-03-15T10:30:00Z',
    update_time: '2024-09-01T08:00:00.123Z',
    birth_date: '1990-05-17',
    origin: { date: '2024-03-15T10:30:00Z', ip_address: '192.0.2.1' },
    source_type: 'WEBFORM',
    score_value: '12',
    custom_fields: [
      { id: '6', content: 'Product Owner' },
      { id: '14', content: i },
    ],
    notes: i % 10 === 0 ? 'Called\tback\nlater' : null,
  };
}

test('100,000 contacts flatten quickly (hot path) and load into PGlite', async (t) => {
  const contacts = catalog.tables.get('contacts')!;
  const records = Array.from({ length: 100_000 }, (_, i) => contactRecord(i));
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const encoder = new CopyRowEncoder(contacts);
  const chunks: string[] = [];
  for (let i = 0; i < records.length; i += 1000) chunks.push(encoder.encode(records.slice(i, i + 1000)));
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const ms = performance.now() - started;
  t.diagnostic(
    `flattened 100,000 contacts (${contacts.columns.length} columns, ${(chunks.join('').length / 1e6).toFixed(1)} MB of COPY text) ` +
      `in ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU = ${Math.round(100_000 / (ms / 1000))} rows/s`,
  );
  assert.equal(encoder.rowCount, 100_000);
  // About 0.35 s on a quiet 2-core machine (1.6 s of CPU at load average 20). CPU time, not wall time, is bounded so other processes on a
  // shared box do not fail the test; it still catches a hot path that became several times slower.
  assert.ok(cpuMs < 4000, `flattening took ${cpuMs.toFixed(0)} ms of CPU`);
  const loadStarted = performance.now();
  await load(contacts, chunks.join(''));
  t.diagnostic(`COPY of 100,000 contacts into PGlite took ${(performance.now() - loadStarted).toFixed(0)} ms`);
  const [r] = await rows<{ n: number; email: string; company_id: string; tags: string }>(
    `SELECT count(*)::int AS n, max(email) FILTER (WHERE id = 1005) AS email, max(company_id) FILTER (WHERE id = 1005)::text AS company_id,
            max(tag_ids::text) FILTER (WHERE id = 1005) AS tags FROM contacts`,
  );
  assert.deepEqual(r, { n: 100_000, email: 'person5@example.test', company_id: '5', tags: '{5,5}' });
});

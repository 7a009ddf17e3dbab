// The tables added for issue 13, end to end (node-postgres → keapgres → sandbox): each returns exactly the
// records the sandbox serves (read here with plain HTTP and compared column by column), every pushable
// equality gives the rows the full table gives, the *_model views are custom_fields per record type, and
// appointments have their custom fields as columns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { javaSkip, runJdbcChecks } from './support/java.js';
import type { ColumnSchema, TableSchema } from '../src/schema/types.js';

/** the tables issue 13 added */
export const NEW_TABLES = [
  'account_profile', 'application_configuration', 'automation_categories', 'contact_link_types', 'contact_links', 'countries',
  'country_regions', 'merchant_accounts', 'shipping_methods', 'product_categories', 'lead_source_categories', 'lead_source_expenses',
  'lead_source_recurring_expenses', 'email_templates', 'rest_hooks', 'opportunity_stage_details', 'user_signatures', 'campaign_goals',
  'campaign_sequences', 'affiliate_commission_programs', 'affiliate_redirects', 'affiliate_summaries', 'affiliate_payments',
  'affiliate_commissions', 'affiliate_clawbacks', 'company_tags', 'note_templates', 'webforms', 'reports',
  'free_trial_discounts', 'order_total_discounts', 'product_category_discounts', 'product_discounts', 'shipping_discounts',
  'automations', 'product_interest_bundles',
  'product_category_products', 'payment_methods', 'contact_credit_cards', 'contact_lead_scores', 'affiliate_referrals',
  'opportunity_stage_moves', 'contact_option_types', 'locale_default_options', 'rest_hook_event_types',
  'user_groups', 'wordpress_opt_in_options', 'custom_field_tabs', 'custom_field_groups', 'commission_program_resources', 'report_fields',
  'email_address_statuses', 'product_options',
];
/** the tables added last (the README's "not yet tables" and the newer swagger's lists) */
const LAST_TABLES = NEW_TABLES.slice(NEW_TABLES.indexOf('product_category_products'));
const CONTACTS = 150;
let server: TestServer;
before(async () => { server = await startTestServer({ contacts: CONTACTS, config: { sandbox: { seed: 5, contacts: CONTACTS, cache: 'AutoCache=false' } } }); });
after(async () => { await server.stop(); });

const catalog = () => server.databases.get('keap')!.catalog;
type Rec = Record<string, unknown>;

async function query<T = Rec>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client(server.clientConfig());
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

let bearer: string | undefined;

/**
 * GET through plain HTTP, waiting out the sandbox's throttle like any client: as an OAuth app (25 a second,
 * 1,500 a minute), not with the personal access token's 10 a second and 240 a minute.
 */
async function get(path: string, q: URLSearchParams = new URLSearchParams()): Promise<unknown> {
  const sb = server.sandbox!;
  bearer ??= sb.issueTokens({ expiresInSeconds: 3600 }).access_token;
  for (;;) {
    const res = await fetch(`${sb.apiBase}${path}?${q}`, { headers: { Authorization: `Bearer ${bearer}` } });
    if (res.status === 429) {
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    assert.equal(res.status, 200, path);
    return res.json();
  }
}

function readPath(rec: unknown, path: string): unknown {
  let cur = rec;
  for (const k of path.split('.')) cur = cur !== null && typeof cur === 'object' ? (cur as Rec)[k] : undefined;
  return cur;
}

/** Every record of an endpoint: v2 page tokens, v1 offsets, or one body. */
async function records(path: string, t: TableSchema): Promise<unknown[]> {
  const s = t.source;
  if (s.single) {
    const body = await get(path);
    return body === null || body === '' ? [] : [typeof body === 'object' ? body : { value: body }];
  }
  const of = (body: unknown): unknown[] => (s.listKey === null ? body : (body as Rec)[s.listKey]) as unknown[];
  if (s.unpaged) return of(await get(path));
  const out: unknown[] = [];
  if (s.version === 2) {
    let token = '';
    do {
      const body = (await get(path, new URLSearchParams({ page_size: String(s.pageSizeMax), ...(token ? { page_token: token } : {}) }))) as Rec;
      out.push(...of(body));
      token = String(body.next_page_token ?? '');
    } while (token);
    return out;
  }
  for (let offset = 0; ; offset += 1000) {
    const page = of(await get(path, new URLSearchParams({ limit: '1000', offset: String(offset) })));
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

/** The sandbox's records of a table, each with its parent record (per-parent tables). */
async function reference(t: TableSchema): Promise<Array<{ rec: unknown; parent: unknown }>> {
  const pp = t.source.perParent;
  // a child table: one row per element of each record's list, $parent. paths reading the record
  const un = t.source.unnest;
  if (un) return (await records(t.source.path, t)).flatMap((parent) => ((parent as Rec)[un] as unknown[] ?? []).map((rec) => ({ rec, parent })));
  if (!pp) {
    const out: Array<{ rec: unknown; parent: unknown }> = [];
    // extraPaths: more endpoints whose records are rows too (custom_fields, custom_field_tabs, custom_field_groups)
    for (const path of [t.source.path, ...(t.source.extraPaths ?? [])]) for (const rec of await records(path, t)) out.push({ rec, parent: undefined });
    return out;
  }
  const parentTable = catalog().tables.get(pp.table)!;
  const parentPath = parentTable.columns.find((c) => c.name === pp.column)!.path;
  const out: Array<{ rec: unknown; parent: unknown }> = [];
  for (const parent of await records(parentTable.source.path, parentTable)) {
    const path = t.source.path.replace(`{${pp.param}}`, encodeURIComponent(String(readPath(parent, parentPath))));
    for (const rec of await records(path, t)) out.push({ rec, parent });
  }
  return out;
}

/** The value a column should hold for an API record, as to_jsonb() shows it. */
function expected(col: ColumnSchema, rec: unknown, parent: unknown): unknown {
  let v: unknown;
  if (col.path === '$one') v = 1;
  else if (col.path === '$element') v = rec;
  else if (col.path.startsWith('$parent.')) v = readPath(parent, col.path.slice('$parent.'.length));
  else v = readPath(rec, col.path);
  if (col.transform === 'currency_amount' && v !== null && typeof v === 'object') v = Number((v as Rec).amount) / 100;
  return v === undefined ? null : v;
}

function same(col: ColumnSchema, sql: unknown, api: unknown): boolean {
  if (api === null || sql === null) return api === sql;
  switch (col.type) {
    case 'bigint': case 'integer': case 'numeric': case 'double precision': return Number(sql) === Number(api);
    case 'timestamptz': return Date.parse(String(sql)) === Date.parse(String(api));
    case 'bigint[]': return JSON.stringify((sql as unknown[]).map(Number)) === JSON.stringify((api as unknown[]).map(Number));
    case 'jsonb': case 'text[]': return JSON.stringify(sql) === JSON.stringify(api) || assert.deepEqual(sql, api) === undefined;
    default: return String(sql) === String(api);
  }
}

/** The row's key as text (instants as epoch milliseconds: the API and to_jsonb spell them differently). */
const keyOf = (t: TableSchema, row: Rec): string =>
  t.primaryKey.map((k) => (t.columns.find((c) => c.name === k)!.type === 'timestamptz' ? String(Date.parse(String(row[k]))) : String(row[k]))).join('|');

test('every new table is in the catalog, described column by column', () => {
  for (const name of NEW_TABLES) {
    const t = catalog().tables.get(name);
    assert.ok(t, name);
    assert.ok(t.description.length > 10, name);
    for (const c of t.columns) assert.ok(c.description.length > 3, `${name}.${c.name}`);
  }
});

/** Runs `f` over `items`, `n` at a time: each query is a new session, and sessions start faster side by side. */
async function eachConcurrently<T>(items: readonly T[], n: number, f: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await f(item);
  }));
}

test('every new table returns exactly the sandbox\'s records, column by column', async () => {
  await eachConcurrently(NEW_TABLES, 3, async (name) => {
    const t = catalog().tables.get(name)!;
    const api = await reference(t);
    const rows = (await query<{ j: Rec }>(`SELECT to_jsonb(t) AS j FROM ${name} t`)).map((r) => r.j);
    assert.equal(rows.length, api.length, `rows of ${name}`);
    assert.ok(rows.length > 0, `${name} has rows in the sandbox`);
    const byKey = new Map(rows.map((r) => [keyOf(t, r), r]));
    assert.equal(byKey.size, rows.length, `${name}: keys are unique`);
    for (const { rec, parent } of api) {
      const want = Object.fromEntries(t.columns.map((c) => [c.name, expected(c, rec, parent)]));
      const row = byKey.get(keyOf(t, want));
      assert.ok(row, `${name}: a row for ${JSON.stringify(want)}`);
      for (const c of t.columns) assert.ok(same(c, row[c.name], want[c.name]), `${name}.${c.name}: ${JSON.stringify(row[c.name])} against the API's ${JSON.stringify(want[c.name])}`);
    }
  });
});

test('each pushable equality on a new table gives the rows the full table gives, in fewer or as many calls', async () => {
  const sb = server.sandbox!;
  // one present value and one absent per column: each query is a new session, so that its condition reaches Keap
  const before = sb.stats().total;
  let queries = 0;
  await eachConcurrently(NEW_TABLES, 3, async (name) => {
    const t = catalog().tables.get(name)!;
    const full = (await query<{ j: Rec }>(`SELECT to_jsonb(t) AS j FROM ${name} t`)).map((r) => r.j);
    for (const f of t.filters.filter((x) => x.ops.includes('='))) {
      const col = t.columns.find((c) => c.name === f.column)!;
      const values = [...new Set(full.map((r) => r[f.column]).filter((v) => v !== null && typeof v !== 'object'))].slice(0, 1);
      // and a value no row has (a boolean has none)
      const absent = col.type === 'text' ? ['no such value'] : col.type === 'boolean' ? [] : [987654321];
      for (const v of [...values, ...absent]) {
        const pushed = (await query<{ j: Rec }>(`SELECT to_jsonb(t) AS j FROM ${name} t WHERE ${f.column} = $1`, [v])).map((r) => r.j);
        queries++;
        const want = full.filter((r) => String(r[f.column]) === String(v));
        assert.deepEqual(pushed.map((r) => keyOf(t, r)).sort(), want.map((r) => keyOf(t, r)).sort(), `${name} WHERE ${f.column} = ${JSON.stringify(v)}`);
      }
    }
  });
  // every query asked Keap (AutoCache=false: a new session has nothing to answer from)
  assert.ok(sb.stats().total - before >= queries, `${sb.stats().total - before} calls for ${queries} queries`);
});

test('a pinned parent calls only that parent\'s endpoint', async () => {
  const sb = server.sandbox!;
  for (const [name, column, value] of [['campaign_goals', 'campaign_id', 2], ['country_regions', 'country_code', 'CAN'], ['user_signatures', 'user_id', 1], ['affiliate_payments', 'affiliate_id', 1], ['contact_links', 'contact_id', 1], ['company_tags', 'tag_id', 3], ['contact_credit_cards', 'contact_id', 4], ['contact_lead_scores', 'contact_id', 3], ['commission_program_resources', 'commission_program_id', 1], ['report_fields', 'report_id', 2]] as const) {
    const before = { ...sb.stats().byEndpoint };
    await query(`SELECT * FROM ${name} WHERE ${column} = $1`, [value]);
    const after = sb.stats().byEndpoint;
    const delta = Object.entries(after).filter(([k, v]) => v - (before[k] ?? 0) > 0 && k.startsWith('GET /v')).map(([k, v]) => [k, v - (before[k] ?? 0)]);
    assert.deepEqual(delta, [[`GET ${catalog().tables.get(name)!.source.path}`, 1]], name);
  }
});

test('the *_model views are custom_fields of one record type, and loading them asks Keap only for custom_fields', async () => {
  const types: Record<string, string> = {
    contacts_model: 'CONTACT', companies_model: 'COMPANY', opportunities_model: 'OPPORTUNITY', orders_model: 'ORDER', subscriptions_model: 'SUBSCRIPTION',
    tasks_model: 'TASK_NOTE_APPOINTMENT', notes_model: 'TASK_NOTE_APPOINTMENT', appointments_model: 'TASK_NOTE_APPOINTMENT', affiliates_model: 'REFERRAL_PARTNER',
  };
  for (const [view, type] of Object.entries(types)) {
    const rows = await query(`SELECT * FROM ${view} ORDER BY id`);
    const want = await query(`SELECT * FROM custom_fields WHERE record_type = $1 ORDER BY id`, [type]);
    assert.deepEqual(rows, want, view);
    assert.ok(rows.length > 0 || type === 'SUBSCRIPTION', `${view} has fields`);
  }
  const described = await query<{ relname: string; d: string }>(`SELECT c.relname, obj_description(c.oid, 'pg_class') AS d FROM pg_class c WHERE c.relkind = 'v' AND c.relname LIKE '%\\_model'`);
  assert.equal(described.length, Object.keys(types).length);
  assert.ok(described.every((r) => /custom_fields/.test(r.d)));
});

test('subscriptions, tasks, notes and affiliates have their custom fields as typed columns with the API\'s values', async () => {
  for (const [table, type] of [['subscriptions', 'SUBSCRIPTION'], ['tasks', 'TASK_NOTE_APPOINTMENT'], ['notes', 'TASK_NOTE_APPOINTMENT'], ['affiliates', 'REFERRAL_PARTNER']] as const) {
    const t = catalog().tables.get(table)!;
    const defs = server.sandbox!.store.customFields(type);
    const custom = t.columns.filter((c) => c.customFieldId !== undefined);
    assert.deepEqual(custom.map((c) => String(c.customFieldId)).sort(), defs.map((f) => String(f.id)).sort(), `${table}: a column per field`);
    const cols = await query<{ column_name: string; data_type: string }>(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 AND column_name LIKE 'custom\\_%'`, [table]);
    assert.equal(cols.length, defs.length, table);
    assert.ok(cols.some((c) => c.data_type !== 'text'), `${table}: typed columns (${cols.map((c) => c.data_type).join(', ')})`);
    // values: the API's custom_fields[] content, field by field
    const api = (await records(t.source.path, { ...t, source: { ...t.source } })) as Rec[];
    const q = new URLSearchParams({ page_size: '1000', fields: 'custom_fields' });
    const withFields = t.source.fields ? ((await get(t.source.path, q)) as Rec)[t.source.listKey!] as Rec[] : api;
    const rows = await query<{ j: Rec }>(`SELECT to_jsonb(t) AS j FROM ${table} t ORDER BY id LIMIT 1000`);
    const byId = new Map(rows.map((r) => [String(r.j.id), r.j]));
    let filled = 0;
    for (const rec of withFields) {
      const row = byId.get(String(rec.id));
      if (!row) continue;
      for (const cf of rec.custom_fields as Array<{ id: string; content: unknown }>) {
        const col = custom.find((c) => String(c.customFieldId) === String(cf.id))!;
        if (cf.content === null) assert.equal(row[col.name], null, `${table}.${col.name}`);
        else { filled++; assert.ok(row[col.name] !== null, `${table}.${col.name} of ${String(rec.id)}`); }
      }
    }
    assert.ok(filled > 0, `${table} has custom values`);
  }
});

/** The GET calls a statement made, by endpoint, and its rows. */
async function calls(sql: string): Promise<{ rows: unknown[][]; byEndpoint: Record<string, number> }> {
  const sb = server.sandbox!;
  const c = new pg.Client(server.clientConfig());
  await c.connect();
  try {
    const before = { ...sb.stats().byEndpoint };
    const r = await c.query({ text: sql, rowMode: 'array' });
    const after = sb.stats().byEndpoint;
    const byEndpoint: Record<string, number> = {};
    for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0 && k.startsWith('GET /v')) byEndpoint[k] = v - (before[k] ?? 0);
    return { rows: r.rows, byEndpoint };
  } finally {
    await c.end();
  }
}
const total = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

// Issue 13 item 2 for the per-parent tables added last: the listing that carries their rows answers a scan that
// reads only its columns, for no more calls than the parent (contacts) scan; other columns need the per-contact calls.
test('contact_credit_cards and contact_lead_scores: a full scan of the listing\'s columns costs no more than the contacts scan, with the per-contact rows', async () => {
  const parent = await calls('SELECT id FROM contacts');
  for (const [table, columns, listing] of [
    ['contact_credit_cards', 'contact_id, id, payment_method_id', 'GET /v2/paymentMethods'],
    ['contact_lead_scores', 'contact_id, score', 'GET /v2/contacts'],
  ] as const) {
    const path = `GET ${catalog().tables.get(table)!.source.path}`;
    const cheap = await calls(`SELECT ${columns} FROM ${table} ORDER BY 1, 2`);
    assert.deepEqual(Object.keys(cheap.byEndpoint), [listing], `${table}: ${JSON.stringify(cheap.byEndpoint)}`);
    assert.ok(total(cheap.byEndpoint) <= total(parent.byEndpoint), `${table}: ${JSON.stringify(cheap.byEndpoint)} against ${JSON.stringify(parent.byEndpoint)}`);
    // the same rows through the per-contact endpoint (SELECT * reads a column only it gives)
    const full = await calls(`SELECT ${columns} FROM (SELECT * FROM ${table}) x ORDER BY 1, 2`);
    assert.ok((full.byEndpoint[path] ?? 0) >= CONTACTS, `${table}: ${JSON.stringify(full.byEndpoint)}`);
    assert.deepEqual(cheap.rows, full.rows, table);
    assert.ok(cheap.rows.length > 0, table);
    const plan = await calls(`EXPLAIN SELECT ${columns} FROM ${table}`);
    const planText = plan.rows.map((r) => r[0]).join('\n');
    assert.ok(planText.includes(listing.slice(4)) && !planText.includes(catalog().tables.get(table)!.source.path), `${table}: EXPLAIN names the listing, not the per-contact endpoint:\n${planText}`);
  }
  // a lead score's time, or a card's masked number, needs its contact's endpoint: pinned, one call
  const pinned = await calls('SELECT last_update_time FROM contact_lead_scores WHERE contact_id = 3');
  assert.deepEqual(pinned.byEndpoint, { 'GET /v2/contacts/{contact_id}/leadScore': 1 });
});

// Issue 13 item 3: custom_* columns come from a record type's custom fields; the records of the tables added last
// carry none (the spec gives them no custom_fields), so they have no custom columns, and the record types that do
// keep theirs.
test('the tables added last carry no custom fields, and every record type with custom fields still has its custom_* columns', async () => {
  for (const name of LAST_TABLES) {
    const t = catalog().tables.get(name)!;
    assert.equal(t.source.customFieldsModel, undefined, name);
    assert.ok(!t.columns.some((c) => c.name.startsWith('custom_')), name);
  }
  // the per-contact records of the first contacts, and a page of each listing
  const sample: unknown[] = [];
  for (let id = 1; id <= 20; id++) sample.push(...((await get(`/v1/contacts/${id}/creditCards`)) as unknown[]), await get(`/v2/contacts/${id}/leadScore`));
  for (const path of ['/v2/paymentMethods', '/v2/referrals', '/v2/opportunities/stageMoves', '/v2/productCategories/assignedProducts', '/v2/affiliates/commissionPrograms/1/resources', '/v2/reporting/reports/1/model', '/v2/contacts/model/customFields/groups', '/v2/userGroups']) sample.push(...(Object.values((await get(path)) as Rec).find(Array.isArray) as unknown[]));
  assert.ok(sample.length > 40);
  for (const rec of sample) assert.ok(rec !== null && typeof rec === 'object' && !('custom_fields' in rec), JSON.stringify(rec));
  for (const table of ['contacts', 'companies', 'opportunities', 'orders', 'subscriptions', 'tasks', 'notes', 'affiliates']) {
    assert.ok(catalog().tables.get(table)!.columns.some((c) => c.customFieldId !== undefined), `${table} has custom_* columns`);
  }
});

test('pgjdbc (DBeaver\'s navigator) lists the tables added last: description, columns with types and remarks, foreign keys', { skip: javaSkip() }, async () => {
  const names = LAST_TABLES;
  const out = await runJdbcChecks(server.port, 'keap', 'tester', 'metadata', names.join(','));
  const typname: Record<string, string> = { bigint: 'int8', integer: 'int4', numeric: 'numeric', 'double precision': 'float8', boolean: 'bool', text: 'text', date: 'date', timestamptz: 'timestamptz', jsonb: 'jsonb', 'text[]': '_text', 'bigint[]': '_int8' };
  for (const name of names) {
    const t = catalog().tables.get(name)!;
    const v = (check: string): unknown => { const o = out[`${check} ${name}`]; assert.ok(o, `${check} ${name}`); assert.equal(o.error, undefined, `${check} ${name}: ${o.error}`); return o.value; };
    assert.deepEqual(v('getTables'), [[name, t.description]]);
    const columns = v('getColumns') as string[][];
    assert.deepEqual(columns.map((c) => [c[0], c[1], c[4]]), t.columns.map((c) => [c.name, typname[c.type], c.description]), name);
    for (const k of t.primaryKey) assert.equal(columns.find((c) => c[0] === k)![3], '0', `${name}.${k} is not nullable`);
    const imported = (v('getImportedKeys') as string[][]).map((r) => r.join(' ')).sort();
    // a composite key is one row per column pair
    assert.deepEqual(imported, t.foreignKeys.flatMap((fk) => fk.columns.map((c, i) => [fk.references.table, fk.references.columns[i], name, c, `${name}_${fk.columns.join('_')}_fkey`].join(' '))).sort(), name);
  }
});

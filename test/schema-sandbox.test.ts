// Every table of schemas/ read from the sandbox's real HTTP responses (the shapes the Keap reference
// documents), flattened by the row encoder and COPYed into PGlite: paths, types and conversions must
// accept what the API sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { loadCatalog } from '../src/schema/load.js';
import { addColumnsDdl, catalogDdl } from '../src/schema/ddl.js';
import { CopyRowEncoder, copyStatement } from '../src/schema/rows.js';
import { customFieldColumns, withCustomFields } from '../src/schema/custom-fields.js';
import type { Catalog, TableSchema } from '../src/schema/types.js';

let sandbox: Sandbox;
let db: PGlite;
let catalog: Catalog;
let token: string;

before(async () => {
  sandbox = await startSandbox({ contacts: 300, seed: 7, limits: { spikePerSecond: 10_000, perMinute: 100_000 } });
  token = sandbox.issueTokens().access_token;
  db = new PGlite();
});

after(async () => {
  await db?.close();
  await sandbox?.close();
});

/** The body of a GET, or undefined when the sandbox does not serve that endpoint (404). */
async function get(path: string, query: Record<string, string>): Promise<unknown> {
  const url = new URL(sandbox.apiBase + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, `GET ${path}: ${res.status} ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

/** One page of the table's endpoint, asked for the way its schema says (fields, baseFilter, page size). */
function queryFor(table: TableSchema): Record<string, string> {
  const s = table.source;
  const q: Record<string, string> = { ...(s.query ?? {}) };
  if (!s.unpaged) q[s.version === 2 ? 'page_size' : 'limit'] = String(Math.min(300, s.pageSizeMax));
  if (s.fields) q[s.version === 2 ? 'fields' : 'optional_properties'] = s.fields.join(',');
  if (s.baseFilter) q.filter = s.baseFilter.join(';');
  return q;
}

function listOf(table: TableSchema, body: unknown): unknown[] {
  if (body === undefined) return [];
  if (table.source.single) return [typeof body === 'object' && body !== null ? body : { value: body }]; // one record, not a list
  const list = table.source.listKey === null ? body : (body as Record<string, unknown>)[table.source.listKey];
  assert.ok(Array.isArray(list), `${table.name}: no list under ${table.source.listKey}`);
  return list;
}

test('every table loads from the sandbox API into PGlite through its schema', async () => {
  catalog = loadCatalog();
  // Custom fields first: the account's contact fields become typed columns, as when a connection starts.
  const model = await get('/v2/contacts/model', {});
  catalog = withCustomFields(catalog, 'contacts', customFieldColumns(model, 2));
  await db.exec(catalogDdl(catalog));

  const records = new Map<string, unknown[]>();
  const counts = new Map<string, CopyRowEncoder>();
  const tables = [...catalog.tables.values()].sort((a, b) => Number(!!a.source.perParent) - Number(!!b.source.perParent));
  for (const table of tables) {
    const encoder = new CopyRowEncoder(table);
    let text = '';
    const pp = table.source.perParent;
    if (pp) {
      const parentTable = catalog.tables.get(pp.table)!;
      const parentPath = parentTable.columns.find((c) => c.name === pp.column)!.path;
      for (const parent of (records.get(pp.table) ?? []).slice(0, 4)) {
        const key = String(parentPath.split('.').reduce<unknown>((r, k) => (r as Record<string, unknown> | undefined)?.[k], parent));
        const body = await get(table.source.path.replace(`{${pp.param}}`, encodeURIComponent(key)), queryFor(table));
        text += encoder.encode(listOf(table, body), parent);
      }
    } else {
      const list: unknown[] = [];
      for (const path of [table.source.path, ...(table.source.extraPaths ?? [])]) list.push(...listOf(table, await get(path, queryFor(table))));
      records.set(table.name, list);
      text = encoder.encode(list);
    }
    await db.query(copyStatement(table), [], { blob: new Blob([text]) });
    counts.set(table.name, encoder);
  }

  for (const [name, encoder] of counts) {
    assert.equal(encoder.skippedNullKey, 0, `${name}: rows without a primary key`);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public."${name}"`);
    assert.equal(rows[0]!.n, encoder.rowCount, `${name}: loaded row count`);
  }
  // Tables the sandbox fills: each must have rows.
  for (const name of ['contacts', 'contact_email_addresses', 'companies', 'tags', 'tag_categories', 'contact_tags', 'products', 'orders', 'order_items', 'order_payments', 'payments', 'transactions', 'subscriptions', 'opportunities', 'opportunity_stages', 'subscription_plans', 'tasks', 'notes', 'campaigns', 'emails', 'users', 'appointments', 'files', 'custom_fields',
    // added for issue 13 (per-parent ones read only four parents here, which may have no children)
    'account_profile', 'application_configuration', 'automation_categories', 'contact_link_types', 'countries', 'merchant_accounts', 'shipping_methods',
    'product_categories', 'lead_source_categories', 'lead_source_expenses', 'lead_source_recurring_expenses', 'email_templates', 'rest_hooks',
    'opportunity_stage_details', 'user_signatures', 'campaign_goals', 'campaign_sequences', 'affiliate_commission_programs', 'affiliate_redirects',
    'affiliate_summaries', 'affiliate_commissions', 'note_templates', 'webforms', 'reports',
    'free_trial_discounts', 'order_total_discounts', 'product_category_discounts', 'product_discounts', 'shipping_discounts', 'automations', 'product_interest_bundles']) {
    assert.ok(counts.get(name)!.rowCount > 0, `${name} is empty`);
  }
});

test('loaded values are typed and joinable the way the schemas promise', async () => {
  const one = async <T>(sql: string): Promise<T> => (await db.query<T>(sql)).rows[0]!;
  const contacts = await one<{ n: number; with_email: number; with_company: number; with_time: number }>(
    `SELECT count(*)::int AS n, count(email)::int AS with_email, count(company_id)::int AS with_company, count(create_time)::int AS with_time FROM contacts`,
  );
  assert.ok(contacts.with_email > contacts.n / 2, 'primary email from email_addresses[field=EMAIL1]');
  assert.equal(contacts.with_time, contacts.n);
  const joins = await one<{ n: number }>(`SELECT count(*)::int AS n FROM contacts c JOIN companies co ON co.id = c.company_id`);
  assert.ok(contacts.with_company === 0 || joins.n > 0, 'contacts.company_id joins companies.id');
  const items = await one<{ orphans: number; priced: number }>(
    `SELECT count(*) FILTER (WHERE o.id IS NULL)::int AS orphans, count(i.price_per_unit)::int AS priced FROM order_items i LEFT JOIN orders o ON o.id = i.order_id`,
  );
  assert.equal(items.orphans, 0);
  assert.ok(items.priced > 0, 'order item money from CurrencyValue');
  const totals = await one<{ bad: number }>(`SELECT count(*)::int AS bad FROM orders WHERE total < 0 OR total <> round(total, 2)`);
  assert.equal(totals.bad, 0);
  const custom = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_name = 'contacts' AND column_name LIKE 'custom\\_%'`,
  );
  assert.ok(custom.rows.length > 0, 'the sandbox account has contact custom fields');
  const filled = await one<{ n: number }>(
    `SELECT count(*)::int AS n FROM contacts WHERE ${custom.rows.map((r) => `"${r.column_name}" IS NOT NULL`).join(' OR ')}`,
  );
  assert.ok(filled.n > 0, 'custom field values arrive by field id');
  const plans = await one<{ n: number; cycles: number }>(
    `SELECT count(*)::int AS n, count(billing_cycle)::int AS cycles FROM subscription_plans p JOIN products pr ON pr.id = p.product_id`,
  );
  assert.ok(plans.n > 0 && plans.cycles === plans.n, 'plans unnested from products, billing_cycle from either spelling');
  const tags = await one<{ n: number }>(`SELECT count(*)::int AS n FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.applied_time IS NOT NULL`);
  assert.ok(tags.n > 0, 'contact_tags rows carry their tag and applied_time');
});

test('a v2 table\'s v1 count counts the same records as paging the v2 list to the end', async () => {
  const tables = [...catalog.tables.values()].filter((t) => t.source.version === 2 && t.source.count);
  assert.ok(tables.length >= 10);
  for (const table of tables) {
    let total = 0;
    let token: string | undefined;
    do {
      const body = (await get(table.source.path, { ...queryFor(table), page_size: '1000', ...(token ? { page_token: token } : {}) })) as
        | Record<string, unknown>
        | undefined;
      if (body === undefined) break;
      total += listOf(table, body).length;
      token = typeof body.next_page_token === 'string' && body.next_page_token !== '' ? body.next_page_token : undefined;
    } while (token);
    const counted = (await get(table.source.count!.path, { limit: '1' })) as Record<string, unknown> | undefined;
    if (counted === undefined) continue;
    assert.equal(counted[table.source.count!.key], total, `${table.name}: v1 count vs v2 rows`);
  }
});

// A per-parent table read through its parent's listing: contact_tags from contacts.tag_ids costs what a
// contacts scan costs when the statements read no applied_time and pin no tag; otherwise one call per tag
// as before. Answers are the same either way (node-postgres against keapgres over the sandbox).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { readsOnlyColumns } from '../src/planner/column-reads.js';
import { loadParser } from '../src/planner/parse-cache.js';

const CONTACTS = 2500;
let server: TestServer;
// Each test counts its own calls: no shared cache answers a repeat.
before(async () => { server = await startTestServer({ contacts: CONTACTS, config: { sandbox: { seed: 4, contacts: CONTACTS, cache: 'AutoCache=false' } } }); });
after(async () => { await server.stop(); });

function sandbox() {
  assert.ok(server.sandbox);
  return server.sandbox;
}

async function calls(sql: string): Promise<{ rows: unknown[][]; byEndpoint: Record<string, number> }> {
  const c = new pg.Client(server.clientConfig());
  await c.connect();
  try {
    const before = { ...sandbox().stats().byEndpoint };
    const r = await c.query({ text: sql, rowMode: 'array' });
    const after = sandbox().stats().byEndpoint;
    const byEndpoint: Record<string, number> = {};
    for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0 && k.startsWith('GET /v')) byEndpoint[k] = v - (before[k] ?? 0);
    return { rows: r.rows, byEndpoint };
  } finally {
    await c.end();
  }
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const tagCount = () => sandbox().store.tags.size;

test('which statements read only the columns a listing gives, and which may read more', async () => {
  await loadParser();
  const cols = ['contact_id', 'tag_id', 'applied_time', 'email', 'given_name', 'family_name'];
  const allowed = new Set(['contact_id', 'tag_id', 'email', 'given_name', 'family_name']);
  const yes = [
    'SELECT tag_id, count(*) FROM contact_tags GROUP BY 1',
    'SELECT t.name, count(ct.contact_id) FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id GROUP BY 1',
    'EXPLAIN SELECT contact_id FROM public.contact_tags',
    'SELECT count(*) FROM contact_tags',
    'SELECT 1', // does not read the table at all
    'DECLARE c CURSOR FOR SELECT tag_id FROM contact_tags',
  ];
  const no = [
    'SELECT * FROM contact_tags',
    'SELECT ct.* FROM contact_tags ct',
    'SELECT ct FROM contact_tags ct',
    'SELECT row_to_json(contact_tags) FROM contact_tags',
    'SELECT max(applied_time) FROM contact_tags',
    'SELECT tag_id FROM contact_tags WHERE applied_time > now() - interval \'1 day\'',
    'SELECT x.a FROM contact_tags AS x (a, b)',
    'SELECT tag_id FROM contact_tags NATURAL JOIN tags',
    'SELECT tag_id FROM contact_tags JOIN other USING (applied_time)',
    'EXECUTE stored',
    'DO $$ BEGIN PERFORM applied_time FROM contact_tags; END $$',
    'SELECT tag_id FROM contact_tags FOR UPDATE',
    'CREATE TABLE copy AS SELECT tag_id FROM contact_tags',
  ];
  for (const sql of yes) assert.equal(readsOnlyColumns([sql], 'contact_tags', cols, allowed), true, sql);
  for (const sql of no) assert.equal(readsOnlyColumns([sql], 'contact_tags', cols, allowed), false, sql);
  assert.equal(readsOnlyColumns(['SELECT tag_id FROM contact_tags', 'SELECT applied_time FROM contact_tags'], 'contact_tags', cols, allowed), false, 'any statement of the batch');
});

test('a full scan of contact_tags that reads no applied_time costs what the contacts scan costs', async () => {
  const cheap = await calls('SELECT tag_id, count(*) AS n, count(DISTINCT contact_id) FROM contact_tags GROUP BY 1 ORDER BY 1');
  assert.deepEqual(Object.keys(cheap.byEndpoint), ['GET /v2/contacts'], JSON.stringify(cheap.byEndpoint));
  assert.ok(sum(cheap.byEndpoint) <= Math.ceil(CONTACTS / 1000) + 1, JSON.stringify(cheap.byEndpoint));
  // the same answer through the per-tag endpoint (the condition on applied_time reads it)
  const full = await calls('SELECT tag_id, count(*) AS n, count(DISTINCT contact_id) FROM contact_tags WHERE applied_time IS NULL OR applied_time IS NOT NULL GROUP BY 1 ORDER BY 1');
  assert.ok((full.byEndpoint['GET /v2/tags/{tag_id}/contacts'] ?? 0) >= tagCount(), JSON.stringify(full.byEndpoint));
  assert.deepEqual(cheap.rows, full.rows);
  assert.ok(cheap.rows.length > 0);
  // and the names, from either source
  const names = 'SELECT contact_id, tag_id, email, given_name, family_name FROM contact_tags ORDER BY 1, 2';
  const viaContacts = await calls(names);
  const viaTags = await calls(`${names.replace('ORDER BY', 'WHERE applied_time IS NOT NULL OR applied_time IS NULL ORDER BY')}`);
  assert.deepEqual(viaContacts.rows, viaTags.rows);
});

test('applied_time, SELECT * and a pinned tag use the per-tag endpoint; EXPLAIN says which', async () => {
  const star = await calls('SELECT * FROM contact_tags');
  assert.equal(star.byEndpoint['GET /v2/contacts'], undefined, JSON.stringify(star.byEndpoint));
  assert.ok(star.rows.every((r) => r[2] !== null), 'applied_time is there');
  const tagId = (await calls('SELECT min(id) FROM tags')).rows[0]![0];
  const pinned = await calls(`SELECT contact_id FROM contact_tags WHERE tag_id = ${String(tagId)}`);
  assert.deepEqual(pinned.byEndpoint, { 'GET /v2/tags/{tag_id}/contacts': 1 });
  const cheapPlan = await calls('EXPLAIN SELECT tag_id, count(*) FROM contact_tags GROUP BY 1');
  const fullPlan = await calls('EXPLAIN SELECT tag_id, max(applied_time) FROM contact_tags GROUP BY 1');
  assert.deepEqual(cheapPlan.byEndpoint, {});
  assert.match(cheapPlan.rows.map((r) => r[0]).join('\n'), /\/v2\/contacts\b/);
  assert.match(fullPlan.rows.map((r) => r[0]).join('\n'), /\/v2\/tags\/\{tag_id\}\/contacts/);
});

test('one session: rows read through contacts, then a statement that needs applied_time gets it', async () => {
  const c = new pg.Client(server.clientConfig());
  await c.connect();
  try {
    const a = await c.query('SELECT count(*)::int AS n FROM contact_tags');
    const b = await c.query('SELECT count(*)::int AS n, count(applied_time)::int AS applied FROM contact_tags');
    assert.equal(a.rows[0].n, b.rows[0].n);
    assert.equal(b.rows[0].applied, b.rows[0].n);
    const again = await c.query('SELECT count(*)::int AS n FROM contact_tags WHERE tag_id > 0');
    assert.equal(again.rows[0].n, a.rows[0].n);
  } finally {
    await c.end();
  }
});

// order_payments: no order listing carries payments, but the payments listing carries each payment's order_ids.
test('a full scan of order_payments that reads only order_id, payment_id and pay_time costs what the payments scan costs, and no more than the orders scan', async () => {
  const orders = await calls('SELECT id FROM orders');
  const cheap = await calls('SELECT order_id, payment_id, pay_time FROM order_payments ORDER BY 1, 2');
  assert.deepEqual(Object.keys(cheap.byEndpoint), ['GET /v2/sales/payments'], JSON.stringify(cheap.byEndpoint));
  assert.ok(sum(cheap.byEndpoint) <= sum(orders.byEndpoint), `${JSON.stringify(cheap.byEndpoint)} against ${JSON.stringify(orders.byEndpoint)}`);
  // exactly the sandbox's invoice payments
  const expected = [...sandbox().store.scanPayments()].map((p) => [String(p.orderId), String(p.id), new Date(p.paidAt).toISOString()])
    .sort((a, b) => Number(a[0]) - Number(b[0]) || Number(a[1]) - Number(b[1]));
  assert.ok(expected.length > 0);
  assert.deepEqual(cheap.rows.map((r) => [String(r[0]), String(r[1]), (r[2] as Date).toISOString()]), expected);
});

test('order_payments: a pinned order or a column only the per-order endpoint gives uses it, with the same rows', async () => {
  const some = [...sandbox().store.scanPayments()].slice(0, 6).map((p) => p.orderId);
  const list = [...new Set(some)].join(', ');
  const pinned = await calls(`SELECT order_id, payment_id, pay_time FROM order_payments WHERE order_id IN (${list}) ORDER BY 1, 2`);
  assert.deepEqual(Object.keys(pinned.byEndpoint), ['GET /v2/orders/{order_id}/payments'], JSON.stringify(pinned.byEndpoint));
  assert.equal(pinned.byEndpoint['GET /v2/orders/{order_id}/payments'], new Set(some).size);
  const cheap = await calls(`SELECT order_id, payment_id, pay_time FROM order_payments ORDER BY 1, 2`);
  assert.deepEqual(pinned.rows, cheap.rows.filter((r) => some.includes(Number(r[0]))));
  const amounts = await calls(`SELECT order_id, sum(amount) FROM order_payments WHERE order_id IN (${list}) GROUP BY 1 ORDER BY 1`);
  assert.equal(amounts.byEndpoint['GET /v2/sales/payments'], undefined);
  const plan = await calls('EXPLAIN SELECT order_id, count(*) FROM order_payments GROUP BY 1');
  assert.match(plan.rows.map((r) => r[0]).join('\n'), /\/v2\/sales\/payments/);
  const star = await calls('EXPLAIN SELECT * FROM order_payments');
  assert.match(star.rows.map((r) => r[0]).join('\n'), /\/v2\/orders\/\{order_id\}\/payments/);
});

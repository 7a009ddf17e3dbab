// Keap tables through keapgres, end to end: node-postgres → keapgres → planner/connector → sandbox.
// Every table returns what the sandbox serves; pushdown saves calls without changing any result.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';
import type { TableSchema } from '../src/schema/types.js';

let server: TestServer;
// These tests count what reaches Keap for each query: the shared cache would answer repeats itself.
before(async () => { server = await startTestServer({ contacts: 150, config: { sandbox: { seed: 1, contacts: 150, cache: 'AutoCache=false' } } }); });
after(async () => { await server.stop(); });

async function client(): Promise<pg.Client> {
  const c = new pg.Client(server.clientConfig());
  await c.connect();
  return c;
}

function sandbox() {
  const s = server.sandbox;
  assert.ok(s, 'the test server runs the sandbox');
  return s;
}

/** API calls made to list endpoints while fn runs. */
async function callsDuring(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = { ...sandbox().stats().byEndpoint };
  await fn();
  const after = sandbox().stats().byEndpoint;
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0 && k.startsWith('GET /v')) delta[k] = d;
  }
  return delta;
}

const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

let referenceBearer: string | undefined;

/** Pages through a table's endpoint with plain HTTP: the sandbox's own answer, independent of keapgres. */
async function referenceRecords(table: TableSchema): Promise<unknown[]> {
  const sb = sandbox();
  // as an OAuth app (25 a second, 1,500 a minute), not with a personal access token's 10 a second and 240 a minute
  referenceBearer ??= sb.issueTokens({ expiresInSeconds: 3600 }).access_token;
  const headers = { Authorization: `Bearer ${referenceBearer}` };
  const catalog = server.databases.get('keap')!.catalog;
  // The sandbox throttles like Keap: wait out a 429 as any client must.
  async function get(url: string): Promise<unknown> {
    for (;;) {
      const res = await fetch(url, { headers });
      if (res.status === 429) {
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      assert.equal(res.status, 200, url);
      return res.json();
    }
  }
  async function list(path: string, src: TableSchema['source']): Promise<unknown[]> {
    const out: unknown[] = [];
    const q = new URLSearchParams(src.query ?? {});
    if (src.fields?.length) q.set(src.version === 2 ? 'fields' : 'optional_properties', src.fields.join(','));
    if (src.baseFilter?.length) q.set('filter', src.baseFilter.join(';'));
    if (src.single) {
      const body = await get(`${sb.apiBase}${path}?${q}`);
      return body === null || body === '' ? [] : [body]; // one record, not a list
    }
    if (src.unpaged) {
      const body = (await get(`${sb.apiBase}${path}?${q}`)) as Record<string, unknown> | unknown[];
      return (Array.isArray(body) ? body : body[src.listKey!]) as unknown[];
    }
    if (src.version === 2) {
      let token = '';
      do {
        const p = new URLSearchParams(q);
        p.set('page_size', String(src.pageSizeMax));
        if (token) p.set('page_token', token);
        const body = (await get(`${sb.apiBase}${path}?${p}`)) as Record<string, unknown>;
        out.push(...((src.listKey ? body[src.listKey] : body) as unknown[]));
        token = String(body.next_page_token ?? '');
      } while (token);
    } else {
      for (let offset = 0; ; offset += 1000) {
        const p = new URLSearchParams(q);
        p.set('limit', '1000');
        p.set('offset', String(offset));
        const body = (await get(`${sb.apiBase}${path}?${p}`)) as Record<string, unknown> | unknown[];
        const page = (Array.isArray(body) ? body : body[src.listKey!]) as unknown[];
        out.push(...page);
        if (page.length < 1000 || src.unpaged) break;
      }
    }
    return out;
  }
  const src = table.source;
  if (src.perParent) {
    const parent = catalog.tables.get(src.perParent.table)!;
    const parents = await referenceRecords(parent);
    const parentPath = parent.columns.find((c) => c.name === src.perParent!.column)!.path;
    const out: unknown[] = [];
    for (const p of parents) {
      const id = parentPath.split('.').reduce<unknown>((r, k) => (r as Record<string, unknown> | undefined)?.[k], p);
      out.push(...(await list(src.path.replace(`{${src.perParent.param}}`, String(id)), src)));
    }
    return out;
  }
  const records = await list(src.path, src);
  for (const extra of src.extraPaths ?? []) records.push(...(await list(extra, src)));
  if (!src.unnest) return records;
  return records.flatMap((r) => ((r as Record<string, unknown>)[src.unnest!] as unknown[] | undefined) ?? []);
}

test('every Keap table answers SELECT * with as many rows as the sandbox serves', async () => {
  const c = await client();
  try {
    const catalog = server.databases.get('keap')!.catalog;
    for (const table of catalog.tables.values()) {
      if (table.name === 'lead_sources') continue; // the sandbox has no lead sources endpoint
      const expected = await referenceRecords(table).catch((e) => { throw new Error(`reference for ${table.name}: ${e.message}`); });
      const r = await c.query(`SELECT * FROM ${table.name}`);
      assert.equal(r.rowCount, expected.length, `rows of ${table.name}`);
    }
  } finally {
    await c.end();
  }
});

test('contacts carry exactly the values the API returns', async () => {
  const c = await client();
  try {
    const catalog = server.databases.get('keap')!.catalog;
    const api = (await referenceRecords(catalog.tables.get('contacts')!)) as Array<Record<string, unknown>>;
    const r = await c.query('SELECT id, given_name, family_name, create_time FROM contacts ORDER BY id');
    assert.equal(r.rows.length, api.length);
    const byId = new Map(api.map((a) => [String(a.id), a]));
    for (const row of r.rows) {
      const a = byId.get(String(row.id));
      assert.ok(a, `contact ${row.id} exists in the API`);
      assert.equal(row.given_name, a.given_name ?? null);
      assert.equal(row.family_name, a.family_name ?? null);
      assert.equal((row.create_time as Date).getTime(), Date.parse(String(a.create_time)));
    }
  } finally {
    await c.end();
  }
});

test('WHERE email = … is one API call, and the same result as from every row', async () => {
  const c = await client();
  try {
    const any = await referenceRecords(server.databases.get('keap')!.catalog.tables.get('contact_email_addresses')!);
    const email = String((any[7] as Record<string, unknown>).email);
    let pushed: pg.QueryResult | undefined;
    const calls = await callsDuring(async () => {
      pushed = await c.query('SELECT id, email FROM contacts WHERE email = $1', [email]);
    });
    assert.equal(total(calls), 1, JSON.stringify(calls));
    assert.ok(pushed!.rowCount! >= 1);
    await c.query('SELECT count(*) FROM contacts'); // now every contact is loaded
    const full = await c.query('SELECT id, email FROM contacts WHERE email = $1', [email]);
    assert.deepEqual(pushed!.rows, full.rows);
  } finally {
    await c.end();
  }
});

test('WHERE id IN (…) is one API call; LIMIT 10 in id order is one call', async () => {
  const c = await client();
  try {
    let r: pg.QueryResult | undefined;
    const calls = await callsDuring(async () => {
      r = await c.query('SELECT id FROM contacts WHERE id IN (3, 5, 8, 13) ORDER BY id');
    });
    assert.equal(total(calls), 1, JSON.stringify(calls));
    assert.deepEqual(r!.rows.map((x) => Number(x.id)), [3, 5, 8, 13]);

    const c2 = await client();
    try {
      const limitCalls = await callsDuring(async () => {
        r = await c2.query('SELECT id, given_name FROM contacts ORDER BY id LIMIT 10');
      });
      assert.equal(total(limitCalls), 1, JSON.stringify(limitCalls));
      assert.deepEqual(r!.rows.map((x) => Number(x.id)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    } finally {
      await c2.end();
    }
  } finally {
    await c.end();
  }
});

test('a fresh fetch is not repeated within the session', async () => {
  const c = await client();
  try {
    await c.query('SELECT id FROM tags');
    const calls = await callsDuring(() => c.query('SELECT name FROM tags ORDER BY id'));
    assert.equal(total(calls), 0, JSON.stringify(calls));
  } finally {
    await c.end();
  }
});

test('hostile values in conditions return exactly what full evaluation returns', async () => {
  const values = ["a;b", 'x==y', 'pre*', "O'Brien", '"quoted"', 'ünïcødé ✓', 'z'.repeat(5000), "%';--", 'a,b,c', ' padded '];
  const c = await client();
  const full = await client();
  try {
    await full.query('SELECT count(*) FROM contacts');
    for (const v of values) {
      for (const sql of [
        'SELECT id FROM contacts WHERE email = $1 ORDER BY id',
        'SELECT id FROM contacts WHERE given_name = $1 ORDER BY id',
        "SELECT id FROM contacts WHERE family_name LIKE $1 || '%' ORDER BY id",
      ]) {
        const a = await c.query(sql, [v]);
        const b = await full.query(sql, [v]);
        assert.deepEqual(a.rows, b.rows, `${sql} with ${JSON.stringify(v.slice(0, 20))}`);
      }
    }
    const obrien = await c.query("SELECT count(*)::int AS n FROM contacts WHERE family_name LIKE 'O''Br%'");
    const obrienFull = await full.query("SELECT count(*)::int AS n FROM contacts WHERE family_name LIKE 'O''Br%'");
    assert.equal(obrien.rows[0].n, obrienFull.rows[0].n);
  } finally {
    await c.end();
    await full.end();
  }
});

test('a join across five tables gives the answer the full tables give', async () => {
  const sql = `SELECT p.name AS product, co.company_name, count(*)::int AS lines, sum(oi.quantity)::int AS qty
    FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id
    JOIN contacts c ON c.id = o.contact_id LEFT JOIN companies co ON co.id = c.company_id
    WHERE o.contact_id < 200 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 20`;
  const c = await client();
  const full = await client();
  try {
    const a = await c.query(sql);
    assert.ok(a.rows.length > 0);
    for (const t of ['orders', 'order_items', 'products', 'contacts', 'companies']) await full.query(`SELECT count(*) FROM ${t}`);
    const b = await full.query(sql);
    assert.deepEqual(a.rows, b.rows);
  } finally {
    await c.end();
    await full.end();
  }
});

test('writes Keap does not take are refused with 0A000 and scratch tables stay writable', async () => {
  const c = await client();
  try {
    for (const sql of ['INSERT INTO users (id) VALUES (1)', 'UPDATE campaigns SET name = 1', 'DELETE FROM payments', 'TRUNCATE notes', 'ALTER TABLE users ADD COLUMN x int', 'DROP TABLE products']) {
      await assert.rejects(c.query(sql), (e: { code?: string; message: string }) => e.code === '0A000' && /read-only/.test(e.message), sql);
    }
    await c.query('CREATE TEMP TABLE mine AS SELECT id, given_name FROM contacts WHERE id <= 5');
    await c.query("UPDATE mine SET given_name = 'x'");
    assert.equal((await c.query("SELECT count(*)::int AS n FROM mine WHERE given_name = 'x'")).rows[0].n, 5);
  } finally {
    await c.end();
  }
});

test('bursts of 5xx and a 429 storm leave results complete and correct', async () => {
  const c = await client();
  const expected = (await referenceRecords(server.databases.get('keap')!.catalog.tables.get('tasks')!)).length;
  try {
    sandbox().setFaults({ failNext: { count: 4, status: 503 } });
    assert.equal((await c.query('SELECT count(*)::int AS n FROM tasks')).rows[0].n, expected);
    const c2 = await client();
    try {
      sandbox().setFaults({ failNext: { count: 5, status: 429 } });
      assert.equal((await c2.query('SELECT count(*)::int AS n FROM tasks')).rows[0].n, expected);
    } finally {
      await c2.end();
    }
  } finally {
    sandbox().setFaults({ failNext: null as never, errorRate: 0 });
    await c.end();
  }
});

test('custom fields appear as typed columns with their labels as comments', async () => {
  const c = await client();
  try {
    const r = await c.query(`SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, col_description(a.attrelid, a.attnum) AS label
      FROM pg_attribute a WHERE a.attrelid = 'public.contacts'::regclass AND a.attname LIKE 'custom\\_%' AND NOT a.attisdropped ORDER BY a.attnum`);
    assert.ok(r.rows.length >= 5, 'contacts have custom field columns');
    const types = new Set(r.rows.map((x) => x.type));
    for (const t of ['text', 'numeric', 'date']) assert.ok(types.has(t), `a ${t} custom field: ${[...types].join(', ')}`);
    assert.ok(r.rows.every((x) => typeof x.label === 'string' && x.label.length > 0));
    const some = r.rows.find((x) => x.type === 'numeric')!.attname as string;
    const v = await c.query(`SELECT count(${some})::int AS n FROM contacts`);
    assert.ok(v.rows[0].n > 0, `${some} has values`);
  } finally {
    await c.end();
  }
});

test('keapgres_refresh_schema() picks up a custom field created in Keap meanwhile', async () => {
  const c = await client();
  try {
    const defs = sandbox().store.customFields('CONTACT');
    const before = await c.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'contacts' AND column_name = 'custom_loyalty_tier'`);
    assert.equal(before.rows[0].n, 0);
    // A field added in Keap's UI after keapgres started.
    defs.push({ id: 9901, label: 'Loyalty tier', fieldName: 'LoyaltyTier', type: 'TEXT' as never, recordType: 'CONTACT' as never, options: [], defaultValue: null, groupId: 1 });
    const r = await c.query('SELECT keapgres_refresh_schema() AS result');
    assert.match(r.rows[0].result, /re-read/);
    const after = await c.query(`SELECT data_type, col_description('public.contacts'::regclass, ordinal_position::int) AS label
      FROM information_schema.columns WHERE table_name = 'contacts' AND column_name = 'custom_loyalty_tier'`);
    assert.equal(after.rows.length, 1);
    assert.equal(after.rows[0].data_type, 'text');
    assert.match(after.rows[0].label, /^Loyalty tier/);
    const rows = await c.query('SELECT count(*)::int AS n, count(custom_loyalty_tier)::int AS filled FROM contacts');
    assert.equal(rows.rows[0].n, sandbox().store.contacts.size);
    // New sessions have the column from the start.
    const c2 = await client();
    try {
      const n = await c2.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'contacts' AND column_name = 'custom_loyalty_tier'`);
      assert.equal(n.rows[0].n, 1);
    } finally {
      await c2.end();
    }
  } finally {
    await c.end();
  }
});

test('a read-only transaction reads one Keap table after another, and stays read-only', async () => {
  const c = await client();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const contacts = await c.query('SELECT count(*)::int AS n FROM contacts');
    const tags = await c.query('SELECT count(*)::int AS n FROM tags'); // needs rows after the first query
    const mode = await c.query(`SELECT current_setting('transaction_read_only') AS ro, current_setting('transaction_isolation') AS iso`);
    assert.deepEqual(mode.rows[0], { ro: 'on', iso: 'repeatable read' });
    await assert.rejects(c.query('CREATE TABLE nope (a int)'), (e: { code?: string }) => e.code === '25006');
    await c.query('ROLLBACK');
    assert.equal(contacts.rows[0].n, sandbox().store.contacts.size);
    assert.equal(tags.rows[0].n, sandbox().store.tags.size);
  } finally {
    await c.end();
  }
});

test('a read-only transaction holding an open cursor reads another Keap table and keeps the cursor', async () => {
  const c = await client();
  try {
    await c.query('BEGIN READ ONLY');
    await c.query('DECLARE cur CURSOR FOR SELECT id FROM contacts ORDER BY id');
    const first = await c.query('FETCH 2 FROM cur');
    const notes = await c.query('SELECT count(id)::int AS n FROM notes');
    assert.equal(notes.rows[0].n, sandbox().store.notes.size);
    const next = await c.query('FETCH 1 FROM cur');
    assert.ok(Number(next.rows[0].id) > Number(first.rows[1].id));
    await c.query('ROLLBACK');
    assert.ok((await c.query('SELECT count(id)::int AS n FROM notes')).rows[0].n > 0);
  } finally {
    await c.end();
  }
});

test('an engine handed to the next session holds none of the previous session\'s rows, tables or settings', async () => {
  for (let round = 0; round < 3; round++) {
    const c = await client();
    try {
      const state = await c.query(`SELECT pg_relation_size('public.contacts') AS size,
        (SELECT count(*)::int FROM pg_class WHERE relname = 'leftover') AS leftover,
        (SELECT count(*)::int FROM pg_prepared_statements) AS prepared,
        current_setting('work_mem') AS work_mem`);
      assert.deepEqual(state.rows[0], { size: '0', leftover: 0, prepared: 0, work_mem: '8MB' }, `round ${round}`);
      await c.query('SELECT count(*) FROM contacts');
      await c.query('CREATE TEMP TABLE leftover (a int)');
      await c.query("SET work_mem = '1MB'");
      await c.query({ name: 'kept', text: 'SELECT 1' });
    } finally {
      await c.end();
    }
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('SELECT count(*) on a table Keap can count is one API call and the right number', async () => {
  const c = await client();
  try {
    let r: pg.QueryResult | undefined;
    const calls = await callsDuring(async () => { r = await c.query('SELECT count(*) FROM orders'); });
    assert.equal(total(calls), 1, JSON.stringify(calls));
    assert.deepEqual(r!.fields.map((f) => [f.name, f.dataTypeID]), [['count', 20]]);
    assert.equal(Number(r!.rows[0].count), sandbox().store.orders.size);
    const aliased = await c.query('SELECT count(*) AS n FROM orders');
    assert.equal(Number(aliased.rows[0].n), sandbox().store.orders.size);
    // the same count through the engine over every row
    await c.query('SELECT id FROM orders');
    const viaEngine = await c.query('SELECT count(id) AS n FROM orders');
    assert.equal(Number(viaEngine.rows[0].n), sandbox().store.orders.size);
  } finally {
    await c.end();
  }
});

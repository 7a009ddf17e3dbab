// CacheConnection: the shared cache's entries live in a real PostgreSQL, so a table one instance fetched
// serves every instance, a stale entry is synchronised by one instance for all, and a write through one
// instance is read through another without fetching the table again. When that PostgreSQL goes away,
// what needs it fails clearly and the rest goes on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { request } from 'undici';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { findPostgresBin, startPostgres, type ThrowawayPostgres } from './support/postgres.js';

const skip = findPostgresBin() === undefined && !process.env.CI ? 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql' : false;

const TOLERANCE_S = 120;
let sandbox: Sandbox;
let postgres: ThrowawayPostgres;
let a: TestServer;
let b: TestServer;
let c: TestServer;
let cacheConnection: string;

function connection(refreshToken: string): string {
  return `AuthScheme=OAuth;InitiateOAuth=REFRESH;OAuthClientId=${sandbox.clientId};OAuthClientSecret=${sandbox.clientSecret};`
    + `OAuthRefreshToken=${refreshToken};URL=${sandbox.apiBase};OAuthAccessTokenURL=${sandbox.tokenUrl};OAuthSettingsLocation=memory://unused;`
    + `CacheTolerance=${TOLERANCE_S};CacheConnection=${cacheConnection}`;
}

before(async () => {
  if (skip) return;
  [sandbox, postgres] = await Promise.all([startSandbox({ port: 0, contacts: 1500, limits: { spikePerSecond: 10_000, perMinute: 100_000 } }), startPostgres()]);
  cacheConnection = `postgresql://${postgres.user}@${postgres.host}:${postgres.port}/${postgres.database}`;
  const { refresh_token } = sandbox.issueTokens({ expiresInSeconds: 3600 });
  [a, b, c] = await Promise.all([0, 1, 2].map(() => startTestServer({ config: { databases: { keap: connection(refresh_token) } } })));
});
after(async () => {
  await Promise.all([a, b, c].map((s) => s?.stop()));
  await sandbox?.close();
  await postgres?.stop();
});

const CARD = 'SELECT owner_id, count(*)::int AS n, min(email) AS first_email, max(family_name) AS last_name FROM contacts GROUP BY 1 ORDER BY 1';

async function onShared(sql: string): Promise<pg.QueryResultRow[]> {
  const db = new pg.Client(postgres.clientConfig());
  await db.connect();
  try {
    return (await db.query(sql)).rows;
  } finally {
    await db.end();
  }
}

function listCalls(): number {
  const s = sandbox.stats().byEndpoint;
  return Object.entries(s).filter(([k]) => k.startsWith('GET ')).reduce((n, [, v]) => n + v, 0);
}

async function keap(method: string, pathname: string, body?: unknown): Promise<number> {
  const res = await request(`${sandbox.apiBase}${pathname}`, {
    method: method as 'PATCH', headers: { 'content-type': 'application/json', 'x-keap-api-key': sandbox.personalAccessToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.body.dump();
  return res.statusCode;
}

test('a table fetched through instance A is served by B and C with no Keap call, and the same answer', { skip }, async () => {
  sandbox.resetStats();
  const first = await a.rows(CARD);
  assert.ok(listCalls() > 0);
  sandbox.resetStats();
  const [fromB, fromC] = await Promise.all([b.rows(CARD), c.rows(CARD)]);
  assert.equal(listCalls(), 0, JSON.stringify(sandbox.stats().byEndpoint));
  assert.deepEqual(fromB, first);
  assert.deepEqual(fromC, first);
  const rows = await onShared(`SELECT e.table_name, count(r.*)::int AS n FROM keapgres.cache_entries e JOIN keapgres.cache_rows r ON r.entry = e.id AND r.line IS NOT NULL WHERE e.table_name = 'contacts' GROUP BY 1`);
  assert.deepEqual(rows, [{ table_name: 'contacts', n: 1500 }]);
});

test('a filtered query on another instance is answered by the whole table one instance stored, with no Keap call', { skip }, async () => {
  const all = await a.rows<{ id: string; name: string; category_id: string | null }>('SELECT id, name, category_id FROM tags ORDER BY id');
  sandbox.resetStats();
  const some = await b.rows('SELECT id, name, category_id FROM tags WHERE category_id = 3 ORDER BY id');
  assert.equal(listCalls(), 0, JSON.stringify(sandbox.stats().byEndpoint));
  assert.deepEqual(some, all.filter((t) => t.category_id === '3'));
  assert.ok(some.length > 0);
});

test('EXPLAIN in an instance that holds nothing says the shared cache is read first; EXPLAIN ANALYZE shows no call', { skip }, async () => {
  await a.rows('SELECT count(*) FROM (SELECT * FROM campaigns) c');
  const plan = (await c.rows<{ 'QUERY PLAN': string }>('EXPLAIN SELECT name FROM campaigns')).map((r) => r['QUERY PLAN']).join('\n');
  assert.match(plan, /miss here: from the shared cache \(CacheConnection\), else a full fetch by one instance/);
  sandbox.resetStats();
  const analyzed = (await c.rows<{ 'QUERY PLAN': string }>('EXPLAIN ANALYZE SELECT name FROM campaigns')).map((r) => r['QUERY PLAN']).join('\n');
  assert.match(analyzed, /Keap calls: 0 /);
  assert.equal(listCalls(), 0);
});

test('a stale entry is synchronised by one instance for all three, by changes, and every instance sees the change', { skip }, async () => {
  await a.rows(CARD);
  assert.equal(await keap('PATCH', '/v2/contacts/7', { family_name: 'Zzyzx-shared' }), 200);
  // the tolerance passes (for the stored entry, which every instance's copy follows)
  await onShared(`UPDATE keapgres.cache_entries SET synced_at = synced_at - make_interval(secs => ${TOLERANCE_S + 1}) WHERE table_name = 'contacts'`);
  sandbox.resetStats();
  const answers = await Promise.all([a, b, c].flatMap((s) => [s.rows(CARD), s.rows<{ id: string; family_name: string }>('SELECT id, family_name FROM contacts WHERE id BETWEEN 6 AND 8 ORDER BY id')]));
  const byEndpoint = sandbox.stats().byEndpoint;
  // one synchronisation by changes: the changed records and Keap's count, not three or six
  assert.ok(listCalls() <= 2, JSON.stringify(byEndpoint));
  for (const rows of answers.filter((_, i) => i % 2 === 1)) assert.equal(rows[1]!.family_name, 'Zzyzx-shared', 'the change is seen everywhere');
  for (let i = 2; i < answers.length; i++) assert.deepEqual(answers[i], answers[i % 2]);
});

test('a write through instance A is read through B and C without fetching the table again', { skip }, async () => {
  await Promise.all([a, b, c].map((s) => s.rows(CARD)));
  sandbox.resetStats();
  await a.withClient((cl) => cl.query(`UPDATE contacts SET family_name = 'Written-through-A' WHERE id = 11`));
  const seen = await Promise.all([b, c].map((s) => s.rows<{ family_name: string }>('SELECT family_name FROM contacts WHERE id = 11')));
  assert.deepEqual(seen, [[{ family_name: 'Written-through-A' }], [{ family_name: 'Written-through-A' }]]);
  const gets = Object.entries(sandbox.stats().byEndpoint).filter(([k]) => k.startsWith('GET /v2/contacts') && !k.includes('{'));
  assert.deepEqual(gets, [], 'no listing of contacts');
});

test('the shared PostgreSQL goes away: a query that needs it fails clearly, cached tables and plain queries still answer', { skip }, async () => {
  await b.rows(CARD);
  await postgres.stop();
  // within the tolerance, B's own copy answers
  const cached = await b.rows(CARD);
  assert.ok(cached.length > 0);
  assert.deepEqual(await c.rows('SELECT 1 AS one'), [{ one: 1 }]);
  // a table nobody fetched needs the shared cache (and the shared request rate) to be fetched
  const err = await c.withClient((cl) => cl.query('SELECT count(*) FROM (SELECT * FROM products) p').then(() => undefined, (e: pg.DatabaseError) => e));
  assert.ok(err, 'the query failed');
  assert.equal(err.code, '08006');
  assert.match(err.message, /CacheConnection/);
  // and the session is still usable
  await c.withClient(async (cl) => {
    await cl.query('SELECT count(*) FROM products').catch(() => undefined);
    assert.deepEqual((await cl.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
  });
});

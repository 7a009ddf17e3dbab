// The shared cache (issue 10): sessions of one database share what any of them fetched; entries stay fresh
// by Keap's changes; EXPLAIN names the planned requests. Every answer is compared with the uncached one
// (database "truth", AutoCache=false, same sandbox), and every call is counted by the sandbox itself.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { javaSkip, runJdbcChecks } from './support/java.js';

const CONTACTS = 2500;
let server: TestServer;
let cacheDir: string;

before(async () => {
  cacheDir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-cache-test-'));
  server = await startTestServer({
    contacts: CONTACTS,
    config: {
      databases: {
        keap: `sandbox;CacheTolerance=600;CacheLocation=${cacheDir}/a`,
        fresh: `sandbox;CacheTolerance=1;CacheLocation=${cacheDir}/b`,
        truth: 'sandbox;AutoCache=false',
      },
    },
  });
});
after(async () => server?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(database: string, sql: string): Promise<T[]> {
  return server.withClient(async (c) => (await c.query<T>(sql)).rows, { database });
}

/** Keap API calls since the last reset, by endpoint (the sandbox's own count). */
function calls(): Record<string, number> {
  return server.sandbox!.stats().byEndpoint;
}
function totalCalls(): number {
  return Object.values(calls()).reduce((a, b) => a + b, 0);
}

async function keap(method: string, pathname: string, body?: unknown): Promise<number> {
  const res = await request(`${server.sandbox!.apiBase}${pathname}`, {
    method: method as 'PATCH', headers: { 'content-type': 'application/json', 'x-keap-api-key': server.sandbox!.personalAccessToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.body.dump();
  return res.statusCode;
}

const CARD = 'SELECT owner_id, count(*)::int AS n, min(id)::text AS first, max(given_name) AS g FROM contacts GROUP BY 1 ORDER BY 1';
const ALL = 'SELECT id, given_name, family_name, email, update_time FROM contacts ORDER BY id';

test('a second session within the tolerance makes no Keap call and answers as an uncached session does', async () => {
  const expected = await query('truth', CARD);
  server.sandbox!.resetStats();
  assert.deepEqual(await query('keap', CARD), expected);
  assert.ok(totalCalls() > 0, 'the first session fetched');
  for (let i = 0; i < 3; i++) {
    server.sandbox!.resetStats();
    assert.deepEqual(await query('keap', CARD), expected, `session ${i + 2}`);
    assert.deepEqual(calls(), {}, `session ${i + 2} made no call`);
  }
  // another question over the same table, and a lookup by id, are answered by the same entry
  server.sandbox!.resetStats();
  assert.deepEqual(await query('keap', "SELECT count(*)::int AS n FROM contacts WHERE given_name LIKE 'A%'"), await query('truth', "SELECT count(*)::int AS n FROM contacts WHERE given_name LIKE 'A%'"));
  server.sandbox!.resetStats();
  assert.deepEqual(await query('keap', 'SELECT id, email FROM contacts WHERE id IN (5, 17)'), await query('truth', 'SELECT id, email FROM contacts WHERE id IN (5, 17)'));
});

test('ten concurrent sessions on a cold table cause one fetch, and each gets every row', async () => {
  const sql = 'SELECT id, company_name FROM companies ORDER BY id';
  server.sandbox!.resetStats();
  const expected = await query('truth', sql);
  const single = calls()['GET /v2/companies'] ?? 0;
  assert.ok(single > 0);
  server.sandbox!.resetStats();
  const answers = await Promise.all(Array.from({ length: 10 }, () => query('keap', sql)));
  for (const a of answers) assert.deepEqual(a, expected);
  assert.equal(calls()['GET /v2/companies'], single, 'the ten sessions shared one fetch');
});

test('ten concurrent plain scans on a cold table share one fetch and still stream', async () => {
  const sql = 'SELECT id, title FROM notes';
  const expected = (await query('truth', sql)).sort((a, b) => Number(a.id) - Number(b.id));
  server.sandbox!.resetStats();
  await query('truth', sql);
  const single = calls()['GET /v2/notes'] ?? 0;
  server.sandbox!.resetStats();
  const answers = await Promise.all(Array.from({ length: 10 }, () => query('keap', sql)));
  for (const a of answers) assert.deepEqual(a.sort((x, y) => Number(x.id) - Number(y.id)), expected);
  assert.equal(calls()['GET /v2/notes'], single);
});

test('after the tolerance, edits, creations and deletions arrive by changes: a few calls, not the whole table', async () => {
  assert.deepEqual(await query('fresh', ALL), await query('truth', ALL));
  // Keap's changes: three edits, two deletions, one new contact
  for (const id of [3, 1200, 2400]) assert.equal(await keap('PATCH', `/v2/contacts/${id}`, { given_name: `Edited${id}` }), 200);
  for (const id of [10, 2000]) assert.equal(await keap('DELETE', `/v2/contacts/${id}`), 204);
  assert.equal(await keap('POST', '/v2/contacts', { given_name: 'New', family_name: 'Person', email_addresses: [{ email: 'new.person@example.com', field: 'EMAIL1' }] }), 201);
  await sleep(1100);
  server.sandbox!.resetStats();
  const cached = await query('fresh', ALL);
  const byEndpoint = calls();
  const expected = await query('truth', ALL);
  assert.deepEqual(cached, expected);
  assert.ok(cached.some((r) => r.given_name === 'Edited1200'));
  assert.ok(!cached.some((r) => r.id === '10'));
  assert.ok(cached.some((r) => r.email === 'new.person@example.com'));
  // the changes (one page), the count, and — deletions noticed — one sweep of ids (three pages)
  const contactsCalls = byEndpoint['GET /v2/contacts'] ?? 0;
  // one count, and one more that the sweep's id ranges ask for to know where the ids end
  assert.ok((byEndpoint['GET /v1/contacts'] ?? 0) <= 2, `counts: ${byEndpoint['GET /v1/contacts']}`);
  assert.ok(contactsCalls <= 1 + Math.ceil(CONTACTS / 1000) + 1, `changes and sweep: ${contactsCalls} calls`);
  // edits alone: no sweep
  assert.equal(await keap('PATCH', '/v2/contacts/7', { family_name: 'Changed' }), 200);
  await sleep(1100);
  server.sandbox!.resetStats();
  const again = await query('fresh', ALL);
  const second = calls();
  assert.deepEqual(again, await query('truth', ALL));
  assert.equal(second['GET /v2/contacts'], 1, 'one page of changes');
  assert.equal(second['GET /v1/contacts'], 1, 'one count');
});

test('an engine handed to the next session keeps the table and catches up by the changed rows', async () => {
  const sql = "SELECT id, given_name FROM contacts WHERE id < 50 ORDER BY id";
  await query('fresh', ALL);
  assert.equal(await keap('PATCH', '/v2/contacts/9', { given_name: 'CaughtUp' }), 200);
  await sleep(1100);
  const rows = await query('fresh', sql);
  assert.equal(rows.find((r) => r.id === '9')?.given_name, 'CaughtUp');
  assert.deepEqual(rows, await query('truth', sql));
});

test('a refresh that fails leaves the entry intact: the query fails clearly, the next one is answered', async () => {
  const sql = 'SELECT id, name FROM tags ORDER BY id';
  const expected = await query('fresh', sql);
  await sleep(1100);
  server.sandbox!.setFaults({ failNext: { count: 50, status: 503 } });
  try {
    await assert.rejects(query('fresh', sql), (err: { code?: string }) => err.code === '58000' || err.code === '08006' || /5\d\d|unavailable/i.test(String(err)));
  } finally {
    server.sandbox!.setFaults({ failNext: { count: 0, status: 503 } });
  }
  const entries = await query('fresh', `SELECT rows::int FROM keapgres_cache WHERE "table" = 'tags'`);
  assert.equal(entries[0]?.rows, expected.length, 'the previous entry is whole');
  assert.deepEqual(await query('fresh', sql), expected);
});

test('EXPLAIN names the planned Keap request and the cache decision, and makes no call', async () => {
  await query('keap', CARD);
  server.sandbox!.resetStats();
  const plan = (await query('keap', "EXPLAIN SELECT * FROM contacts WHERE email = 'ann@example.com'")).map((r) => r['QUERY PLAN'] as string);
  const cold = (await query('keap', 'EXPLAIN SELECT * FROM opportunities')).map((r) => r['QUERY PLAN'] as string);
  assert.deepEqual(calls(), {});
  assert.ok(plan.some((l) => l.includes('GET /v2/contacts') && l.includes('filter=email==ann@example.com')), plan.join('\n'));
  assert.ok(plan.some((l) => /Cache: hit/.test(l)), plan.join('\n'));
  assert.ok(plan[0]!.startsWith('Seq Scan'), 'the engine plan comes first');
  assert.ok(cold.some((l) => /Cache: miss: full fetch/.test(l)), cold.join('\n'));
  const analyzed = (await query('keap', 'EXPLAIN ANALYZE SELECT count(*) FROM campaigns')).map((r) => r['QUERY PLAN'] as string);
  const line = analyzed.find((l) => l.includes('Keap calls:'));
  assert.ok(line && /Keap calls: [1-9]/.test(line), analyzed.join('\n'));
  assert.ok((calls()['GET /v2/campaigns'] ?? 0) > 0);
});

const toolSkip = (tool: string, args: string[], install: string): string | false => {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
    return false;
  } catch {
    return `${tool} is not installed (${install})`;
  }
};

test('psql shows the Keap request lines as plan text, after the engine plan', { skip: toolSkip('psql', ['--version'], 'apt-get install postgresql-client') }, async () => {
  const out = await new Promise<string>((resolve, reject) => execFile('psql', [server.dsn(), '-X', '-c', "EXPLAIN SELECT * FROM contacts WHERE email = 'ann@example.com'"],
    (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))));
  const lines = out.split('\n');
  assert.match(lines[0]!, /QUERY PLAN/);
  assert.ok(lines.findIndex((l) => l.includes('Seq Scan')) < lines.findIndex((l) => l.includes('GET /v2/contacts')), out);
  assert.ok(lines.some((l) => /Cache: /.test(l)), out);
  assert.match(out, /\(\d+ rows\)/);
});

test('pgjdbc reads the Keap request lines as rows of the QUERY PLAN column, as DBeaver shows a plain EXPLAIN', { skip: javaSkip() }, async () => {
  const { explain } = await runJdbcChecks(server.port, 'keap', 'tester', 'explain');
  assert.equal(explain!.error, undefined);
  const value = explain!.value as { column: string; lines: string[] };
  assert.equal(value.column, 'QUERY PLAN');
  assert.ok(value.lines.some((l) => l.includes('GET /v2/contacts')), value.lines.join('\n'));
  assert.ok(value.lines.some((l) => /Cache: /.test(l)), value.lines.join('\n'));
});

test('keapgres_cache lists the entries and keapgres_cache_clear empties them', async () => {
  await query('keap', CARD);
  const rows = await query('keap', `SELECT "table", conditions, rows::int, hits::int, synced_at FROM keapgres_cache WHERE "table" = 'contacts' AND conditions = ''`);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.rows, CONTACTS);
  assert.ok(rows[0]!.hits >= 1);
  assert.match((await query('keap', "SELECT keapgres_cache_clear('contacts') AS r"))[0]!.r, /cleared: 1/);
  assert.equal((await query('keap', `SELECT count(*)::int AS n FROM keapgres_cache WHERE "table" = 'contacts'`))[0]!.n, 0);
  server.sandbox!.resetStats();
  assert.deepEqual(await query('keap', CARD), await query('truth', CARD));
  assert.ok((calls()['GET /v2/contacts'] ?? 0) > 0, 'fetched again after the clear');
});

test('the databases of two accounts never share entries', async () => {
  await query('keap', 'SELECT count(*) FROM users');
  const inFresh = await query('fresh', `SELECT count(*)::int AS n FROM keapgres_cache WHERE "table" = 'users'`);
  assert.equal(inFresh[0]!.n, 0);
});

test('a session that writes to a Keap table through dynamic SQL does not pass those rows on', async () => {
  await query('keap', 'SELECT count(*) FROM products WHERE id > 0');
  const before = await query('truth', 'SELECT count(*)::int AS n FROM products');
  await server.withClient(async (c) => {
    await c.query('SELECT id FROM products LIMIT 1');
    // the name is built at run time: no planner can see which table this writes
    await c.query(`DO $$ BEGIN EXECUTE 'DELETE FROM ' || 'prod' || 'ucts'; END $$`);
  }, { database: 'keap' });
  for (let i = 0; i < 3; i++) assert.deepEqual(await query('keap', 'SELECT count(*)::int AS n FROM products'), before);
});

test('a restarted server serves from CacheLocation, and Offline=true answers with no call at all', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-cache-restart-'));
  const first = await startTestServer({ contacts: 500, config: { sandbox: { seed: 1, contacts: 500, cache: `CacheLocation=${dir}` } } });
  let expected: unknown[];
  try {
    expected = await first.rows(ALL);
  } finally {
    await first.stop();
  }
  assert.ok(readdirSync(readdirSync(dir).map((d) => path.join(dir, d))[0]!).some((f) => f.endsWith('.rows')));
  const second = await startTestServer({ contacts: 500, config: { sandbox: { seed: 1, contacts: 500, cache: `CacheLocation=${dir}` } } });
  try {
    second.sandbox!.resetStats();
    assert.deepEqual(await second.rows(ALL), expected);
    assert.equal(second.sandbox!.stats().byEndpoint['GET /v2/contacts'], undefined, 'served from the files');
  } finally {
    await second.stop();
  }
  const offline = await startTestServer({ contacts: 500, config: { sandbox: { seed: 1, contacts: 500, cache: `Offline=true;CacheLocation=${dir}` } } });
  try {
    assert.deepEqual(await offline.rows(ALL), expected);
    const notices: string[] = [];
    await offline.withClient(async (c) => {
      c.on('notice', (n) => notices.push(n.message ?? ''));
      assert.deepEqual((await c.query('SELECT count(*)::int AS n FROM orders')).rows, [{ n: 0 }]);
    });
    assert.ok(notices.some((m) => /not in the cache and Offline=true/.test(m)), notices.join('\n'));
    const api = Object.keys(offline.sandbox!.stats().byEndpoint).filter((k) => k.startsWith('GET /v'));
    assert.deepEqual(api, [], 'Offline=true made no Keap call, not even for custom fields');
  } finally {
    await offline.stop();
  }
});

test('a cache file cut short by a crash is never served', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-cache-crash-'));
  const first = await startTestServer({ contacts: 300, config: { sandbox: { seed: 1, contacts: 300, cache: `CacheLocation=${dir}` } } });
  try {
    await first.rows('SELECT count(*) FROM tags WHERE id > 0');
  } finally {
    await first.stop();
  }
  const sub = path.join(dir, readdirSync(dir)[0]!);
  const rowsFile = readdirSync(sub).find((f) => f.endsWith('.rows'))!;
  writeFileSync(path.join(sub, rowsFile), 'half a row\t');
  const second = await startTestServer({ contacts: 300, config: { sandbox: { seed: 1, contacts: 300, cache: `CacheLocation=${dir}` } } });
  try {
    second.sandbox!.resetStats();
    const n = await second.rows<{ n: number }>('SELECT count(*)::int AS n FROM tags WHERE id > 0');
    assert.ok(n[0]!.n > 0);
    assert.ok((second.sandbox!.stats().byEndpoint['GET /v2/tags'] ?? 0) > 0, 'fetched again: the damaged entry was dropped');
  } finally {
    await second.stop();
  }
});

/** The `engine:` part of EXPLAIN ANALYZE's Keap line for contacts, and the calls it made, in a new session. */
async function engineReport(target: TestServer, database: string): Promise<{ engine: string; calls: number }> {
  const plan = await target.withClient(async (c) => (await c.query(`EXPLAIN ANALYZE ${CARD}`)).rows.map((r) => String(r['QUERY PLAN'])), { database });
  const line = plan.find((l) => /Keap calls:/.test(l)) ?? '';
  return { engine: /engine: (.*)$/.exec(line)?.[1] ?? '', calls: Number(/Keap calls: (\d+)/.exec(line)?.[1] ?? NaN) };
}

test('idleLoadedEngines: by default the next session finds the table in its engine; with 0 it loads it from the cache', async () => {
  await query('keap', CARD);
  let kept = await engineReport(server, 'keap');
  // the previous session's engine reaches the pool a moment after its client left
  for (let i = 0; i < 5 && kept.engine !== 'held'; i++) { await sleep(300); kept = await engineReport(server, 'keap'); }
  assert.deepEqual(kept, { engine: 'held', calls: 0 });
  // two sessions at once, one reading tasks and one subscriptions (tables no other test here reads): each engine
  // handed on is topped up with the other's table, so a card reading both finds both in whichever engine it gets
  const a = new pg.Client(server.clientConfig());
  const b = new pg.Client(server.clientConfig());
  await Promise.all([a.connect(), b.connect()]);
  await Promise.all([a.query('SELECT max(title) FROM tasks'), b.query('SELECT max(contact_id) FROM subscriptions')]);
  await Promise.all([a.end(), b.end()]);
  const both = 'SELECT t.contact_id, count(*)::int AS n FROM tasks t JOIN subscriptions s ON s.contact_id = t.contact_id GROUP BY 1 ORDER BY 1';
  // EXPLAIN loads nothing: only a top-up can put both tables into one engine
  const inEngine = async (analyze: boolean) => (await server.withClient(async (c) => (await c.query(`EXPLAIN ${analyze ? 'ANALYZE ' : ''}${both}`)).rows))
    .map((r) => String(r['QUERY PLAN'])).filter((l) => analyze ? /Keap calls:/.test(l) : /^\s+Cache: /.test(l));
  let lines: string[] = [];
  for (let i = 0; i < 20 && !(lines.length === 2 && lines.every((l) => /already in this session/.test(l))); i++) {
    await sleep(250);
    lines = await inEngine(false);
  }
  assert.equal(lines.filter((l) => /already in this session/.test(l)).length, 2, lines.join('\n'));
  await sleep(500); // the polling session's engine back in the pool
  assert.deepEqual((await inEngine(true)).map((l) => /engine: (.*)$/.exec(l)?.[1]), ['held', 'held']);
  assert.deepEqual(await query('keap', both), await query('truth', both));
  const none = await startTestServer({ contacts: 300, config: { idleLoadedEngines: 0, idleSpareEngines: 1 } });
  try {
    await none.rows(CARD);
    for (let i = 0; i < 3; i++) {
      await sleep(300);
      assert.deepEqual(await engineReport(none, 'keap'), { engine: 'loaded', calls: 0 }, `session ${i + 2}`);
    }
  } finally {
    await none.stop();
  }
});

test('an engine whose session made temporary tables is handed on with them gone, its loaded tables kept', async () => {
  await server.withClient(async (c) => {
    await c.query('CREATE TEMP TABLE mine (x int); INSERT INTO mine VALUES (1)');
    await c.query(CARD);
  });
  let kept = await engineReport(server, 'keap');
  for (let i = 0; i < 5 && kept.engine !== 'held'; i++) { await sleep(300); kept = await engineReport(server, 'keap'); }
  assert.deepEqual(kept, { engine: 'held', calls: 0 }, 'the engine was reused');
  await server.withClient(async (c) => {
    await assert.rejects(c.query('SELECT * FROM mine'), (e: { code?: string }) => e.code === '42P01');
    assert.deepEqual((await c.query("SELECT count(*)::int AS n FROM pg_class WHERE relpersistence = 't'")).rows, [{ n: 0 }]);
  });
});

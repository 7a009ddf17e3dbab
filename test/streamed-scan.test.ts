// A plain scan answered while its table loads: which statements qualify, how they are restricted to one
// chunk's rows, and — through keapgres with node-postgres and psql — that the assembled result is exactly the
// result of running the statement once over the loaded table, with errors, Keap failures, MaxRows and a
// table of another schema that takes the name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { loadCatalog } from '../src/schema/load.js';
import { streamableScan } from '../src/loader/streamed-scan.js';
import { loadParser, parseSqlCached } from '../src/planner/parse-cache.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { startTestServer, type TestServer } from './support/keapgres.js';

const catalog = loadCatalog();
const CONTACTS = 12_000; // 12 pages of 1,000, about 3 MB of COPY text: several chunks

test('plain scans of one Keap table qualify; anything that needs more than one row at a time does not', async () => {
  await loadParser();
  const yes = [
    'SELECT * FROM contacts',
    "select id, email from public.contacts c where id > 5 and email like 'a%';",
    'SELECT c.* FROM contacts AS c WHERE c.given_name IS NOT NULL -- note',
    "SELECT id::text || 'x', CASE WHEN id > 3 THEN 'big' END, COALESCE(email, '-'), links -> 0 FROM contacts",
    'SELECT id FROM contacts WHERE id IN (1, 2, 3) OR id BETWEEN 10 AND 20',
    "SELECT * FROM contacts WHERE create_time > '2024-01-01'",
  ];
  for (const sql of yes) assert.equal(streamableScan(sql, catalog)?.table, 'contacts', sql);
  const no = [
    'SELECT count(*) FROM contacts',
    'SELECT lower(email) FROM contacts',
    'SELECT * FROM contacts ORDER BY id',
    'SELECT * FROM contacts LIMIT 10',
    'SELECT * FROM contacts OFFSET 10',
    'SELECT * FROM contacts FETCH FIRST 5 ROWS ONLY',
    'SELECT DISTINCT email FROM contacts',
    'SELECT email FROM contacts GROUP BY email',
    'SELECT * FROM contacts c JOIN companies co ON co.id = c.company_id',
    'SELECT * FROM contacts, tags',
    'SELECT * FROM contacts WHERE id IN (SELECT contact_id FROM orders)',
    'SELECT * FROM contacts WHERE EXISTS (SELECT 1)',
    'WITH x AS (SELECT 1) SELECT * FROM contacts',
    'SELECT id FROM contacts UNION SELECT id FROM tags',
    'SELECT * INTO scratch FROM contacts',
    'SELECT * FROM contacts FOR UPDATE',
    'SELECT * FROM contacts; SELECT 1',
    'SELECT * FROM pg_catalog.pg_class',
    'SELECT * FROM other.contacts',
    'SELECT * FROM scratch',
    "SELECT * FROM contacts WHERE create_time < 'now'",
    "SELECT * FROM contacts WHERE create_time < ' Today '::date",
    "SELECT * FROM contacts WHERE create_time < 'tomorrow 10:00'",
    'SELECT current_date, * FROM contacts',
    'SELECT row_number() OVER () FROM contacts',
    'SELECT * FROM contacts TABLESAMPLE SYSTEM (10)',
    'SELECT * FROM (SELECT * FROM contacts) x',
    'VALUES (1)',
    'DELETE FROM contacts',
    'TABLE contacts',
    '(SELECT id FROM contacts)',
    '(SELECT * FROM contacts WHERE id = 1)',
    'SELECT c.n FROM contacts c', // functional notation: n(c), any function
    'SELECT c FROM contacts c', // the whole row
    'SELECT (c).id FROM contacts c',
  ];
  for (const sql of no) assert.equal(streamableScan(sql, catalog), undefined, sql);
});

test('a chunk\'s statement adds its condition to the statement\'s own, and still parses', async () => {
  await loadParser();
  const cond = (alias: string) => `${alias}.xmin = '7'::pg_catalog.xid`;
  const cases: Array<[string, string]> = [
    ['SELECT * FROM contacts', `SELECT * FROM contacts WHERE "contacts".xmin = '7'::pg_catalog.xid`],
    ['SELECT id FROM contacts c WHERE id > 5 OR id < 2;', `SELECT id FROM contacts c WHERE ( id > 5 OR id < 2) AND "c".xmin = '7'::pg_catalog.xid;`],
    ['SELECT id FROM public.contacts WHERE id > 5 -- why\n', `SELECT id FROM public.contacts WHERE ( id > 5) AND "contacts".xmin = '7'::pg_catalog.xid -- why\n`],
    ['SELECT id FROM contacts /* c */ ; ', `SELECT id FROM contacts WHERE "contacts".xmin = '7'::pg_catalog.xid /* c */ ; `],
    // the scanner counts bytes, the text is cut by bytes: text beyond ASCII before the cut must not shift it
    ["SELECT '日本' AS x, * FROM contacts WHERE NOT id = 1 OR id = 2", `SELECT '日本' AS x, * FROM contacts WHERE ( NOT id = 1 OR id = 2) AND "contacts".xmin = '7'::pg_catalog.xid`],
    ["SELECT * FROM contacts WHERE given_name = 'José';", `SELECT * FROM contacts WHERE ( given_name = 'José') AND "contacts".xmin = '7'::pg_catalog.xid;`],
    ['SELECT given_name AS "名前" FROM contacts "ç";', `SELECT given_name AS "名前" FROM contacts "ç" WHERE "ç".xmin = '7'::pg_catalog.xid;`],
  ];
  for (const [sql, expected] of cases) {
    const rewritten = streamableScan(sql, catalog)!.restrictedTo(cond);
    assert.equal(rewritten, expected);
    assert.equal(parseSqlCached(rewritten)?.length, 1, rewritten);
  }
});

let sandbox: Sandbox;
let server: TestServer;
let limited: TestServer;
const logLines: string[] = [];

before(async () => {
  sandbox = await startSandbox({ contacts: CONTACTS, seed: 3, limits: { spikePerSecond: 1000, perMinute: 1e9, perDay: 1e9, tenantPerMinute: 1e9, tenantPerDay: 1e9 } });
  const token = sandbox.issueTokens({ expiresInSeconds: 86_400 }).access_token;
  const connection = `AuthScheme=OAuth;InitiateOAuth=OFF;OAuthAccessToken=${token};OAuthSettingsLocation=memory://streamed;URL=${sandbox.apiBase}`;
  [server, limited] = await Promise.all([
    // without the shared cache every statement below fetches, so each is a streamed load from Keap
    startTestServer({ config: { databases: { keap: `${connection};AutoCache=false` } }, logLines }),
    startTestServer({ config: { databases: { keap: `${connection};MaxRows=2500` } } }),
  ]);
});

after(async () => {
  await Promise.all([server?.stop(), limited?.stop()]);
  await sandbox?.close();
});

const sorted = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).sort();
const streamedLoads = () => logLines.filter((l) => l.includes('"msg":"loaded"') && l.includes('"streamed":true')).length;

test('the streamed result is exactly the result over the loaded table', async () => {
  const statements = [
    'SELECT * FROM contacts',
    'SELECT id, email, given_name FROM contacts c WHERE c.id % 7 = 3',
    "SELECT id, given_name FROM contacts WHERE given_name LIKE 'A%'",
    'SELECT id FROM contacts WHERE false',
    'SELECT id, company_id FROM contacts WHERE company_id IS NULL OR id > 11000',
  ];
  for (const sql of statements) {
    await server.withClient(async (c) => {
      const before = streamedLoads();
      const streamed = await c.query({ text: sql, rowMode: 'array' });
      assert.equal(streamedLoads(), before + 1, `${sql}: answered while loading`);
      const again = await c.query({ text: sql, rowMode: 'array' }); // loaded: the engine runs it once
      assert.deepEqual(streamed.fields.map((f) => [f.name, f.dataTypeID]), again.fields.map((f) => [f.name, f.dataTypeID]), sql);
      assert.equal(streamed.rowCount, again.rowCount, sql);
      assert.equal(streamed.rows.length, again.rows.length, sql);
      assert.deepEqual(sorted(streamed.rows), sorted(again.rows), sql);
      if (sql === 'SELECT * FROM contacts') assert.equal(streamed.rowCount, CONTACTS);
    });
  }
});

test('a session that defined an operator (which could call any function) loads first and runs once', async () => {
  await server.withClient(async (c) => {
    await c.query("CREATE FUNCTION scratch_plus(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1 + $2'");
    await c.query('CREATE OPERATOR ### (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = scratch_plus)');
    const before = streamedLoads();
    const { rows } = await c.query('SELECT id ### 1 AS n FROM contacts');
    assert.equal(streamedLoads(), before, 'not streamed');
    assert.equal(rows.length, CONTACTS);
  });
});

test('psql reads a streamed result like any other', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', 'SELECT id FROM contacts', server.dsn()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let o = '';
    let e = '';
    p.stdout.on('data', (b: Buffer) => (o += b.toString()));
    p.stderr.on('data', (b: Buffer) => (e += b.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(`psql exited ${code}: ${e}`))));
  });
  const ids = out.trim().split('\n');
  assert.equal(ids.length, CONTACTS);
  assert.equal(new Set(ids).size, CONTACTS);
});

test('an error on a row of a later chunk ends the result with that error; the session goes on', async () => {
  await server.withClient(async (c) => {
    await assert.rejects(c.query('SELECT id, 1 / (id - 9000) AS x FROM contacts'), { code: '22012' });
    const { rows } = await c.query('SELECT id FROM contacts');
    assert.equal(rows.length, CONTACTS);
    assert.equal(new Set(rows.map((r) => r.id)).size, CONTACTS);
  });
});

test('an error in the statement itself points at the text the client sent', async () => {
  await server.withClient(async (c) => {
    const sql = "SELECT id, given_name FROM contacts WHERE given_name = 'x' OR id = 'not a number'";
    const streamed = await c.query(sql).then(() => undefined, (e: { code?: string; position?: string }) => e);
    assert.equal(streamed?.code, '22P02');
    assert.equal(Number(streamed?.position), sql.indexOf("'not a number'") + 1);
  });
});

test('Keap failing in the middle of a streamed scan gives 58000; the session goes on and loads again', async () => {
  await server.withClient(async (c) => {
    sandbox.setFaults({ latencyMs: 30 });
    const failing = setTimeout(() => sandbox.setFaults({ errorRate: 1, errorStatuses: [500] }), 150);
    try {
      await assert.rejects(c.query('SELECT * FROM contacts'), { code: '58000' });
    } finally {
      clearTimeout(failing);
      sandbox.setFaults({ latencyMs: 0, errorRate: 0 });
    }
    const { rows } = await c.query('SELECT id FROM contacts');
    assert.equal(rows.length, CONTACTS);
    assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
  });
});

test('MaxRows: the NOTICE comes before the end of the streamed result', async () => {
  const c = new pg.Client(limited.clientConfig());
  const notices: string[] = [];
  c.on('notice', (n) => notices.push(n.message ?? ''));
  await c.connect();
  try {
    const { rows } = await c.query('SELECT id FROM contacts');
    assert.equal(rows.length, 2500);
    assert.deepEqual(notices, ['table "contacts" was truncated at 2500 rows']);
  } finally {
    await c.end();
  }
});

test('a table of another schema that takes the name on the search_path is what the statement reads', async () => {
  await server.withClient(async (c) => {
    await c.query('CREATE SCHEMA scratch');
    await c.query('CREATE TABLE scratch.contacts AS SELECT 42::bigint AS id');
    await c.query('SET search_path = scratch, public');
    const { rows } = await c.query('SELECT * FROM contacts');
    assert.deepEqual(rows, [{ id: '42' }]);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM (SELECT id FROM public.contacts) x')).rows[0].n, CONTACTS);
  });
});

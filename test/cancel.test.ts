// CancelRequest against a real keapgres: a running statement ends with 57014 at once, and the session
// carries on with its settings and prepared statements as if nothing but that statement had happened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { keyOf, sendCancel } from './support/cancel-request.js';
import { startTestServer, type TestServer } from './support/keapgres.js';

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => { await server.stop(); });

const SPARE_ENGINES = 2; // idleSpareEngines of startTestServer


async function connect(extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const c = new pg.Client(server.clientConfig(extra));
  await c.connect();
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `sql`, cancels it after `afterMs`; returns the error and how long it took to arrive after the cancel. */
async function cancelWhileRunning(c: pg.Client, sql: string, afterMs = 500): Promise<{ error: { code?: string; message: string }; ms: number }> {
  const running = c.query(sql).then(() => { throw new Error(`${sql} was not cancelled`); }, (e: { code?: string; message: string }) => e);
  await sleep(afterMs);
  const sent = performance.now();
  await sendCancel(server.port, keyOf(c));
  const error = await running;
  return { error, ms: performance.now() - sent };
}

/** Engines whose data directories exist: idle spares plus one per live session (see EnginePool: one directory per pool). */
function engineDirs(): number {
  const root = path.join(os.tmpdir(), `keapgres-${process.pid}`);
  try {
    return readdirSync(root).filter((d) => d.startsWith('keap-')).reduce((n, d) => n + readdirSync(path.join(root, d)).length, 0);
  } catch {
    return 0;
  }
}

test('SELECT pg_sleep(30) cancelled by CancelRequest ends with 57014 within 2 s and the session keeps working', async (t) => {
  const c = await connect();
  try {
    const { error, ms } = await cancelWhileRunning(c, 'SELECT pg_sleep(30)');
    assert.equal(error.code, '57014');
    assert.equal(error.message, 'canceling statement due to user request');
    assert.ok(ms < 2000, `the cancel took ${Math.round(ms)} ms`);
    const t0 = performance.now();
    const r = await c.query('SELECT 1 AS one');
    assert.deepEqual(r.rows, [{ one: 1 }]);
    t.diagnostic(`57014 after ${Math.round(ms)} ms; next query answered after ${Math.round(performance.now() - t0)} ms`);
    assert.ok(performance.now() - t0 < 10_000);
  } finally {
    await c.end();
  }
});

test('after a cancel the session still has its settings and prepared statements', async () => {
  const c = await connect({ application_name: 'cancel_test' });
  try {
    await c.query(`SET search_path = pg_catalog, public`);
    await c.query(`SET TimeZone = 'Asia/Tokyo'`);
    await c.query(`PREPARE sql_level (int) AS SELECT $1 * 10 AS v`);
    const named = { name: 'protocol_level', text: 'SELECT $1::int + 1 AS v' };
    assert.equal((await c.query({ ...named, values: [1] })).rows[0].v, 2);

    const { error } = await cancelWhileRunning(c, 'SELECT pg_sleep(30)');
    assert.equal(error.code, '57014');

    const settings = await c.query(`SELECT current_setting('search_path') AS sp, current_setting('TimeZone') AS tz, current_setting('application_name') AS app`);
    assert.deepEqual(settings.rows[0], { sp: 'pg_catalog, public', tz: 'Asia/Tokyo', app: 'cancel_test' });
    assert.equal((await c.query('EXECUTE sql_level(4)')).rows[0].v, 40);
    // node-postgres sends only Bind/Execute for a statement name it has prepared before
    assert.equal((await c.query({ ...named, values: [41] })).rows[0].v, 42);
  } finally {
    await c.end();
  }
});

test('a cancel inside a transaction aborts it, as PostgreSQL does; ROLLBACK recovers', async () => {
  const c = await connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT 1');
    const { error } = await cancelWhileRunning(c, 'SELECT pg_sleep(30)');
    assert.equal(error.code, '57014');
    await assert.rejects(c.query('SELECT 1'), (e: { code?: string }) => e.code === '25P02');
    await c.query('ROLLBACK');
    assert.equal((await c.query('SELECT 2 AS two')).rows[0].two, 2);
  } finally {
    await c.end();
  }
});

test('a CancelRequest with the wrong secret key is ignored', async () => {
  const c = await connect();
  try {
    const key = keyOf(c);
    const running = c.query('SELECT pg_sleep(1.5), 7 AS seven');
    await sleep(300);
    await sendCancel(server.port, { processID: key.processID, secretKey: key.secretKey ^ 1 });
    await sendCancel(server.port, { processID: key.processID + 100_000, secretKey: key.secretKey });
    assert.equal((await running).rows[0].seven, 7);
  } finally {
    await c.end();
  }
});

test('a CancelRequest for an idle session changes nothing', async () => {
  const c = await connect();
  try {
    await sendCancel(server.port, keyOf(c));
    await sleep(100);
    assert.equal((await c.query('SELECT 3 AS three')).rows[0].three, 3);
  } finally {
    await c.end();
  }
});

test('a cancel while Keap rows are being fetched ends with 57014 within 2 s', async (t) => {
  const sandbox = server.sandbox!;
  const c = await connect();
  try {
    await c.query("SELECT keapgres_cache_clear('opportunities')"); // an earlier test cached it: this one needs a fetch
    sandbox.setFaults({ latencyMs: 5_000 }); // the sandbox sleeps this long even for a request its client gave up
    const { error, ms } = await cancelWhileRunning(c, 'SELECT count(*) FROM opportunities', 500);
    assert.equal(error.code, '57014');
    t.diagnostic(`57014 after ${Math.round(ms)} ms`);
    assert.ok(ms < 2000, `the cancel took ${Math.round(ms)} ms`);
    sandbox.setFaults({ latencyMs: 0 });
    const r = await c.query('SELECT count(*)::int AS n FROM opportunities');
    assert.ok(r.rows[0].n > 0);
  } finally {
    sandbox.setFaults({ latencyMs: 0 });
    await c.end();
  }
});

test('a client that disconnects right after cancelling leaves no engine behind', async () => {
  for (let i = 0; i < 3; i++) {
    const c = await connect();
    c.on('error', () => undefined);
    const running = c.query('SELECT pg_sleep(30)').catch(() => undefined);
    await sleep(300);
    await sendCancel(server.port, keyOf(c));
    // like psql -f after Ctrl-C: gone before the ReadyForQuery that follows the error
    (c as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
    await running;
  }
  const deadline = Date.now() + 10_000;
  while (engineDirs() > SPARE_ENGINES && Date.now() < deadline) await sleep(100);
  assert.ok(engineDirs() <= SPARE_ENGINES, `${engineDirs()} engines left for ${SPARE_ENGINES} spares and no session`);
});

test('a cancel keeps what the session made: temporary tables and their rows, views, functions, prepared statements, the engine', async () => {
  const c = await connect();
  try {
    await c.query('CREATE TEMP TABLE kept (x int)');
    await c.query('INSERT INTO kept VALUES (1), (2)');
    await c.query('CREATE TEMP VIEW kept_view AS SELECT x * 10 AS y FROM kept');
    await c.query('CREATE FUNCTION pg_temp.kept_fn(int) RETURNS int LANGUAGE sql AS $$SELECT $1 + 1$$');
    await c.query('PREPARE kept_stmt AS SELECT sum(x)::int AS s FROM kept');
    const named = { name: 'kept_named', text: 'SELECT count(*)::int AS n FROM kept WHERE x > $1', values: [0] };
    assert.equal((await c.query(named)).rows[0].n, 2);
    const dirs = engineDirs();
    const { error, ms } = await cancelWhileRunning(c, 'SELECT pg_sleep(30)');
    assert.equal(error.code, '57014');
    assert.equal(error.message, 'canceling statement due to user request');
    assert.ok(ms < 2000, `the cancel took ${Math.round(ms)} ms`);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM kept')).rows[0].n, 2);
    assert.deepEqual((await c.query('SELECT y FROM kept_view ORDER BY y')).rows, [{ y: 10 }, { y: 20 }]);
    assert.equal((await c.query('SELECT pg_temp.kept_fn(41) AS v')).rows[0].v, 42);
    assert.equal((await c.query('EXECUTE kept_stmt')).rows[0].s, 3);
    assert.equal((await c.query(named)).rows[0].n, 2);
    assert.equal(engineDirs(), dirs, 'the session kept its engine: no new one was started');
  } finally {
    await c.end();
  }
});

test('a cancel inside a transaction aborts it as PostgreSQL does: 25P02 until ROLLBACK, and the rows written before it stay after ROLLBACK TO', async () => {
  const c = await connect();
  try {
    await c.query('CREATE TEMP TABLE tx_kept (x int)');
    await c.query('BEGIN');
    await c.query('INSERT INTO tx_kept VALUES (1)');
    await c.query('SAVEPOINT s');
    const { error } = await cancelWhileRunning(c, 'SELECT count(*) FROM generate_series(1, 100000000)', 300);
    assert.equal(error.code, '57014');
    await assert.rejects(c.query('SELECT 1'), (e: { code?: string }) => e.code === '25P02');
    await c.query('ROLLBACK TO s');
    assert.equal((await c.query('SELECT count(*)::int AS n FROM tx_kept')).rows[0].n, 1);
    await c.query('COMMIT');
    assert.equal((await c.query('SELECT count(*)::int AS n FROM tx_kept')).rows[0].n, 1);
  } finally {
    await c.end();
  }
});

test('a cancel that arrives after its statement finished does not reach the next one', async () => {
  const c = await connect();
  try {
    for (let i = 0; i < 20; i++) {
      await c.query('SELECT 1');
      await sendCancel(server.port, keyOf(c)); // nothing runs: PostgreSQL ignores it
      assert.equal((await c.query('SELECT pg_sleep(0.05), 2 AS v')).rows[0].v, 2);
    }
  } finally {
    await c.end();
  }
});

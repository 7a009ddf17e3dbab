// statement_timeout, idle_in_transaction_session_timeout, idle_session_timeout and transaction_timeout,
// with node-postgres, psql and pgjdbc, each compared with what a real PostgreSQL gives the same client
// in the same run where that server has the setting (transaction_timeout is PostgreSQL 17's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { findPostgresBin, startPostgres, type ThrowawayPostgres } from './support/postgres.js';
import { javaSkip, runJdbcChecks } from './support/java.js';
import { parseTimeSetting, batchStatementTimeout } from '../src/session/timeouts.js';
import { rewriteCancelReason } from '../src/session/cancel-message.js';
import * as msg from '../src/wire/backend-messages.js';

const noPostgres = findPostgresBin() === undefined && 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql';

let keapgres: TestServer;
let postgres: ThrowawayPostgres | undefined;

interface Target { name: string; config(extra?: Partial<pg.ClientConfig>): pg.ClientConfig; dsn: string; port: number; database: string; user: string }
let targets: Target[] = [];

before(async () => {
  // 1,000 contacts at 10 a page: a full scan is 100 pages, seconds at Keap's pace
  keapgres = await startTestServer({ contacts: 1000, config: { sandbox: { seed: 2, contacts: 1000, pageSize: 10 } } });
  targets = [{ name: 'keapgres', config: keapgres.clientConfig, dsn: keapgres.dsn(), port: keapgres.port, database: 'keap', user: 'tester' }];
  if (!noPostgres) {
    postgres = await startPostgres();
    const p = postgres;
    targets.push({ name: 'postgres', config: p.clientConfig, dsn: p.dsn, port: p.port, database: p.database, user: p.user });
  }
});
after(async () => {
  await keapgres?.stop();
  await postgres?.stop();
});

/** Runs the scenario on keapgres and, where installed, PostgreSQL; the answers must be equal. */
async function sameOnBoth<T>(scenario: (t: Target) => Promise<T>): Promise<T> {
  const answers: T[] = [];
  for (const t of targets) answers.push(await scenario(t));
  if (answers.length > 1) assert.deepEqual(answers[0], answers[1], 'keapgres and PostgreSQL differ');
  return answers[0]!;
}

async function connect(t: Target, extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const c = new pg.Client(t.config(extra));
  await c.connect();
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errorOf = (e: unknown) => ({ code: (e as { code?: string }).code, message: (e as Error).message });

test('time settings are read as PostgreSQL reads them', () => {
  assert.equal(parseTimeSetting('0'), 0);
  assert.equal(parseTimeSetting('500'), 500);
  assert.equal(parseTimeSetting('500ms'), 500);
  assert.equal(parseTimeSetting('2s'), 2000);
  assert.equal(parseTimeSetting('1min'), 60_000);
  assert.equal(parseTimeSetting('1h'), 3_600_000);
  assert.equal(parseTimeSetting('1d'), 86_400_000);
  assert.equal(parseTimeSetting('1500us'), 2);
  assert.equal(parseTimeSetting('soon'), undefined);
  assert.equal(batchStatementTimeout(['SET statement_timeout = 500', 'SELECT pg_sleep(2)'], 0), 500);
  assert.equal(batchStatementTimeout(["set local statement_timeout to '2s'"], 0), 2000);
  assert.equal(batchStatementTimeout(["SELECT set_config('statement_timeout', '750', false)"], 0), 750);
  assert.equal(batchStatementTimeout(['RESET statement_timeout'], 300), 0);
  assert.equal(batchStatementTimeout(['SET statement_timeout TO DEFAULT'], 300), 0);
  assert.equal(batchStatementTimeout(['SELECT 1'], 300), 300);
});

test('the cancel message is rewritten only in a 57014 "user request" ErrorResponse, whatever surrounds it', () => {
  const before = msg.commandComplete('SELECT 1');
  const cancel = msg.errorResponse({ severity: 'ERROR', sqlstate: '57014', message: 'canceling statement due to user request' });
  const other = msg.errorResponse({ severity: 'ERROR', sqlstate: '42P01', message: 'canceling statement due to user request' });
  const chunk = Buffer.concat([before, cancel, other, msg.readyForQuery('I')]);
  const out = Buffer.from(rewriteCancelReason(chunk, 'canceling statement due to statement timeout'));
  const expected = Buffer.concat([before, msg.errorResponse({ severity: 'ERROR', sqlstate: '57014', message: 'canceling statement due to statement timeout' }), other, msg.readyForQuery('I')]);
  assert.ok(out.includes(Buffer.from('statement timeout')));
  assert.equal(out.length, expected.length);
  const unchanged = Buffer.concat([before, other]);
  assert.equal(rewriteCancelReason(unchanged, 'x'), unchanged);
});

test('node-postgres: SET statement_timeout, then a statement past it: 57014 "statement timeout", and the session keeps its temporary table', async () => {
  await sameOnBoth(async (t) => {
    const c = await connect(t);
    try {
      await c.query('CREATE TEMP TABLE kept (x int)');
      await c.query('INSERT INTO kept VALUES (1), (2)');
      await c.query('SET statement_timeout = 500');
      const started = Date.now();
      const err = await c.query('SELECT pg_sleep(5)').then(() => undefined, errorOf);
      const ms = Date.now() - started;
      return {
        err, endedInTime: ms >= 450 && ms < 2500,
        kept: (await c.query('SELECT count(*)::int AS n FROM kept')).rows[0].n,
        setting: (await c.query('SHOW statement_timeout')).rows[0].statement_timeout,
        quick: (await c.query('SELECT pg_sleep(0.1), 1 AS v')).rows[0].v,
      };
    } finally {
      await c.end();
    }
  });
});

test('node-postgres: statement_timeout from the startup packet (options=-c statement_timeout=300), extended protocol', async () => {
  const out = await sameOnBoth(async (t) => {
    const c = await connect(t, { options: '-c statement_timeout=300' });
    try {
      const err = await c.query('SELECT pg_sleep($1)', [3]).then(() => undefined, errorOf);
      return { err, after: (await c.query('SELECT $1::int AS v', [7])).rows[0].v };
    } finally {
      await c.end();
    }
  });
  assert.equal(out.err?.code, '57014');
});

test('node-postgres: a statement timeout inside a transaction aborts it (25P02 until ROLLBACK); SET LOCAL ends with it', async () => {
  await sameOnBoth(async (t) => {
    const c = await connect(t);
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL statement_timeout = 300');
      const err = await c.query('SELECT count(*) FROM generate_series(1, 1000000000)').then(() => undefined, errorOf);
      const aborted = await c.query('SELECT 1').then(() => undefined, errorOf);
      await c.query('ROLLBACK');
      return { err, aborted, after: (await c.query('SHOW statement_timeout')).rows[0].statement_timeout };
    } finally {
      await c.end();
    }
  });
});

const psqlSkip = (() => {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return process.env.CI ? false : 'psql is not installed (apt-get install postgresql-client)';
  }
})();

function psql(dsn: string, sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('psql', [dsn, '-X', '-v', 'VERBOSITY=default', '-c', sql], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

test("psql -c 'SET statement_timeout = 500; SELECT pg_sleep(2)': one Query, the SET holds for the sleep", { skip: psqlSkip }, async () => {
  const out = await sameOnBoth(async (t) => {
    const started = Date.now();
    const r = await psql(t.dsn, 'SET statement_timeout = 500; SELECT pg_sleep(2)');
    return { ...r, fast: Date.now() - started < 1800 };
  });
  assert.match(out.stderr, /canceling statement due to statement timeout/);
  assert.equal(out.fast, true);
});

test('a statement still fetching from Keap is stopped by statement_timeout, and its requests stop', async () => {
  const sb = keapgres.sandbox!;
  const count = () => sb.stats().byEndpoint['GET /v2/contacts'] ?? 0;
  const c = await connect(targets[0]!);
  try {
    sb.setFaults({ latencyMs: 150 });
    await c.query('SET statement_timeout = 700');
    const before = count();
    const started = Date.now();
    const err = await c.query('SELECT max(given_name) FROM contacts').then(() => undefined, errorOf);
    const ms = Date.now() - started;
    assert.deepEqual(err, { code: '57014', message: 'canceling statement due to statement timeout' });
    assert.ok(ms < 2500, `ended after ${ms} ms`);
    const atTimeout = count() - before;
    assert.ok(atTimeout > 0 && atTimeout < 100, `some pages were fetched (${atTimeout})`);
    // the sandbox counts a request when it answers, 150 ms after it came: those under way may still count
    await sleep(1000);
    const settled = count() - before;
    await sleep(1000);
    assert.equal(count() - before, settled, 'no request after the timeout');
    assert.ok(settled - atTimeout <= 6, `only the requests under way at the timeout were answered (${settled - atTimeout})`);
    await c.query('SET statement_timeout = 0');
    assert.equal((await c.query('SELECT 1 AS v')).rows[0].v, 1);
  } finally {
    sb.setFaults({ latencyMs: 0 });
    await c.end();
  }
});

/** Connects, runs `setup`, stays idle; resolves with the error the server sends and whether the connection ended. */
async function idleUntilTerminated(t: Target, setup: string[], waitMs: number): Promise<{ error?: { code?: string; message: string }; ended: boolean }> {
  const c = await connect(t);
  let error: { code?: string; message: string } | undefined;
  let ended = false;
  c.on('error', (e) => { error ??= errorOf(e); });
  c.on('end', () => { ended = true; });
  for (const sql of setup) await c.query(sql);
  const deadline = Date.now() + waitMs + 5000;
  while (!ended && Date.now() < deadline) await sleep(50);
  await c.end().catch(() => undefined);
  return { error, ended };
}

test('idle_in_transaction_session_timeout ends the connection with FATAL 25P03, as PostgreSQL does', async () => {
  const out = await sameOnBoth((t) => idleUntilTerminated(t, ['SET idle_in_transaction_session_timeout = 400', 'BEGIN', 'SELECT 1'], 400));
  assert.deepEqual(out, { error: { code: '25P03', message: 'terminating connection due to idle-in-transaction timeout' }, ended: true });
});

test('idle_session_timeout ends an idle connection with FATAL 57P05; a busy or in-transaction one stays', async () => {
  const out = await sameOnBoth((t) => idleUntilTerminated(t, ['SET idle_session_timeout = 400'], 400));
  assert.deepEqual(out, { error: { code: '57P05', message: 'terminating connection due to idle-session timeout' }, ended: true });
  await sameOnBoth(async (t) => {
    const c = await connect(t);
    try {
      await c.query('SET idle_session_timeout = 300');
      await c.query('BEGIN');
      await sleep(700); // in a transaction the idle-session timeout does not apply
      await c.query('SELECT pg_sleep(0.6)'); // nor while a statement runs
      await c.query('COMMIT');
      return true;
    } finally {
      await c.end();
    }
  });
});

test('transaction_timeout (PostgreSQL 17) ends a transaction that lasts too long with FATAL 25P04', async () => {
  const out = await idleUntilTerminated(targets[0]!, ['SET transaction_timeout = 500', 'BEGIN'], 500);
  assert.deepEqual(out, { error: { code: '25P04', message: 'terminating connection due to transaction timeout' }, ended: true });
});

test('pgjdbc: SET statement_timeout, then a prepared statement past it: SQLState 57014, the connection keeps its temporary table', { skip: javaSkip() }, async () => {
  const out = await sameOnBoth((t) => runJdbcChecks(t.port, t.database, t.user, 'timeouts'));
  assert.deepEqual(out.statementTimeout!.value, {
    error: '57014: ERROR: canceling statement due to statement timeout', endedWithin3s: true, tempRowsAfter: 2, setting: '400ms',
  });
});

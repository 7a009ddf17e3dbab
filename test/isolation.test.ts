// Sessions do not wait for each other: each has its own engine in its own worker thread, so a long
// statement in one leaves every other session (and new connections) as fast as before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => { await server.stop(); });

async function connect(extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const c = new pg.Client(server.clientConfig(extra));
  await c.connect();
  return c;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; endedAt: number }> {
  const t0 = performance.now();
  const value = await fn();
  const endedAt = performance.now();
  return { value, ms: endedAt - t0, endedAt };
}

test('while one session runs SELECT pg_sleep(5), 20 other sessions run short queries without waiting for it', async (t) => {
  const sleeper = await connect({ application_name: 'sleeper' });
  const others = await Promise.all(Array.from({ length: 20 }, (_, i) => connect({ application_name: `short${i}` })));
  try {
    // every session loads the Keap rows it reads before the sleep starts, so what follows is engine work only
    await Promise.all(others.map((c) => c.query('SELECT count(*) FROM tags')));

    const started = performance.now();
    const sleeping = timed(() => sleeper.query('SELECT pg_sleep(5) AS slept'));
    await new Promise((r) => setTimeout(r, 200));
    const results = await Promise.all(others.map((c, i) => timed(async () => {
      const a = await c.query('SELECT $1::int * 2 AS v', [i]);
      const b = await c.query('SELECT count(*)::int AS n FROM tags');
      const s = await c.query(`SELECT current_setting('application_name') AS app`);
      return [a.rows[0].v, b.rows[0].n > 0, s.rows[0].app];
    })));
    const slept = await sleeping;

    results.forEach((r, i) => assert.deepEqual(r.value, [i * 2, true, `short${i}`]));
    const slowest = Math.max(...results.map((r) => r.ms));
    const lastDone = Math.max(...results.map((r) => r.endedAt));
    t.diagnostic(`slowest short session: ${Math.round(slowest)} ms; all done ${Math.round(lastDone - started)} ms after the sleep began; sleep ended after ${Math.round(slept.endedAt - started)} ms`);
    assert.ok(slowest < 2500, `the slowest of the 20 sessions took ${Math.round(slowest)} ms`);
    assert.ok(lastDone < slept.endedAt - 1500, 'the short queries finished long before the sleep');
    assert.ok(slept.endedAt - started >= 5000);
  } finally {
    await Promise.all([sleeper, ...others].map((c) => c.end()));
  }
});

test('a new connection is served while another session sleeps', async (t) => {
  const sleeper = await connect();
  try {
    const sleeping = sleeper.query('SELECT pg_sleep(3)');
    await new Promise((r) => setTimeout(r, 200));
    const { value, ms } = await timed(async () => {
      const c = await connect();
      try {
        return (await c.query('SELECT 5 AS five')).rows[0].five;
      } finally {
        await c.end();
      }
    });
    assert.equal(value, 5);
    t.diagnostic(`connect + query during the sleep: ${Math.round(ms)} ms`);
    assert.ok(ms < 2500, `connecting and querying took ${Math.round(ms)} ms`);
    await sleeping;
  } finally {
    await sleeper.end();
  }
});

test('two sessions sleeping at once take the time of one', async () => {
  const [a, b] = [await connect(), await connect()];
  try {
    const { ms } = await timed(() => Promise.all([a.query('SELECT pg_sleep(1)'), b.query('SELECT pg_sleep(1)')]));
    assert.ok(ms < 1800, `two 1 s sleeps took ${Math.round(ms)} ms`);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
});

test('what one session creates and sets is invisible to another', async () => {
  const [a, b] = [await connect(), await connect()];
  try {
    await a.query('CREATE TEMP TABLE mine (x int)');
    await a.query(`SET TimeZone = 'Pacific/Auckland'`);
    await a.query('CREATE TABLE scratch_a (x int)');
    await assert.rejects(b.query('SELECT * FROM scratch_a'), (e: { code?: string }) => e.code === '42P01');
    await assert.rejects(b.query('SELECT * FROM mine'), (e: { code?: string }) => e.code === '42P01');
    const tz = await b.query(`SELECT current_setting('TimeZone') AS tz`);
    assert.notEqual(tz.rows[0].tz, 'Pacific/Auckland');
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
});

// CacheConnection: three keapgres instances calling Keap with one app share its rate limit through a real
// PostgreSQL. Each scanning on its own would send 25 requests a second and meet the spike arrest together;
// sharing, they get no 429 (and finish near the floor the limit allows: bench/instances.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { findPostgresBin, startPostgres, type ThrowawayPostgres } from './support/postgres.js';

const skip = findPostgresBin() === undefined && !process.env.CI ? 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql' : false;

let sandbox: Sandbox;
let postgres: ThrowawayPostgres;
let instances: TestServer[] = [];
let cacheConnection: string;

function connection(refreshToken: string, extra = ''): string {
  return `AuthScheme=OAuth;InitiateOAuth=REFRESH;OAuthClientId=${sandbox.clientId};OAuthClientSecret=${sandbox.clientSecret};`
    + `OAuthRefreshToken=${refreshToken};URL=${sandbox.apiBase};OAuthAccessTokenURL=${sandbox.tokenUrl};OAuthSettingsLocation=memory://unused;`
    + `AutoCache=false;Pagesize=100;CacheConnection=${cacheConnection}${extra}`;
}

before(async () => {
  if (skip) return;
  // Keap's own limits for an OAuth app: 25 a second (spike arrest), 1,500 a minute
  [sandbox, postgres] = await Promise.all([startSandbox({ port: 0, contacts: 4000 }), startPostgres()]);
  cacheConnection = `postgresql://${postgres.user}@${postgres.host}:${postgres.port}/${postgres.database}`;
  const { refresh_token } = sandbox.issueTokens({ expiresInSeconds: 3600 });
  instances = [await startTestServer({ config: { databases: { keap: connection(refresh_token) } } })];
  instances.push(...(await Promise.all([1, 2].map(() => startTestServer({ config: { databases: { keap: connection(refresh_token) } } })))));
});
after(async () => {
  await Promise.all(instances.map((s) => s.stop()));
  await sandbox?.close();
  await postgres?.stop();
});

// The time against the floor is a figure, measured by bench/instances.ts (timed assertions fail on a loaded
// machine); here: no 429, every row, and the pacing logged.
test('three instances scanning at once: Keap answers no 429, and each gets every row', { skip }, async () => {
  // wait out the second the instances' startup calls fell in
  await new Promise((r) => setTimeout(r, 1100));
  sandbox.resetStats();
  const t0 = performance.now();
  const counts = await Promise.all(instances.map((s) => s.withClient(async (c) => (await c.query('SELECT count(*)::int AS n, count(DISTINCT email)::int AS e FROM contacts')).rows[0].n as number)));
  const seconds = (performance.now() - t0) / 1000;
  const stats = sandbox.stats();
  assert.deepEqual(counts, [4000, 4000, 4000]);
  assert.equal(stats.byStatus['429'] ?? 0, 0, `429s: ${JSON.stringify(stats.byStatus)}`);
  const floor = stats.total / 25;
  const ratio = seconds / floor;
  console.log(`three instances: ${stats.total} calls in ${seconds.toFixed(2)} s; floor ${floor.toFixed(2)} s; ratio ${ratio.toFixed(2)}x`);
  assert.ok(stats.total >= 120, `each instance paged through contacts (${stats.total} calls)`);
});

test('leases: the shares of the instances never sum above the budget, and an idle instance gives its lease back', { skip }, async () => {
  const c = new pg.Client(postgres.clientConfig());
  await c.connect();
  try {
    let maxSum = 0;
    let holders = 0;
    const watching = (async () => {
      for (let i = 0; i < 60; i++) {
        const { rows } = await c.query<{ sum: number; n: number }>('SELECT coalesce(sum(per_second), 0)::int AS sum, count(*)::int AS n FROM keapgres.quota_leases WHERE expires_at > now()');
        maxSum = Math.max(maxSum, rows[0]!.sum);
        holders = Math.max(holders, rows[0]!.n);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await Promise.all(instances.map((s) => s.withClient((cl) => cl.query('SELECT count(*) FROM contacts'))));
    await watching;
    assert.ok(holders >= 2, `several instances held leases at once (${holders})`);
    assert.ok(maxSum <= 24, `shares summed to ${maxSum}`);
    // idle for longer than idleMs (0.4 s) and the lease (1.5 s): every lease is gone
    await new Promise((r) => setTimeout(r, 4000));
    const { rows } = await c.query('SELECT count(*)::int AS n FROM keapgres.quota_leases WHERE expires_at > now()');
    assert.equal(rows[0].n, 0);
  } finally {
    await c.end();
  }
});

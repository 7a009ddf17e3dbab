// CacheConnection: three keapgres instances share one Keap app's OAuth tokens through a real PostgreSQL.
// Keap rotates refresh tokens, so instances refreshing on their own would log the account out; here
// every expiry costs exactly one refresh (the sandbox counts them), and no query fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { findPostgresBin, startPostgres, type ThrowawayPostgres } from './support/postgres.js';

const skip = findPostgresBin() === undefined && !process.env.CI ? 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql' : false;

let sandbox: Sandbox;
let postgres: ThrowawayPostgres;
let instances: TestServer[] = [];
let cacheConnection: string;

function connection(refreshToken: string): string {
  return `AuthScheme=OAuth;InitiateOAuth=REFRESH;OAuthClientId=${sandbox.clientId};OAuthClientSecret=${sandbox.clientSecret};`
    + `OAuthRefreshToken=${refreshToken};URL=${sandbox.apiBase};OAuthAccessTokenURL=${sandbox.tokenUrl};OAuthSettingsLocation=memory://unused;`
    + `AutoCache=false;CacheConnection=${cacheConnection}`;
}

before(async () => {
  if (skip) return;
  [sandbox, postgres] = await Promise.all([
    startSandbox({ port: 0, contacts: 50, limits: { spikePerSecond: 10_000, perMinute: 100_000 } }),
    startPostgres(),
  ]);
  cacheConnection = `postgresql://${postgres.user}@${postgres.host}:${postgres.port}/${postgres.database}`;
  const { refresh_token } = sandbox.issueTokens({ expiresInSeconds: 3600 });
  sandbox.resetStats();
  // one after another would hide the race: the three start (and first refresh) at once
  instances = await Promise.all([0, 1, 2].map(() => startTestServer({ config: { databases: { keap: connection(refresh_token) } } })));
});
after(async () => {
  await Promise.all(instances.map((s) => s.stop()));
  await sandbox?.close();
  await postgres?.stop();
});

/**
 * 30 sessions at once, spread over the instances (ten each), each asking Keap (AutoCache=false, and every
 * session's first look at a table fetches it).
 */
async function thirtyQueries(): Promise<number> {
  const tables = ['tags', 'campaigns', 'products', 'users', 'tag_categories'];
  const done = await Promise.all(Array.from({ length: 30 }, (_, i) => instances[i % 3]!.withClient(async (c) => {
    await c.query(`SELECT count(*)::int AS n FROM (SELECT * FROM ${tables[i % tables.length]}) s`);
    return 1;
  })));
  return done.reduce((a, b) => a + b, 0);
}

test('three instances starting at once make one refresh between them; the pair is a row in the shared PostgreSQL', { skip }, async () => {
  assert.equal(await thirtyQueries(), 30);
  assert.equal(sandbox.stats().tokenRefreshes, 1, 'one refresh for three instances');
  const c = new pg.Client(postgres.clientConfig());
  await c.connect();
  try {
    const { rows } = await c.query('SELECT connection, tokens FROM keapgres.oauth_tokens');
    assert.equal(rows.length, 1);
    assert.ok(rows[0].tokens.accessToken && rows[0].tokens.refreshToken);
    assert.deepEqual((await c.query('SELECT version FROM keapgres.schema_version')).rows, [{ version: 2 }]);
  } finally {
    await c.end();
  }
});

test('30 sessions over three instances while the token expires: exactly one refresh, no failed query', { skip }, async () => {
  await thirtyQueries();
  sandbox.expireAccessTokens();
  sandbox.resetStats();
  assert.equal(await thirtyQueries(), 30);
  assert.equal(sandbox.stats().tokenRefreshes, 1);
  // and again: the rotated refresh token was used once, by one instance
  sandbox.expireAccessTokens();
  sandbox.resetStats();
  await thirtyQueries();
  assert.equal(sandbox.stats().tokenRefreshes, 1);
});

test('CacheConnection to a PostgreSQL that is not there: the server does not start, and says why without the password', { skip }, async () => {
  const { refresh_token } = sandbox.issueTokens({ expiresInSeconds: 3600 });
  const closed = `postgresql://keapgres:s3cret-pw@127.0.0.1:1/nowhere`;
  const conn = connection(refresh_token).replace(cacheConnection, closed);
  await assert.rejects(startTestServer({ config: { databases: { keap: conn } } }), (err: Error & { detail?: string; hint?: string }) => {
    assert.match(err.message, /CacheConnection/);
    assert.match(err.detail ?? '', /127\.0\.0\.1:1/);
    assert.doesNotMatch(`${err.message} ${err.detail} ${err.hint}`, /s3cret-pw/);
    return true;
  });
});

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

test('an instance killed in the middle of a refresh: the stored pair stays usable, and another instance refreshes with it', { skip, timeout: 60_000 }, async () => {
  const { refresh_token } = sandbox.issueTokens({ expiresInSeconds: 3600 });
  const conn = connection(refresh_token).replace('OAuthSettingsLocation=memory://unused', 'OAuthSettingsLocation=memory://killed-mid-refresh');
  // the token request takes 4 s to reach Keap: the instance is killed while it holds the lock and waits
  sandbox.setFaults({ tokenLatencyMs: 4000 });
  sandbox.resetStats();
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const child = spawn(process.execPath, [path.join(repo, 'server/keapgres.js'), 'serve', '--port', String(await freePort()), '--connection', conn], {
    env: { ...process.env, KEAPGRES_LOG_LEVEL: 'warn', KEAPGRES_CONFIG: '' }, stdio: 'ignore',
  });
  const exited = new Promise((r) => child.once('exit', r));
  const db = new pg.Client(postgres.clientConfig());
  await db.connect();
  try {
    // wait until the child holds the refresh lock (an advisory lock of a keapgres connection)
    let held = false;
    for (let i = 0; i < 200 && !held; i++) {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'keapgres'`);
      held = rows[0].n > 0;
      if (!held) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(held, 'the child took the refresh lock');
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGKILL');
    await exited;
    sandbox.setFaults({ tokenLatencyMs: 0 });
    // another instance: the lock went with the dead connection, the stored (or configured) pair still works
    const next = await startTestServer({ config: { databases: { keap: conn } } });
    try {
      const rows = await next.rows<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT * FROM tags) t');
      assert.ok(rows[0]!.n > 0);
    } finally {
      await next.stop();
    }
    assert.equal(sandbox.stats().tokenRefreshes, 1, 'the killed refresh never reached Keap; one refresh in all');
    const { rows } = await db.query(`SELECT tokens FROM keapgres.oauth_tokens WHERE connection = 'killed-mid-refresh'`);
    assert.equal(rows.length, 1);
    assert.ok(rows[0].tokens.refreshToken && rows[0].tokens.refreshToken !== refresh_token, 'the new pair is stored');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    sandbox.setFaults({ tokenLatencyMs: 0 });
    await db.end();
  }
});

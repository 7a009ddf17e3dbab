// Several keapgres instances behind one address, sharing a real PostgreSQL 15 (CacheConnection): each
// registers in keapgres.instances under its own id, its pids carry that id, and a CancelRequest that
// reaches another instance than the session's (as a load balancer sends it) is forwarded to the right one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { InteractivePsql } from './support/interactive-psql.js';
import { keyOf, sendCancel } from './support/cancel-request.js';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { findPostgresBin, startPostgres, type ThrowawayPostgres } from './support/postgres.js';
import { PID_COUNTER_BITS } from '../src/wire/cancel-forwarder.js';
import { createScramVerifier } from '../src/wire/scram.js';

function missing(): string | false {
  if (findPostgresBin() === undefined) return 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql';
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'psql is missing (apt-get install postgresql-client)';
  }
  return false;
}
const why = missing();
const skip = why && !process.env.CI ? why : false;

const BALANCED_PASSWORD = 'lb-user-pw';

/** short, so that a killed instance's id is free within the test; every instance must use the same */
const INSTANCE_TIMEOUT = 8;

let postgres: ThrowawayPostgres;
let cacheConnection: string;
let instances: TestServer[] = [];
const logs: string[][] = [[], [], []];
let balancer: RoundRobin;

before(async () => {
  if (skip) return;
  postgres = await startPostgres();
  cacheConnection = `postgresql://${postgres.user}@${postgres.host}:${postgres.port}/${postgres.database}`;
  // at once: they race for the smallest free id
  // a user with a password, as in docker/compose.yaml: HAProxy's pgsql-check then stops at the SCRAM request
  // instead of starting a session; the tests' own user "tester" is trusted
  const users = [{ name: 'metabase', verifier: createScramVerifier(BALANCED_PASSWORD) }];
  instances = await Promise.all([0, 1, 2].map((i) => startTestServer({ logLines: logs[i], config: { cacheConnection, instanceTimeout: INSTANCE_TIMEOUT, users, trust: ['tester'] } })));
  balancer = await RoundRobin.start(instances.map((s) => s.port));
});
after(async () => {
  await balancer?.close();
  await Promise.all(instances.map((s) => s.stop()));
  await postgres?.stop();
});


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sharedRows<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client(postgres.clientConfig());
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** A TCP load balancer in the test: each new connection goes to the next instance in turn (HAProxy's roundrobin). */
class RoundRobin {
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(ports: number[]): Promise<RoundRobin> {
    let rr: RoundRobin | undefined;
    const server = net.createServer((client) => {
      const to = ports[rr!.next++ % ports.length]!;
      const upstream = net.connect(to, '127.0.0.1');
      for (const s of [client, upstream]) {
        rr!.sockets.add(s);
        s.on('close', () => rr!.sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    rr = new RoundRobin(server, (server.address() as net.AddressInfo).port);
    return rr;
  }

  /** the instance the next connection goes to */
  set nextIndex(i: number) {
    this.next = i;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

test('three instances starting at once take ids 1, 2 and 3 and register where they accept cancel requests', { skip }, async () => {
  const ids = instances.map((s) => s.instance?.id);
  assert.deepEqual([...ids].sort(), [1, 2, 3]);
  const rows = await sharedRows<{ id: number; cancel_host: string; cancel_port: number }>('SELECT id, cancel_host, cancel_port FROM keapgres.instances ORDER BY id');
  assert.deepEqual(rows, instances.map((s) => ({ id: s.instance!.id, cancel_host: '127.0.0.1', cancel_port: s.port })).sort((a, b) => a.id - b.id));
});

test('pids are unique across instances and carry the instance id; pg_stat_activity shows only the instance\'s own sessions', { skip }, async () => {
  const clients: Array<{ c: pg.Client; instance: number }> = [];
  try {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) {
        const c = new pg.Client(instances[i]!.clientConfig({ application_name: `pids_${i}` }));
        await c.connect();
        clients.push({ c, instance: i });
      }
    }
    const pids = clients.map(({ c }) => keyOf(c).processID);
    assert.equal(new Set(pids).size, pids.length, `pids repeat: ${pids.join(', ')}`);
    for (const { c, instance } of clients) {
      const pid = keyOf(c).processID;
      assert.ok(pid > 0 && pid <= 0x7fffffff, `pid ${pid} is a positive int32`);
      assert.equal(pid >>> PID_COUNTER_BITS, instances[instance]!.instance!.id);
      assert.equal((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid);
    }
    const { rows } = await clients[0]!.c.query(`SELECT pid, application_name FROM pg_stat_activity WHERE application_name LIKE 'pids\\_%' ORDER BY pid`);
    assert.deepEqual(rows.map((r) => r.application_name), ['pids_0', 'pids_0', 'pids_0']);
    // signals stay per instance: another instance's pid is no backend here (PostgreSQL's warning, false)
    const warnings: string[] = [];
    clients[0]!.c.on('notice', (n) => warnings.push(n.message ?? ''));
    const onB = keyOf(clients[1]!.c).processID;
    assert.deepEqual((await clients[0]!.c.query('SELECT pg_cancel_backend($1) AS ok', [onB])).rows, [{ ok: false }]);
    assert.deepEqual(warnings, [`PID ${onB} is not a PostgreSQL backend process`]);
  } finally {
    await Promise.all(clients.map(({ c }) => c.end()));
  }
});

test('a cancel sent to the wrong instance ends pg_sleep(30) with 57014 at once, checks the secret there, and the session goes on', { skip }, async (t) => {
  const [a, b] = [instances[0]!, instances[1]!];
  const c = new pg.Client(a.clientConfig());
  await c.connect();
  try {
    await c.query(`SET application_name = 'kept'`);
    const key = keyOf(c);
    let ended = false;
    const running = c.query('SELECT pg_sleep(30)').then(() => { throw new Error('pg_sleep(30) was not cancelled'); }, (e: { code?: string; message: string }) => e)
      .finally(() => { ended = true; });
    await sleep(800);
    // a wrong secret, forwarded by B to A, is ignored there
    await sendCancel(b.port, { ...key, secretKey: key.secretKey ^ 0x5a5a });
    await sleep(300); // B closed the connection once A had the request: A has already ignored it
    assert.equal(ended, false, 'a cancel with a wrong secret ended the statement');
    const sent = performance.now();
    await sendCancel(b.port, key);
    const error = await running;
    const ms = performance.now() - sent;
    assert.equal(error.code, '57014');
    assert.equal(error.message, 'canceling statement due to user request');
    assert.ok(ms < 2000, `the forwarded cancel took ${Math.round(ms)} ms`);
    assert.deepEqual((await c.query(`SELECT current_setting('application_name') AS app`)).rows, [{ app: 'kept' }]);
    // the same cancel sent to the session's own instance, for comparison
    const again = c.query('SELECT pg_sleep(30)').then(() => undefined, (e: { code?: string }) => e.code);
    await sleep(800);
    const direct = performance.now();
    await sendCancel(a.port, key);
    assert.equal(await again, '57014');
    t.diagnostic(`57014 ${Math.round(ms)} ms after the CancelRequest reached the other instance; ${Math.round(performance.now() - direct)} ms when sent to the session's own`);
    const forwarded = logs[1]!.filter((l) => l.includes('forwarded'));
    assert.ok(forwarded.length >= 2, 'B logged the forwards');
    const secret = new RegExp(`\\b(${key.secretKey}|${key.secretKey ^ 0x5a5a})\\b`);
    for (const l of logs.flat()) assert.doesNotMatch(l, secret, 'a cancel secret reached a log line');
  } finally {
    await c.end();
  }
});

test('Ctrl-C in psql behind a round-robin balancer: its cancel reaches another instance and is forwarded', { skip }, async () => {
  balancer.nextIndex = 2; // psql's session goes to C, its CancelRequest (the next connection) to A
  const session = new InteractivePsql(`host=127.0.0.1 port=${balancer.port} dbname=keap user=tester`, instances[0]!.configDir);
  try {
    session.type(`SELECT 'sta' || 'rted' AS marker, pg_backend_pid() >> ${PID_COUNTER_BITS} AS instance;\n`);
    let at = await session.waitFor(new RegExp(`started\\s*\\|\\s*${instances[2]!.instance!.id}\\b`));
    session.type('SELECT pg_sleep(30);\n');
    at = await session.waitFor(/pg_sleep\(30\);\r?\n/, at);
    await sleep(800);
    const pressed = Date.now();
    session.type('\x03');
    at = await session.waitFor(/ERROR:\s+canceling statement due to user request/, at, 5000);
    const cancelMs = Date.now() - pressed;
    assert.ok(cancelMs < 2000, `cancel took ${cancelMs} ms`);
    at = await session.waitFor(/keap=# $/, at);
    session.type(`SELECT 'aft' || 'er' AS marker;\n`);
    await session.waitFor(/after/, at);
    assert.ok(logs[0]!.some((l) => l.includes('forwarded')), 'the cancel reached instance A, which forwarded it');
    assert.equal(await session.quit(), 0);
  } finally {
    await session.quit().catch(() => undefined);
  }
});

function haproxyBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

test('Ctrl-C in psql through HAProxy with docker/haproxy.cfg: leastconn sends the cancel to the other instance, which forwards it', { skip: skip || (haproxyBinary() ? false : 'haproxy is not installed (apt-get install haproxy; .ci/run does)') }, async (t) => {
  const [a, b] = [instances[0]!, instances[1]!];
  const port = await freePort();
  // the compose profile's file, with loopback addresses for the compose network's names
  const cfg = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docker', 'haproxy.cfg'), 'utf8')
    .replace(/^resolvers docker\n(?:[ \t]+.*\n)*/m, '')
    .replace(/ resolvers docker init-addr \S+/, '')
    .replace('bind :5433', `bind 127.0.0.1:${port}`)
    .replace(/^([ \t]+server keapgres-1) keapgres-1:5433/m, `$1 127.0.0.1:${a.port}`)
    .replace(/^([ \t]+server keapgres-2) keapgres-2:5433/m, `$1 127.0.0.1:${b.port}`);
  assert.doesNotMatch(cfg, /keapgres-\d:5433|resolvers/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-haproxy-'));
  writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
  const haproxy = spawn(haproxyBinary()!, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let haproxyOut = '';
  haproxy.stdout.on('data', (d: Buffer) => { haproxyOut += d.toString(); });
  haproxy.stderr.on('data', (d: Buffer) => { haproxyOut += d.toString(); });
  let session: InteractivePsql | undefined;
  try {
    // HAProxy listening, and its health checks (a StartupMessage for user "haproxy") finding both instances up
    const deadline = Date.now() + 20_000;
    while (!(await accepts(port)) && Date.now() < deadline) await sleep(100);
    await sleep(6_000);
    assert.doesNotMatch(haproxyOut, /is DOWN|ALERT/, haproxyOut);
    session = new InteractivePsql(`host=127.0.0.1 port=${port} dbname=keap user=metabase`, a.configDir, BALANCED_PASSWORD);
    session.type(`SELECT 'sta' || 'rted' AS marker, pg_backend_pid() >> ${PID_COUNTER_BITS} AS instance;\n`);
    let at = await session.waitFor(/started\s*\|\s*(\d+)/);
    const holder = Number(/started\s*\|\s*(\d+)/.exec(session.output)![1]);
    const other = holder === a.instance!.id ? 1 : 0;
    session.type('SELECT pg_sleep(30);\n');
    at = await session.waitFor(/pg_sleep\(30\);\r?\n/, at);
    await sleep(800);
    const before = logs[other]!.length;
    const pressed = Date.now();
    session.type('\x03');
    at = await session.waitFor(/ERROR:\s+canceling statement due to user request/, at, 5000);
    const cancelMs = Date.now() - pressed;
    assert.ok(cancelMs < 2000, `cancel took ${cancelMs} ms`);
    assert.ok(logs[other]!.slice(before).some((l) => l.includes('forwarded')), 'the cancel went to the other instance, which forwarded it');
    at = await session.waitFor(/keap=[#>] $/, at);
    session.type(`SELECT 'aft' || 'er' AS marker;\n`);
    await session.waitFor(/after/, at);
    t.diagnostic(`Ctrl-C through HAProxy: 57014 shown ${cancelMs} ms after the key press`);
    assert.equal(await session.quit(), 0);
  } finally {
    await session?.quit().catch(() => undefined);
    haproxy.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cancel requests for unknown instances are ignored at once, and a table pointing back never makes a loop', { skip }, async () => {
  const [a, b] = [instances[0]!, instances[1]!];
  // id 2000: never registered; 2001: a live row whose address is B itself (as after a restart with a new id)
  await sharedRows(`INSERT INTO keapgres.instances (id, cancel_host, cancel_port) VALUES (2001, '127.0.0.1', $1)`, [b.port]);
  try {
    const before = logs[1]!.length;
    const t0 = performance.now();
    await sendCancel(b.port, { processID: (2000 << PID_COUNTER_BITS) | 7, secretKey: 1 });
    await sendCancel(a.port, { processID: (2001 << PID_COUNTER_BITS) | 7, secretKey: 1 }); // A → B, and B must not send it on
    await sendCancel(b.port, { processID: 999, secretKey: 1 }); // a pid without an instance id
    assert.ok(performance.now() - t0 < 3000);
    await sleep(300);
    assert.equal(logs[1]!.slice(before).filter((l) => l.includes('forwarded')).length, 0, 'B forwarded something');
    assert.ok(logs[0]!.some((l) => l.includes('forwarded') && l.includes('"instance":2001')));
  } finally {
    await sharedRows('DELETE FROM keapgres.instances WHERE id = 2001');
  }
});

test('an instance that dies frees its id after the timeout; one that stops frees it at once', { skip }, async (t) => {
  // a real process, killed with SIGKILL: no chance to delete its row
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-instance-'));
  const configFile = path.join(dir, 'keapgres.json');
  writeFileSync(configFile, JSON.stringify({
    host: '127.0.0.1', port: 0, cacheConnection, instanceTimeout: INSTANCE_TIMEOUT, idleSpareEngines: 0, idleLoadedEngines: 0, logLevel: 'warn',
    sandbox: { seed: 1, contacts: 50, cache: `CacheLocation=${path.join(dir, 'cache')}` },
  }));
  const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'server', 'keapgres.js');
  const child = spawn(process.execPath, [bin, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KEAPGRES_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise((r) => child.on('exit', r));
  let successor: TestServer | undefined;
  let replacement: TestServer | undefined;
  try {
    const deadline = Date.now() + 120_000;
    let port: number | undefined;
    while (port === undefined && Date.now() < deadline && child.exitCode === null) {
      port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]) || undefined;
      await sleep(100);
    }
    assert.ok(port, `the child did not start:\n${out}`);
    const [row] = await sharedRows<{ id: number }>('SELECT id FROM keapgres.instances WHERE cancel_port = $1', [port]);
    assert.equal(row?.id, 4, 'the fourth instance took id 4');
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    // within the timeout the dead instance's row still holds id 4
    successor = await startTestServer({ config: { cacheConnection, instanceTimeout: INSTANCE_TIMEOUT } });
    if (Date.now() - killedAt < INSTANCE_TIMEOUT * 1000 - 1000) assert.equal(successor.instance!.id, 5);
    await successor.stop();
    successor = undefined;
    assert.equal((await sharedRows('SELECT 1 FROM keapgres.instances WHERE id = 5')).length, 0, 'a stopped instance deletes its row');
    await sleep(Math.max(0, killedAt + INSTANCE_TIMEOUT * 1000 + 500 - Date.now()));
    replacement = await startTestServer({ config: { cacheConnection, instanceTimeout: INSTANCE_TIMEOUT } });
    assert.equal(replacement.instance!.id, 4, 'the dead instance\'s id is taken over');
    t.diagnostic(`id 4 taken over ${Math.round((Date.now() - killedAt) / 1000)} s after its instance was killed`);
    // and the others still hold theirs (their heartbeats kept them)
    assert.deepEqual((await sharedRows<{ id: number }>('SELECT id FROM keapgres.instances ORDER BY id')).map((r) => r.id), [1, 2, 3, 4]);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await successor?.stop();
    await replacement?.stop();
    rmSync(dir, { recursive: true, force: true });
    // the engines' data directories of the killed process (it had no chance to remove them)
    if (child.pid) rmSync(path.join(os.tmpdir(), `keapgres-${child.pid}`), { recursive: true, force: true });
  }
});

test('a server-level CacheConnection to a PostgreSQL that is not there: the server does not start, and says why without the password', { skip }, async () => {
  const closed = 'postgresql://keapgres:s3cret-pw@127.0.0.1:1/nowhere';
  await assert.rejects(startTestServer({ config: { cacheConnection: closed } }), (err: Error & { detail?: string; hint?: string }) => {
    assert.match(err.message, /CacheConnection/);
    assert.match(err.detail ?? '', /127\.0\.0\.1:1/);
    assert.doesNotMatch(`${err.message} ${err.detail} ${err.hint} ${err.stack}`, /s3cret-pw/);
    return true;
  });
});

// last: it stops the shared PostgreSQL
test('the shared PostgreSQL down later: sessions start and are cancelled on their own instance; a cancel for another instance is dropped', { skip }, async () => {
  const [a, b] = [instances[0]!, instances[1]!];
  const c = new pg.Client(a.clientConfig());
  await c.connect();
  try {
    await postgres.stop();
    await sleep(2_500); // past the 2 s for which an instance's address is remembered
    let ended = false;
    const running = c.query('SELECT pg_sleep(30)').then(() => undefined, (e: { code?: string }) => e.code).finally(() => { ended = true; });
    await sleep(800);
    const t0 = performance.now();
    await sendCancel(b.port, keyOf(c));
    assert.ok(performance.now() - t0 < 3000, 'the cancel connection was closed promptly');
    assert.ok(logs[1]!.some((l) => l.includes('not forwarded: the CacheConnection PostgreSQL did not answer')));
    await sleep(300);
    assert.equal(ended, false, 'the statement ended without its cancel reaching it');
    await sendCancel(a.port, keyOf(c));
    assert.equal(await running, '57014');
    assert.deepEqual(await b.rows('SELECT 1 AS one'), [{ one: 1 }], 'new sessions start without the shared PostgreSQL');
  } finally {
    await c.end();
  }
});


// Clients that connect and go at once — health checks, pools closing early, a user who has no password
// to give — are never answered with a protocol error, and leave nothing in the log above debug
// (PostgreSQL, too, is silent when a client leaves during startup or authentication).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import { createScramVerifier } from '../src/wire/scram.js';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { findPostgresBin, startPostgres, type ThrowawayPostgres } from './support/postgres.js';

const noPsql = spawnSync('pg_isready', ['--version']).status !== 0 && 'pg_isready and psql are not installed (apt-get install postgresql-client)';
const noPostgres = findPostgresBin() === undefined && 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql';

interface LoggedServer { server: TestServer; lines: string[] }
let open: LoggedServer; // no users: loopback clients are trusted
let scram: LoggedServer; // SCRAM-SHA-256 for alice, TLS offered
let cleartext: LoggedServer; // cleartext passwords, only over TLS
let certDir: string;

async function loggedServer(config: Record<string, unknown> = {}): Promise<LoggedServer> {
  const lines: string[] = [];
  return { server: await startTestServer({ config, logLines: lines }), lines };
}

before(async () => {
  certDir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-certs-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.crt', '-days', '1', '-subj', '/CN=localhost'], { cwd: certDir, stdio: 'pipe' });
  const secured = {
    users: [{ name: 'alice', verifier: createScramVerifier('correct horse') }],
    tls: { cert: path.join(certDir, 'server.crt'), key: path.join(certDir, 'server.key') },
    idleSpareEngines: 0,
  };
  open = await loggedServer();
  scram = await loggedServer(secured);
  cleartext = await loggedServer({ ...secured, passwordMethod: 'password' });
});
after(async () => {
  for (const s of [open, scram, cleartext]) await s?.server.stop();
  rmSync(certDir, { recursive: true, force: true });
});

interface LogLine { level: string; msg: string }

/**
 * Runs `act` against `s` and returns the log lines it caused, once the server has logged `ending`
 * (how it saw the client go). Each test runs alone, so the lines between are this client's.
 */
async function logOf(s: LoggedServer, ending: readonly string[], act: () => Promise<void>): Promise<LogLine[]> {
  const from = s.lines.length;
  await act();
  const mine = () => s.lines.slice(from).map((l) => JSON.parse(l) as LogLine);
  // bounded, so that a server that never logs the ending fails here with what it logged instead
  for (let i = 0; i < 500 && !mine().some((l) => ending.includes(l.msg)); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(mine().some((l) => ending.includes(l.msg)), `the server logged none of ${ending.join(', ')}: ${JSON.stringify(mine())}`);
  return mine();
}

/** Nothing above debug, except the start and end of a session that really started. */
function assertQuiet(lines: LogLine[]): void {
  const loud = lines.filter((l) => l.level !== 'debug' && l.level !== 'trace' && l.msg !== 'session started' && l.msg !== 'session ended');
  assert.deepEqual(loud, [], 'log lines above debug');
}

const CLIENT_LEFT = ['connection ended during startup'];
/** a session that started, or was about to when the client's close arrived */
const SESSION_ENDED = ['session ended', 'the client left before its session started'];

function startupPacket(params: Record<string, string>): Buffer {
  const body = Buffer.from(`${Object.entries(params).map(([k, v]) => `${k}\0${v}\0`).join('')}\0`);
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

function request(code: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(code, 4);
  return b;
}
const SSL_REQUEST = request(80877103);
const GSSENC_REQUEST = request(80877104);

function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const TERMINATE = frame('X', Buffer.alloc(0));

/** A byte-level client: what it receives, and when it may stop waiting. */
class Probe {
  private data = Buffer.alloc(0);
  private wake?: () => void;
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => { this.data = Buffer.concat([this.data, d]); this.wake?.(); });
    socket.on('error', () => undefined);
    socket.on('close', () => { this.closed = true; this.wake?.(); });
  }

  static async connect(port: number): Promise<Probe> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    return new Probe(socket);
  }

  /** Waits for `n` bytes in all (1 for an SSL answer) or the close; returns what came. */
  async bytes(n: number): Promise<Buffer> {
    while (this.data.length < n && !this.closed) await new Promise<void>((r) => (this.wake = r));
    return this.data;
  }

  /** Waits for a backend message of this type (and `code` for an Authentication request); returns every message so far. */
  async message(type: string, code?: number): Promise<Array<{ type: string; body: Buffer }>> {
    for (;;) {
      const ms = messages(this.data);
      if (ms.some((m) => m.type === type && (code === undefined || m.body.readInt32BE(0) === code))) return ms;
      if (this.closed) throw new Error(`the server closed before sending ${type}${code ?? ''}: got ${ms.map((m) => m.type).join(' ')}`);
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** Closes our side and waits until the server has closed its side too. */
  async leave(): Promise<void> {
    this.socket.end();
    while (!this.closed) await new Promise<void>((r) => (this.wake = r));
  }

  received(): Array<{ type: string; body: Buffer }> {
    return messages(this.data);
  }
}

function messages(data: Buffer): Array<{ type: string; body: Buffer }> {
  const out = [];
  let pos = 0;
  while (data.length - pos >= 5) {
    const len = data.readInt32BE(pos + 1);
    if (data.length - pos < len + 1) break;
    out.push({ type: String.fromCharCode(data[pos]!), body: data.subarray(pos + 5, pos + 1 + len) });
    pos += len + 1;
  }
  return out;
}

/** Upgrades a probe to TLS after an SSLRequest answered "S". */
async function overTls(p: Probe): Promise<Probe> {
  p.socket.removeAllListeners('data');
  const secure = tls.connect({ socket: p.socket, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => { secure.once('secureConnect', resolve); secure.once('error', reject); });
  return new Probe(secure);
}

async function sslProbe(port: number): Promise<Probe> {
  const p = await Probe.connect(port);
  p.socket.write(SSL_REQUEST);
  assert.equal((await p.bytes(1)).toString('latin1'), 'S');
  return overTls(p);
}

/**
 * node-postgres's connect() and, at once, end(): the outcome as the client sees it, once end() resolved.
 * end() writes Terminate on the still-connecting socket, so it reaches the server before the StartupMessage.
 */
async function connectThenEnd(config: pg.ClientConfig): Promise<{ connect: string; errors: string[] }> {
  const c = new pg.Client(config);
  const errors: string[] = [];
  c.on('error', (e) => errors.push(e.message));
  let connect = 'pending';
  c.connect().then(() => (connect = 'connected'), (e: Error) => (connect = `rejected: ${e.message}`));
  await c.end();
  await new Promise((r) => setImmediate(r));
  return { connect, errors };
}

test("node-postgres's connect-then-end gets what PostgreSQL gives it: no error, and nothing in the log", { skip: noPostgres }, async () => {
  let real: ThrowawayPostgres | undefined;
  try {
    real = await startPostgres();
    const fromPostgres = await connectThenEnd(real.clientConfig());
    let fromKeapgres: Awaited<ReturnType<typeof connectThenEnd>> | undefined;
    const lines = await logOf(open, CLIENT_LEFT, async () => { fromKeapgres = await connectThenEnd(open.server.clientConfig()); });
    // PostgreSQL closes without a word (node-postgres leaves connect() unsettled once end() was called)
    assert.deepEqual(fromKeapgres, fromPostgres);
    assert.deepEqual(fromKeapgres, { connect: 'pending', errors: [] });
    assertQuiet(lines);
  } finally {
    await real?.stop();
  }
});

test('connect-then-end with a password and with TLS is as quiet', async () => {
  for (const extra of [{ user: 'alice', password: 'correct horse' }, { user: 'alice', password: 'correct horse', ssl: { rejectUnauthorized: false } }]) {
    let outcome: Awaited<ReturnType<typeof connectThenEnd>> | undefined;
    const lines = await logOf(scram, CLIENT_LEFT, async () => { outcome = await connectThenEnd(scram.server.clientConfig(extra)); });
    assert.deepEqual(outcome, { connect: 'pending', errors: [] });
    assertQuiet(lines);
  }
});

test('a bare TCP connect and close', async () => {
  let p: Probe | undefined;
  const lines = await logOf(open, CLIENT_LEFT, async () => { p = await Probe.connect(open.server.port); await p.leave(); });
  assert.equal(p!.received().length, 0);
  assertQuiet(lines);
});

test('an SSLRequest, then a close: before the answer, after "N", after "S", and after the TLS handshake', async () => {
  const cases: Array<[LoggedServer, (p: Probe) => Promise<Probe>]> = [
    [open, async (p) => { p.socket.write(SSL_REQUEST); return p; }],
    [open, async (p) => { p.socket.write(SSL_REQUEST); assert.equal((await p.bytes(1)).toString('latin1'), 'N'); return p; }],
    [open, async (p) => { p.socket.write(GSSENC_REQUEST); assert.equal((await p.bytes(1)).toString('latin1'), 'N'); return p; }],
    [scram, async (p) => { p.socket.write(SSL_REQUEST); assert.equal((await p.bytes(1)).toString('latin1'), 'S'); return p; }],
    [scram, async (p) => { p.socket.write(SSL_REQUEST); await p.bytes(1); return overTls(p); }],
  ];
  for (const [s, upTo] of cases) {
    let last: Probe | undefined;
    const lines = await logOf(s, CLIENT_LEFT, async () => { last = await upTo(await Probe.connect(s.server.port)); await last.leave(); });
    assert.ok(!last!.received().some((m) => m.type === 'E'), 'no ErrorResponse');
    assertQuiet(lines);
  }
});

test('a StartupMessage and Terminate at once: the session starts and ends without an error', async () => {
  let p: Probe | undefined;
  const lines = await logOf(open, SESSION_ENDED, async () => {
    p = await Probe.connect(open.server.port);
    p.socket.write(Buffer.concat([startupPacket({ user: 'tester', database: 'keap' }), TERMINATE]));
    await p.leave();
  });
  assert.ok(!p!.received().some((m) => m.type === 'E'), 'no ErrorResponse');
  assertQuiet(lines);
});

test('Terminate alone where the startup packet belongs', async () => {
  let p: Probe | undefined;
  const lines = await logOf(open, CLIENT_LEFT, async () => { p = await Probe.connect(open.server.port); p.socket.write(TERMINATE); await p.leave(); });
  assert.deepEqual(p!.received(), []);
  assertQuiet(lines);
});

test('a close in the middle of SCRAM: at the mechanism offer, and after the server-first message', async () => {
  const AUTH_SASL = 10;
  const AUTH_SASL_CONTINUE = 11;
  for (const stage of ['offer', 'server-first']) {
    let p: Probe | undefined;
    const lines = await logOf(scram, CLIENT_LEFT, async () => {
      p = await Probe.connect(scram.server.port);
      p.socket.write(startupPacket({ user: 'alice', database: 'keap' }));
      await p.message('R', AUTH_SASL);
      if (stage === 'server-first') {
        const clientFirst = Buffer.from('n,,n=,r=connectandgo0123456789');
        const len = Buffer.alloc(4);
        len.writeInt32BE(clientFirst.length);
        p.socket.write(frame('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), len, clientFirst])));
        await p.message('R', AUTH_SASL_CONTINUE);
      }
      await p.leave();
    });
    assert.ok(!p!.received().some((m) => m.type === 'E'), `${stage}: no ErrorResponse`);
    assertQuiet(lines);
  }
});

test('a close at the cleartext password request (over TLS)', async () => {
  const AUTH_CLEARTEXT = 3;
  let p: Probe | undefined;
  const lines = await logOf(cleartext, CLIENT_LEFT, async () => {
    p = await sslProbe(cleartext.server.port);
    p.socket.write(startupPacket({ user: 'alice', database: 'keap' }));
    await p.message('R', AUTH_CLEARTEXT);
    await p.leave();
  });
  assert.ok(!p!.received().some((m) => m.type === 'E'), 'no ErrorResponse');
  assertQuiet(lines);
});

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { PATH: process.env.PATH, HOME: certDir, LC_ALL: 'C.UTF-8', PSQLRC: '/dev/null', PGCONNECT_TIMEOUT: '10', ...env }, timeout: 30_000 },
      (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }));
  });
}

test('pg_isready leaves a quiet log, whether it gets a session, a SCRAM offer or a cleartext request', { skip: noPsql }, async () => {
  const cases: Array<[LoggedServer, readonly string[], Record<string, string>]> = [
    [open, SESSION_ENDED, {}],
    [scram, CLIENT_LEFT, {}],
    [cleartext, CLIENT_LEFT, { PGSSLMODE: 'require' }],
  ];
  for (const [s, ending, env] of cases) {
    let result: { code: number; stderr: string } | undefined;
    const lines = await logOf(s, ending, async () => {
      result = await run('pg_isready', ['-h', '127.0.0.1', '-p', String(s.server.port), '-d', 'keap', '-U', s === open ? 'tester' : 'alice'], env);
    });
    assert.equal(result!.code, 0, result!.stderr);
    assertQuiet(lines);
  }
});

test('psql without a password leaves at the password request: its own message, no server error, a quiet log', { skip: noPsql }, async () => {
  for (const [s, env] of [[scram, {}], [cleartext, { PGSSLMODE: 'require' }]] as const) {
    let result: { code: number; stderr: string } | undefined;
    const lines = await logOf(s, CLIENT_LEFT, async () => {
      result = await run('psql', ['-X', '-w', '-Atc', 'SELECT 1', `host=127.0.0.1 port=${s.server.port} dbname=keap user=alice`], env);
    });
    assert.notEqual(result!.code, 0);
    assert.match(result!.stderr, /no password supplied/);
    assert.doesNotMatch(result!.stderr, /FATAL|ERROR/);
    assertQuiet(lines);
  }
});

// Garbage on the wire: random bytes, truncated frames, absurd lengths, malformed startup packets and
// unknown protocol versions. Each such connection is refused or closed (with a PostgreSQL error where
// PostgreSQL sends one), and a client connected throughout, as well as new clients, are served as usual.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { PgListener } from '../src/wire/listener.js';
import { silentLogger } from '../src/log/logger.js';

let server: TestServer;
let bystander: pg.Client;

before(async () => {
  server = await startTestServer();
  bystander = new pg.Client(server.clientConfig({ application_name: 'bystander' }));
  await bystander.connect();
  await bystander.query('SELECT count(*) FROM tags');
});
after(async () => {
  await bystander.end();
  await server.stop();
});

// After every kind of garbage: the connected client and a new one still work.
afterEach(async () => {
  const r = await bystander.query(`SELECT current_setting('application_name') AS app, (SELECT count(*)::int FROM tags) AS n`);
  assert.equal(r.rows[0].app, 'bystander');
  assert.ok(r.rows[0].n > 0);
  const fresh = new pg.Client(server.clientConfig());
  await fresh.connect();
  try {
    assert.equal((await fresh.query('SELECT 1 AS one')).rows[0].one, 1);
  } finally {
    await fresh.end();
  }
});

/** Deterministic bytes (xorshift32), so a failure can be replayed. */
function randomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function startupPacket(params: Record<string, string>, opts: { version?: number; terminator?: boolean } = {}): Buffer {
  const pairs = Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0${v}\0`)]);
  const body = Buffer.concat([...pairs, opts.terminator === false ? Buffer.alloc(0) : Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(opts.version ?? 196608, 4);
  return Buffer.concat([head, body]);
}

function frame(type: string, body: Buffer, length = body.length + 4): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(length, 1);
  return Buffer.concat([head, body]);
}

interface BackendMessage { type: string; body: Buffer }
interface Conversation { messages: BackendMessage[]; closed: boolean; ms: number }

/**
 * A raw connection: writes `first`, then `afterLogin` once the server says ReadyForQuery, then ends its
 * side when `end`; collects what comes back until the server closes, `until` holds, or `waitMs` passes.
 */
function converse(first: Buffer[], opts: { afterLogin?: Buffer[]; end?: boolean; waitMs?: number; until?: (m: BackendMessage[]) => boolean } = {}): Promise<Conversation> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const started = performance.now();
    let done = false;
    let loggedIn = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ messages: parseMessages(data), closed, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 3000);
    socket.on('data', (d) => {
      data = Buffer.concat([data, d]);
      const messages = parseMessages(data);
      if (opts.afterLogin && !loggedIn && ready(messages)) {
        loggedIn = true;
        for (const c of opts.afterLogin) socket.write(c);
        if (opts.end) socket.end();
      }
      if (opts.until?.(messages)) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      for (const c of first) socket.write(c);
      if (opts.end && !opts.afterLogin) socket.end();
    });
  });
}

function parseMessages(data: Buffer): BackendMessage[] {
  const out: BackendMessage[] = [];
  let pos = 0;
  while (data.length - pos >= 5) {
    const len = data.readInt32BE(pos + 1);
    if (data.length - pos < len + 1) break;
    out.push({ type: String.fromCharCode(data[pos]), body: data.subarray(pos + 5, pos + 1 + len) });
    pos += len + 1;
  }
  return out;
}

function errorFields(m: BackendMessage): Record<string, string> {
  const fields: Record<string, string> = {};
  let pos = 0;
  while (pos < m.body.length && m.body[pos] !== 0) {
    const code = String.fromCharCode(m.body[pos]);
    const end = m.body.indexOf(0, pos + 1);
    fields[code] = m.body.toString('utf8', pos + 1, end);
    pos = end + 1;
  }
  return fields;
}

/** The connection was closed; if the server explained why first, it was a FATAL with one of `codes`. */
function assertRefused(c: Conversation, codes: string[]): void {
  assert.ok(c.closed, 'the server closed the connection');
  for (const m of c.messages.filter((x) => x.type === 'E')) {
    const f = errorFields(m);
    assert.equal(f.S, 'FATAL');
    assert.ok(codes.includes(f.C), `SQLSTATE ${f.C} (${f.M}) is not one of ${codes.join(', ')}`);
  }
  assert.ok(!c.messages.some((m) => m.type === 'R' || m.type === 'Z'), 'no session was started');
}

const login = () => startupPacket({ user: 'tester', database: 'keap' });
function ready(ms: BackendMessage[]): boolean {
  return ms.some((m) => m.type === 'Z');
}

/** Seeds whose random bytes do not start with a frontend message type (so the framer must refuse them at once). */
function garbageSeeds(count: number): number[] {
  const out: number[] = [];
  for (let seed = 1; out.length < count; seed++) {
    if (!'QPBDECHSXdcfFp'.includes(String.fromCharCode(randomBytes(1, seed)[0]))) out.push(seed);
  }
  return out;
}

test('random bytes instead of a startup packet: the connection is closed', async () => {
  for (const [n, seed] of [[1, 7], [64, 11], [4096, 13], [70_000, 17]]) {
    assertRefused(await converse([randomBytes(n, seed)], { end: true }), ['08P01', '0A000']);
  }
});

test('random bytes after a good login: FATAL 08P01 and the connection is closed', async () => {
  for (const seed of garbageSeeds(3)) {
    const c = await converse([login()], { afterLogin: [randomBytes(256, seed)], waitMs: 5000 });
    assert.ok(ready(c.messages), `seed ${seed}: logged in`);
    assert.ok(c.closed, `seed ${seed}: closed`);
    const errors = c.messages.filter((m) => m.type === 'E').map(errorFields);
    assert.equal(errors.length, 1, `seed ${seed}: one error`);
    assert.deepEqual([errors[0].S, errors[0].C], ['FATAL', '08P01']);
  }
  // any random bytes, the client leaving right after: closed, and never anything but 08P01
  for (const seed of [21, 22, 23, 24, 25]) {
    const c = await converse([login()], { afterLogin: [randomBytes(300, seed)], end: true, waitMs: 5000 });
    assert.ok(c.closed, `seed ${seed}: closed`);
    for (const e of c.messages.filter((m) => m.type === 'E').map(errorFields)) assert.equal(e.C, '08P01', `seed ${seed}: ${e.M}`);
  }
});

test('a truncated startup packet, then the client goes away', async () => {
  const full = login();
  assertRefused(await converse([full.subarray(0, full.length - 5)], { end: true }), ['08P01']);
  assertRefused(await converse([full.subarray(0, 3)], { end: true }), ['08P01']);
});

test('a truncated message in a session, then the client goes away', async () => {
  const query = frame('Q', Buffer.from('SELECT 1\0'));
  const c = await converse([login()], { afterLogin: [query.subarray(0, 7)], end: true, waitMs: 5000 });
  assert.ok(c.closed);
  assert.ok(ready(c.messages), 'the login itself succeeded');
  assert.ok(!c.messages.some((m) => m.type === 'D'), 'the partial query did not run');
});

test('a startup packet claiming 100 MiB is refused without waiting for the bytes', async () => {
  const head = Buffer.alloc(8);
  head.writeInt32BE(100 * 1024 * 1024, 0);
  head.writeInt32BE(196608, 4);
  const c = await converse([head, Buffer.from('user\0tester\0')]);
  assertRefused(c, ['08P01']);
  // PostgreSQL reports an impossible length to its own log only: the peer does not speak the protocol
  assert.deepEqual(c.messages, []);
  assert.ok(c.ms < 2000);
});

test('a message claiming 100 MiB in a session: FATAL 08P01 at once', async () => {
  const c = await converse([login()], { afterLogin: [Buffer.from([0x51, 0x06, 0x40, 0x00, 0x04]), Buffer.from('SELECT ')], waitMs: 5000 });
  assert.ok(c.closed);
  const errors = c.messages.filter((m) => m.type === 'E').map(errorFields);
  assert.equal(errors.length, 1);
  assert.deepEqual([errors[0].S, errors[0].C], ['FATAL', '08P01']);
  assert.match(errors[0].M, /exceeds the limit/);
});

test('a startup packet without its terminator is refused', async () => {
  const c = await converse([startupPacket({ user: 'tester', database: 'keap' }, { terminator: false })]);
  assertRefused(c, ['08P01']);
});

test('a CancelRequest of the wrong length, or for no session, is dropped', async () => {
  const short = Buffer.alloc(12);
  short.writeInt32BE(12, 0);
  short.writeInt32BE(80877102, 4);
  short.writeInt32BE(1234, 8);
  assertRefused(await converse([short]), ['08P01']);
  const unknown = Buffer.alloc(16);
  unknown.writeInt32BE(16, 0);
  unknown.writeInt32BE(80877102, 4);
  unknown.writeInt32BE(0x7fffffff, 8);
  unknown.writeInt32BE(42, 12);
  const c = await converse([unknown]);
  assert.ok(c.closed);
  assert.deepEqual(c.messages, [], 'PostgreSQL answers a CancelRequest with nothing');
});

test('unknown protocol versions are refused', async () => {
  for (const version of [(2 << 16) | 0, (4 << 16) | 0, 0x12345678, 0]) {
    const c = await converse([startupPacket({ user: 'tester', database: 'keap' }, { version })]);
    assertRefused(c, ['0A000', '08P01']);
  }
});

test('a malformed Bind in a session is an error, and the session goes on', async (t) => {
  const parse = frame('P', Buffer.from('\0SELECT $1::int AS v\0\0\0'));
  // claims one parameter of 1000 bytes but carries 2
  const badBind = frame('B', Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 1, 0, 0, 0x03, 0xe8, 0x31, 0x32])]));
  const sync = frame('S', Buffer.alloc(0));
  const after = frame('Q', Buffer.from('SELECT 42 AS answer\0'));
  const c = await converse([login()], { afterLogin: [parse, badBind, sync, after], waitMs: 8000, until: (ms) => ms.filter((m) => m.type === 'Z').length >= 3 || ms.some((m) => m.type === 'E' && errorFields(m).S === 'FATAL') });
  const errors = c.messages.filter((m) => m.type === 'E').map(errorFields);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].C, '08P01');
  t.diagnostic(`${errors[0].S}: ${errors[0].M}`);
  if (errors[0].S === 'ERROR') {
    const rows = c.messages.filter((m) => m.type === 'D');
    assert.equal(rows.length, 1, 'the next query ran');
    assert.match(rows[0].body.toString('latin1'), /42/);
  } else {
    assert.ok(c.closed, 'after a FATAL the connection is closed');
  }
});

test('many garbage connections at once', async () => {
  const kinds = [
    (i: number) => ({ first: [randomBytes(100 + i, i + 1)], end: true }),
    (i: number) => ({ first: [startupPacket({ user: `u${i}` }, { version: (9 << 16) | i })], end: false }),
    () => ({ first: [startupPacket({ user: 'tester', database: 'keap' }, { terminator: false })], end: false }),
    () => ({ first: [Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0])], end: false }),
  ];
  const garbage = Promise.all(Array.from({ length: 40 }, (_, i) => {
    const k = kinds[i % kinds.length](i);
    return converse(k.first, { end: k.end, waitMs: 8000 });
  }));
  // the connected client is answered while the garbage arrives
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => bystander.query('SELECT $1::int AS i', [i])));
  assert.deepEqual(answers.map((r) => r.rows[0].i), Array.from({ length: 10 }, (_, i) => i));
  for (const c of await garbage) assertRefused(c, ['08P01', '0A000']);
});

test('a malformed startup packet or an unknown protocol version is told why before the close, as PostgreSQL does', async () => {
  const noTerminator = await converse([startupPacket({ user: 'tester', database: 'keap' }, { terminator: false })]);
  const v4 = await converse([startupPacket({ user: 'tester', database: 'keap' }, { version: 4 << 16 })]);
  const codes = [noTerminator, v4].map((c) => c.messages.filter((m) => m.type === 'E').map((m) => errorFields(m).C));
  assert.deepEqual(codes, [['08P01'], ['0A000']]);
});

test('a client that never completes its startup packet is disconnected after the startup timeout', async () => {
  // a listener of its own with a short deadline (the server's is 60 s, as PostgreSQL's authentication_timeout)
  const listener = new PgListener({
    host: '127.0.0.1', port: 0, users: [], trust: false, maxSessions: 10, maxMessageBytes: 1 << 20,
    startupTimeoutMs: 400, databases: new Map(), logger: silentLogger(),
  });
  const { port } = await listener.listen();
  try {
    const half = login().subarray(0, 12);
    const held = await Promise.all([half, Buffer.alloc(0)].map((bytes) => new Promise<number>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
      const started = performance.now();
      const timer = setTimeout(() => { socket.destroy(); resolve(Infinity); }, 5000);
      socket.on('error', () => undefined);
      socket.on('close', () => { clearTimeout(timer); resolve(performance.now() - started); });
      socket.resume();
    })));
    for (const ms of held) assert.ok(ms >= 350 && ms < 3000, `connection held ${Math.round(ms)} ms`);
  } finally {
    await listener.stop(0);
  }
});

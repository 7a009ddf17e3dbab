// Authentication and TLS as PostgreSQL clients see them: SCRAM-SHA-256, trust, refusals, sslmode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createScramVerifier } from '../src/wire/scram.js';
import { startTestServer, type TestServer } from './support/keapgres.js';

let server: TestServer;
let certDir: string;

/** A throwaway CA and a server certificate for localhost/127.0.0.1 signed by it. */
function makeCertificates(dir: string): void {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=keapgres test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
}

before(async () => {
  certDir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-certs-'));
  makeCertificates(certDir);
  server = await startTestServer({
    config: {
      users: [{ name: 'alice', verifier: createScramVerifier('correct horse') }],
      trust: ['robot'],
      tls: { cert: path.join(certDir, 'server.crt'), key: path.join(certDir, 'server.key') },
      maxSessions: 4,
    },
  });
});
after(async () => {
  await server.stop();
  rmSync(certDir, { recursive: true, force: true });
});

async function connect(extra: Partial<pg.ClientConfig>): Promise<pg.Client> {
  const c = new pg.Client(server.clientConfig(extra));
  await c.connect();
  return c;
}

async function refusal(extra: Partial<pg.ClientConfig>): Promise<{ code?: string; message: string }> {
  const c = new pg.Client(server.clientConfig(extra));
  try {
    await c.connect();
  } catch (err) {
    return err as { code?: string; message: string };
  } finally {
    await c.end().catch(() => undefined);
  }
  throw new Error('connection was accepted');
}

test('SCRAM-SHA-256 with the right password logs in', async () => {
  const c = await connect({ user: 'alice', password: 'correct horse' });
  const r = await c.query('SELECT current_user AS u');
  assert.equal(r.rows[0].u, 'alice');
  await c.end();
});

test('a wrong password is refused with 28P01', async () => {
  const e = await refusal({ user: 'alice', password: 'wrong' });
  assert.equal(e.code, '28P01');
  assert.match(e.message, /password authentication failed for user "alice"/);
});

test('an unknown user is refused exactly like a wrong password', async () => {
  const e = await refusal({ user: 'mallory', password: 'whatever' });
  assert.equal(e.code, '28P01');
  assert.match(e.message, /password authentication failed for user "mallory"/);
});

test('a user the configuration trusts logs in without a password', async () => {
  const c = await connect({ user: 'robot' });
  assert.equal((await c.query('SELECT session_user AS u')).rows[0].u, 'robot');
  await c.end();
});

test('an unknown database is refused with 3D000', async () => {
  const e = await refusal({ user: 'robot', database: 'nope' });
  assert.equal(e.code, '3D000');
  assert.match(e.message, /database "nope" does not exist/);
});

test('sslmode=require: TLS is negotiated after SSLRequest', async () => {
  const c = await connect({ user: 'alice', password: 'correct horse', ssl: { rejectUnauthorized: false } });
  const r = await c.query('SELECT 1 AS one');
  assert.equal(r.rows[0].one, 1);
  const socket = (c as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream;
  assert.equal(socket.encrypted, true);
  await c.end();
});

test('sslmode=verify-full with psql against the test CA', { skip: spawnSync('psql', ['--version']).status !== 0 && 'psql is not installed' }, async () => {
  const dsn = `host=localhost port=${server.port} dbname=keap user=alice sslmode=verify-full sslrootcert=${path.join(certDir, 'ca.crt')}`;
  const { stdout: out } = await execFileAsync('psql', [dsn, '-XAtc', 'SELECT 42'], {
    env: { ...process.env, PGPASSWORD: 'correct horse' }, encoding: 'utf8',
  });
  assert.equal(out.trim(), '42');
  // A CA that did not sign the server's certificate is refused by the client.
  const other = mkdtempSync(path.join(os.tmpdir(), 'keapgres-otherca-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'o.key', '-out', 'o.crt', '-days', '1', '-subj', '/CN=other'], { cwd: other, stdio: 'pipe' });
  const bad = await execFileAsync('psql', [dsn.replace(path.join(certDir, 'ca.crt'), path.join(other, 'o.crt')), '-XAtc', 'SELECT 1'], { env: { ...process.env, PGPASSWORD: 'correct horse' }, encoding: 'utf8' }).then(() => ({ status: 0, stderr: '' }), (e: { code: number; stderr: string }) => ({ status: e.code, stderr: e.stderr }));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /certificate verify failed/);
  rmSync(other, { recursive: true, force: true });
  void readFileSync;
});

test('one session more than maxSessions is refused with 53300, and a freed slot is usable again', async () => {
  const held = await Promise.all([0, 1, 2, 3].map(() => connect({ user: 'robot' })));
  const e = await refusal({ user: 'robot' });
  assert.equal(e.code, '53300');
  await held.pop()!.end();
  await new Promise((r) => setTimeout(r, 100));
  const again = await connect({ user: 'robot' });
  assert.equal((await again.query('SELECT 1 AS x')).rows[0].x, 1);
  await again.end();
  await Promise.all(held.map((c) => c.end()));
});

// passwordMethod "password": cleartext passwords for clients without SCRAM, accepted only over TLS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createScramVerifier } from '../src/wire/scram.js';
import { startTestServer, type TestServer } from './support/keapgres.js';

let server: TestServer;
let certDir: string;

before(async () => {
  certDir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-certs-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.crt', '-days', '1', '-subj', '/CN=localhost'], { cwd: certDir, stdio: 'pipe' });
  server = await startTestServer({
    config: {
      users: [{ name: 'alice', verifier: createScramVerifier('correct horse') }],
      passwordMethod: 'password',
      tls: { cert: path.join(certDir, 'server.crt'), key: path.join(certDir, 'server.key') },
    },
  });
});
after(async () => {
  await server.stop();
  rmSync(certDir, { recursive: true, force: true });
});

async function attempt(extra: Partial<pg.ClientConfig>): Promise<{ code?: string; message: string } | 'ok'> {
  const c = new pg.Client(server.clientConfig(extra));
  try {
    await c.connect();
    assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, extra.user);
    return 'ok';
  } catch (err) {
    return err as { code?: string; message: string };
  } finally {
    await c.end().catch(() => undefined);
  }
}

test('over TLS, the right cleartext password logs in (checked against the SCRAM verifier)', async () => {
  assert.equal(await attempt({ user: 'alice', password: 'correct horse', ssl: { rejectUnauthorized: false } }), 'ok');
});

test('over TLS, a wrong password or an unknown user gets 28P01', async () => {
  for (const extra of [{ user: 'alice', password: 'wrong' }, { user: 'mallory', password: 'correct horse' }]) {
    const r = await attempt({ ...extra, ssl: { rejectUnauthorized: false } });
    assert.notEqual(r, 'ok');
    assert.equal((r as { code?: string }).code, '28P01');
  }
});

test('without TLS the password is never asked for: 28000 with a hint', async () => {
  const r = await attempt({ user: 'alice', password: 'correct horse' });
  assert.notEqual(r, 'ok');
  assert.equal((r as { code?: string }).code, '28000');
  assert.match((r as { message: string }).message, /only over TLS/);
});

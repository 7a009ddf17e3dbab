import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createScramVerifier, isScramVerifier, ScramServer } from '../src/wire/scram.js';
import { SqlError } from '../src/errors.js';

// node-postgres's real client side of SCRAM, so the server is checked against an independent implementation
const require = createRequire(import.meta.url);
const sasl = require('pg/lib/crypto/sasl.js') as {
  startSession(mechanisms: string[], stream?: unknown): { response: string; clientNonce: string };
  continueSession(session: unknown, password: string, serverData: string, stream?: unknown): Promise<void>;
  finalizeSession(session: unknown, serverData: string): void;
};

async function login(verifier: string | null, password: string, stream?: unknown): Promise<{ ok: boolean; clientAccepted?: boolean }> {
  const server = new ScramServer(verifier, 'alice');
  const session = sasl.startSession(['SCRAM-SHA-256'], stream);
  const serverFirst = server.handleClientFirst(session.response);
  await sasl.continueSession(session, password, serverFirst, stream);
  const result = server.handleClientFinal((session as unknown as { response: string }).response);
  if (!result.ok) return { ok: false };
  sasl.finalizeSession(session, result.serverFinal!);
  return { ok: true, clientAccepted: true };
}

test('a verifier has PostgreSQL’s SCRAM-SHA-256$iter:salt$StoredKey:ServerKey format', () => {
  const v = createScramVerifier('secret-pw', 4096);
  assert.match(v, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
  assert.ok(isScramVerifier(v));
  assert.ok(!isScramVerifier('md5abc'));
  assert.notEqual(createScramVerifier('secret-pw'), v, 'a fresh salt each time');
});

test('the RFC 7677 SCRAM-SHA-256 test vector passes, server signature included', () => {
  const verifier = createScramVerifier('pencil', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
  const server = new ScramServer(verifier, 'user', { serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
  const serverFirst = server.handleClientFirst('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  assert.equal(serverFirst, 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
  const result = server.handleClientFinal('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  assert.deepEqual(result, { ok: true, serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=' });
});

test('node-postgres’s SCRAM client logs in with the right password and checks the server signature', async () => {
  const v = createScramVerifier('correct horse', 4096);
  assert.deepEqual(await login(v, 'correct horse'), { ok: true, clientAccepted: true });
});

test('the wrong password fails', async () => {
  const v = createScramVerifier('correct horse', 4096);
  assert.deepEqual(await login(v, 'battery staple'), { ok: false });
});

test('a non-ASCII password is SASLprep-normalized the same way on both sides', async () => {
  const v = createScramVerifier('pa\u00A0ss\u00ADword\u2163', 4096);
  assert.equal((await login(v, 'pa ssword\u2163')).ok, true);
  assert.equal((await login(v, 'pa ssword IV'.replace(' IV', 'IV'))).ok, true);
});

test('an unknown user runs the whole exchange and fails, with a stable salt per name', async () => {
  assert.deepEqual(await login(null, 'anything'), { ok: false });
  const a = new ScramServer(null, 'mallory').handleClientFirst('n,,n=*,r=abc');
  const b = new ScramServer(null, 'mallory').handleClientFirst('n,,n=*,r=abc');
  const salt = (s: string) => /s=([^,]+)/.exec(s)![1];
  assert.equal(salt(a), salt(b));
  assert.match(a, /^r=abc[A-Za-z0-9+/=]+,s=[A-Za-z0-9+/=]+,i=4096$/);
});

test('the y,, GS2 header (client supports binding, server does not offer it) is accepted', async () => {
  const v = createScramVerifier('pw-for-y', 4096);
  // pg sends "y,," when it talks over a stream that could bind but the server offered only SCRAM-SHA-256
  const fakeTlsStream = {};
  assert.equal((await login(v, 'pw-for-y', fakeTlsStream)).ok, true);
});

test('channel binding (p=) is refused with 08P01', () => {
  const server = new ScramServer(createScramVerifier('x'), 'u');
  assert.throws(() => server.handleClientFirst('p=tls-server-end-point,,n=*,r=abc'), (e: unknown) => e instanceof SqlError && e.sqlstate === '08P01' && /channel binding/.test(e.message));
});

const violation = (detail: RegExp) => (e: unknown) => e instanceof SqlError && e.sqlstate === '08P01' && detail.test(e.detail ?? '');

test('malformed and out-of-order messages are protocol violations', () => {
  const v = createScramVerifier('x');
  assert.throws(() => new ScramServer(v).handleClientFinal('c=biws,r=x,p=AAAA'), violation(/out of order/));
  assert.throws(() => new ScramServer(v).handleClientFirst('garbage'), violation(/GS2 header/));
  assert.throws(() => new ScramServer(v).handleClientFirst('n,,n=*'), violation(/nonce/));
  const s = new ScramServer(v);
  s.handleClientFirst('n,,n=*,r=abc');
  assert.throws(() => s.handleClientFinal('c=biws,r=WRONG,p=' + Buffer.alloc(32).toString('base64')), violation(/nonce/));
  const t = new ScramServer(v);
  const first = t.handleClientFirst('n,,n=*,r=abc');
  const nonce = /r=([^,]+)/.exec(first)![1];
  assert.throws(() => t.handleClientFinal(`c=eSws,r=${nonce},p=${Buffer.alloc(32).toString('base64')}`), violation(/GS2 header/));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openTokenStore, type StoredTokens } from '../src/oauth/token-store.js';
import { SqlError } from '../src/errors.js';

const dir = () => mkdtempSync(join(tmpdir(), 'keapgres-tokens-'));
const pair = (n: number): StoredTokens => ({ accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresAt: Date.UTC(2026, 0, 2), obtainedAt: Date.UTC(2026, 0, 1), scope: 'full|xy123.infusionsoft.com' });

test('a token file round-trips and is created with mode 0600 in a 0700 directory', async () => {
  const path = join(dir(), 'nested', 'keap.json');
  const store = openTokenStore(path);
  assert.equal(await store.load(), undefined);
  await store.save(pair(1));
  assert.deepEqual(await store.load(), { ...pair(1), seededFrom: undefined });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
  await store.save(pair(2));
  assert.equal((await store.load())!.refreshToken, 'refresh-2');
  assert.deepEqual(readdirSync(join(path, '..')), ['keap.json'], 'no temporary files left behind');
});

test('replacing a file written with looser permissions leaves it 0600', async () => {
  const path = join(dir(), 'keap.json');
  writeFileSync(path, JSON.stringify({ format: 'keapgres-oauth-tokens', version: 1, access_token: 'a', obtained_at: new Date().toISOString() }), { mode: 0o644 });
  await openTokenStore(path).save(pair(3));
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

const damaged: Array<[string, string, RegExp]> = [
  ['empty', '', /The file is empty/],
  ['truncated JSON', '{"format":"keapgres-oauth-tokens","access_tok', /not valid JSON/],
  ['another program’s JSON', '{"foo":1}', /not a keapgres token file/],
  ['no access token', '{"format":"keapgres-oauth-tokens","version":1}', /no access_token/],
  ['bad time', '{"format":"keapgres-oauth-tokens","access_token":"a","expires_at":"soon"}', /expires_at is not a time/],
];

for (const [name, content, detail] of damaged) {
  test(`a damaged token file (${name}) is reported, and never overwritten`, async () => {
    const path = join(dir(), 'keap.json');
    writeFileSync(path, content);
    const store = openTokenStore(path);
    const isDamaged = (e: unknown) => e instanceof SqlError && e.sqlstate === '28000' && e.message === `the OAuth token file "${path}" is damaged` && detail.test(e.detail ?? '') && /authorize again/.test(e.hint ?? '');
    await assert.rejects(store.load(), isDamaged);
    await assert.rejects(store.save(pair(1)), isDamaged);
    assert.equal(readFileSync(path, 'utf8'), content);
  });
}

test('memory:// stores are shared by name within the process and never touch the disk', async () => {
  const a = openTokenStore('memory://acct-a');
  const b = openTokenStore('memory://acct-a');
  const other = openTokenStore('memory://acct-b');
  await a.save(pair(7));
  assert.equal((await b.load())!.accessToken, 'access-7');
  assert.equal(await other.load(), undefined);
  await b.clear();
  assert.equal(await a.load(), undefined);
});

test('a process killed while writing the token file leaves the previous good file', async () => {
  const path = join(dir(), 'keap.json');
  await openTokenStore(path).save(pair(0));
  const moduleUrl = pathToFileURL(join(import.meta.dirname, '..', 'src', 'oauth', 'token-store.js')).href;
  // the child rewrites the file as fast as it can, with a large body so a write is never instantaneous
  const script = `
    import { openTokenStore } from ${JSON.stringify(moduleUrl)};
    const store = openTokenStore(${JSON.stringify(path)});
    const big = 'x'.repeat(8_000_000);
    for (let n = 1; ; n++) {
      await store.save({ accessToken: 'access-' + n + big, refreshToken: 'refresh-' + n, obtainedAt: Date.now() });
      if (n === 1) process.stdout.write('writing\\n');
    }`;
  for (let round = 0; round < 10; round++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 20 + ((round * 37) % 90)));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const loaded = await openTokenStore(path).load();
    assert.ok(loaded, 'the file still loads');
    assert.match(loaded.refreshToken!, /^refresh-\d+$/);
    const n = Number(loaded.refreshToken!.slice(8));
    assert.ok(n === 0 || loaded.accessToken === `access-${n}${'x'.repeat(8_000_000)}`, 'the access token is whole');
  }
  await openTokenStore(path).save(pair(99));
  assert.deepEqual(readdirSync(join(path, '..')), ['keap.json'], 'the next save removes temporary files of killed writers');
});

test('the refresh lock serializes holders, clears a lock left by a dead process, and times out on a live one', async () => {
  const path = join(dir(), 'keap.json');
  const store = openTokenStore(path);
  const order: string[] = [];
  await Promise.all([
    store.withLock(async () => {
      order.push('a-start');
      await new Promise((r) => setTimeout(r, 50));
      order.push('a-end');
    }),
    new Promise((r) => setTimeout(r, 5)).then(() => store.withLock(async () => order.push('b'))),
  ]);
  assert.deepEqual(order, ['a-start', 'a-end', 'b']);
  // a crashed holder: a pid that cannot exist
  writeFileSync(`${path}.lock`, '2147483646\n');
  assert.equal(await store.withLock(async () => 'ran'), 'ran');
  writeFileSync(`${path}.lock`, `${process.pid}\n`);
  await assert.rejects(store.withLock(async () => 'never', 200), (e: unknown) => e instanceof SqlError && /stays locked/.test(e.message) && new RegExp(`Process ${process.pid}`).test(e.detail ?? ''));
});

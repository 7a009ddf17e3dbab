import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createConnectionLogger, createLogger, redactSecret, registerSecret, scrubSecrets } from '../src/log/logger.js';

function memoryLogger(level = 'debug') {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  stream.on('data', (c: Buffer) => {
    raw += c.toString();
    for (const line of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { logger: createLogger({ level, stream }), lines, raw: () => raw };
}

test('log lines are JSON with level labels and ISO times', () => {
  const { logger, lines } = memoryLogger();
  logger.info({ database: 'keap' }, 'listening');
  assert.equal(lines[0]!.level, 'info');
  assert.equal(lines[0]!.msg, 'listening');
  assert.equal(lines[0]!.database, 'keap');
  assert.match(String(lines[0]!.time), /^\d{4}-\d\d-\d\dT/);
});

test('secret-bearing keys are censored at any depth, names of places and counts are kept', () => {
  const { logger, raw } = memoryLogger();
  logger.info(
    {
      password: 'pw-value-1',
      access_token: 'at-value-1',
      refresh_token: 'rt-value-1',
      client_secret: 'cs-value-1',
      OAuthClientSecret: 'cs-value-2',
      apiKey: 'ak-value-1',
      headers: { Authorization: 'Bearer at-value-2', 'X-Keap-API-Key': 'ak-value-2', accept: 'application/json' },
      nested: [{ token: 'tk-value-1' }],
      tokenUrl: 'http://127.0.0.1/token',
      tokenRefreshes: 3,
    },
    'request',
  );
  const text = raw();
  for (const secret of ['pw-value-1', 'at-value-1', 'rt-value-1', 'cs-value-1', 'cs-value-2', 'ak-value-1', 'at-value-2', 'ak-value-2', 'tk-value-1']) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.match(text, /"tokenUrl":"http:\/\/127\.0\.0\.1\/token"/);
  assert.match(text, /"tokenRefreshes":3/);
  assert.match(text, /"accept":"application\/json"/);
});

test('connection strings in log fields are masked', () => {
  const { logger, raw } = memoryLogger();
  logger.info({ connectionString: 'InitiateOAuth=GETANDREFRESH;OAuthClientId=cid;OAuthClientSecret=cs-in-conn' }, 'configured');
  assert.ok(!raw().includes('cs-in-conn'));
  assert.match(raw(), /OAuthClientId=cid;OAuthClientSecret=\*{8}/);
});

test('registered secrets are scrubbed from messages, errors and child bindings, in plain, JSON and URL forms', () => {
  const secret = 'reg-secret-"quoted"/+value';
  registerSecret(secret);
  const { logger, raw } = memoryLogger();
  logger.child({ note: `bound ${secret}` }).warn(new Error(`failed with ${secret}`), `message ${secret} and ${encodeURIComponent(secret)}`);
  assert.ok(!raw().includes(secret) && !raw().includes(JSON.stringify(secret).slice(1, -1)) && !raw().includes(encodeURIComponent(secret)), raw());
  assert.match(raw(), /\[redacted\]/);
  assert.equal(scrubSecrets(`x ${secret} y`), 'x [redacted] y');
});

test('redactSecret gives a stable fingerprint that does not contain the secret', () => {
  assert.equal(redactSecret('abc-secret'), redactSecret('abc-secret'));
  assert.notEqual(redactSecret('abc-secret'), redactSecret('abc-secreu'));
  assert.match(redactSecret('abc-secret'), /^\[redacted:[0-9a-f]{8}\]$/);
  assert.equal(redactSecret(undefined), '');
});

test('a file destination receives the lines; the level filters them', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'keapgres-log-')), 'sub', 'k.log');
  const logger = createLogger({ level: 'warn', destination: path });
  logger.info('hidden');
  logger.warn({ n: 1 }, 'shown');
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.msg), ['shown']);
});

test('a connection with Logfile logs there at its Verbosity; without one it logs to the server log tagged with its database', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'keapgres-log-')), 'conn.log');
  const { logger: base, lines } = memoryLogger('info');
  createConnectionLogger({ verbosity: 1 }, base, 'acme').info('to the server log');
  assert.equal(lines.at(-1)!.database, 'acme');
  const quiet = createConnectionLogger({ logfile: path, verbosity: 1 }, base, 'acme');
  quiet.debug('not at verbosity 1');
  quiet.info('setup line');
  const chatty = createConnectionLogger({ logfile: path, verbosity: 5 }, base, 'acme');
  chatty.trace('at verbosity 5');
  const written = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).msg);
  assert.deepEqual(written, ['setup line', 'at verbosity 5']);
});

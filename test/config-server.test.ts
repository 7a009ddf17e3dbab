import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../src/config/server-config.js';
import { ConfigError } from '../src/config/config-error.js';
import { createScramVerifier } from '../src/wire/scram.js';
import { logServerConfig } from '../src/config/describe-config.js';
import { createLogger } from '../src/log/logger.js';
import { PassThrough } from 'node:stream';

const dir = mkdtempSync(join(tmpdir(), 'keapgres-config-'));
const baseEnv = { HOME: dir };
const CONN = 'InitiateOAuth=GETANDREFRESH;OAuthClientId=cid;OAuthClientSecret=csecret';
const writeConfig = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
writeFileSync(join(dir, 'server.crt'), CERT);
writeFileSync(join(dir, 'server.key'), KEY);

test('with nothing configured, the sandbox is served as database "keap" with default limits', () => {
  const c = loadServerConfig({ env: baseEnv });
  assert.ok(Object.isFrozen(c));
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 5433);
  assert.equal(c.tls, undefined);
  assert.deepEqual(c.users, []);
  assert.equal(c.trust, false);
  assert.equal(c.maxSessions, 100);
  assert.equal(c.maxMessageBytes, 64 * 1024 * 1024);
  assert.equal(c.shutdownGraceMs, 10_000);
  assert.equal(c.idleSpareEngines, 1);
  assert.equal(c.idleLoadedEngines, 16);
  assert.equal(c.logLevel, 'info');
  assert.deepEqual([...c.databases], [['keap', 'sandbox']]);
  assert.deepEqual(c.sandbox, { seed: 1, contacts: 1000 });
});

test('--connection serves one connection as database "keap"', () => {
  const c = loadServerConfig({ env: baseEnv, connection: CONN, port: 0, host: '0.0.0.0' });
  const keap = c.databases.get('keap');
  assert.ok(keap && keap !== 'sandbox');
  assert.equal(keap.oauthClientId, 'cid');
  assert.equal(c.port, 0);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.sandbox, undefined);
});

test('a config file serves several Keap accounts, each under its own database name, with its own token file', () => {
  const verifier = createScramVerifier('pw', 4096);
  const path = writeConfig('multi.json', {
    host: '::1',
    port: 6543,
    tls: { cert: 'server.crt', key: 'server.key' },
    users: [{ name: 'alice', verifier }],
    trust: ['monitor'],
    databases: { acme: CONN, globex: `${CONN};Pagesize=200`, demo: 'sandbox' },
    sandbox: { seed: 7, contacts: 50 },
    maxSessions: 10,
    logLevel: 'debug',
  });
  const c = loadServerConfig({ configFile: path, env: baseEnv });
  assert.equal(c.host, '::1');
  assert.equal(c.port, 6543);
  assert.deepEqual(c.tls, { cert: CERT, key: KEY });
  assert.deepEqual(c.users, [{ name: 'alice', verifier }]);
  assert.deepEqual(c.trust, ['monitor']);
  assert.deepEqual([...c.databases.keys()], ['acme', 'globex', 'demo']);
  const acme = c.databases.get('acme');
  const globex = c.databases.get('globex');
  assert.ok(acme !== 'sandbox' && globex !== 'sandbox' && acme && globex);
  assert.equal(globex.pageSize, 200);
  assert.notEqual(acme.oauthSettingsLocation, globex.oauthSettingsLocation);
  assert.deepEqual(c.sandbox, { seed: 7, contacts: 50, pageSize: 1000, latencyMs: 0 });
  assert.equal(c.maxSessions, 10);
  assert.equal(c.logLevel, 'debug');
});

test('environment variables override the file, and flags override both', () => {
  const path = writeConfig('base.json', { host: '10.0.0.1', port: 7000, maxSessions: 5 });
  const env = { ...baseEnv, KEAPGRES_CONFIG: path, KEAPGRES_HOST: '10.0.0.2', KEAPGRES_PORT: '7001', KEAPGRES_MAX_SESSIONS: '9', KEAPGRES_CONNECTION: CONN, KEAPGRES_TLS_CERT: join(dir, 'server.crt'), KEAPGRES_TLS_KEY: join(dir, 'server.key'), KEAPGRES_LOG_LEVEL: 'warn', KEAPGRES_TRUST: 'bob, carol' };
  const c = loadServerConfig({ env });
  assert.equal(c.configFile, path);
  assert.equal(c.host, '10.0.0.2');
  assert.equal(c.port, 7001);
  assert.equal(c.maxSessions, 9);
  assert.equal(c.logLevel, 'warn');
  assert.deepEqual(c.trust, ['bob', 'carol']);
  assert.ok(c.tls);
  assert.notEqual(c.databases.get('keap'), 'sandbox');
  const flags = loadServerConfig({ env, host: '127.0.0.9', port: 7002 });
  assert.equal(flags.host, '127.0.0.9');
  assert.equal(flags.port, 7002);
});

test('KEAPGRES_USER and KEAPGRES_PASSWORD add a user whose password is stored only as a verifier', () => {
  const c = loadServerConfig({ env: { ...baseEnv, KEAPGRES_USER: 'ops', KEAPGRES_PASSWORD: 'hunter2hunter2' } });
  assert.equal(c.users.length, 1);
  assert.equal(c.users[0]!.name, 'ops');
  assert.match(c.users[0]!.verifier, /^SCRAM-SHA-256\$4096:/);
  assert.ok(!JSON.stringify(c.users).includes('hunter2'));
});

const bad: Array<[string, () => unknown, RegExp, RegExp?]> = [
  ['missing file', () => loadServerConfig({ configFile: join(dir, 'nope.json'), env: baseEnv }), /^cannot read configuration file ".*nope\.json"$/],
  ['not JSON', () => loadServerConfig({ configFile: writeConfig('bad.json', '{port: 1'), env: baseEnv }), /is not valid JSON$/],
  ['misspelled key', () => loadServerConfig({ configFile: writeConfig('typo.json', { databses: {} }), env: baseEnv }), /^unknown key "databses" in configuration file/, /Perhaps you meant "databases"/],
  ['port out of range', () => loadServerConfig({ configFile: writeConfig('port.json', { port: 70000 }), env: baseEnv }), /"port" in the configuration file ".*" must be an integer from 0 to 65535/],
  ['bad KEAPGRES_PORT', () => loadServerConfig({ env: { ...baseEnv, KEAPGRES_PORT: 'http' } }), /^environment variable KEAPGRES_PORT must be an integer from 0 to 65535$/],
  ['a bad connection string names its database', () => loadServerConfig({ configFile: writeConfig('conn.json', { databases: { acme: 'AuthScheme=Basic' } }), env: baseEnv }), /^database "acme": AuthScheme=Basic is not supported by Keap$/, /AuthScheme=OAuth/],
  ['a bad database name', () => loadServerConfig({ configFile: writeConfig('dbname.json', { databases: { 'a b': CONN } }), env: baseEnv }), /^database name "a b" .* is not allowed$/],
  ['a user without a verifier', () => loadServerConfig({ configFile: writeConfig('user.json', { users: [{ name: 'alice', verifier: 'plain-password' }] }), env: baseEnv }), /^user "alice" .* has no valid SCRAM verifier$/, /keapgres passwd alice/],
  ['TLS certificate without key', () => loadServerConfig({ env: { ...baseEnv, KEAPGRES_TLS_CERT: join(dir, 'server.crt') } }), /^TLS needs both a certificate and a private key$/],
  ['TLS key that is not PEM', () => loadServerConfig({ env: { ...baseEnv, KEAPGRES_TLS_CERT: join(dir, 'server.crt'), KEAPGRES_TLS_KEY: writeConfig('k.txt', 'secret-key-material') } }), /^the TLS private key ".*k\.txt" is not PEM$/],
  ['unknown log level', () => loadServerConfig({ env: { ...baseEnv, KEAPGRES_LOG_LEVEL: 'loud' } }), /^log level "loud" is not recognized$/],
  ['trust of the wrong type', () => loadServerConfig({ configFile: writeConfig('trust.json', { trust: 'yes' }), env: baseEnv }), /"trust" .* must be true, false, or a list of user names/],
  ['user without password', () => loadServerConfig({ env: { ...baseEnv, KEAPGRES_USER: 'ops' } }), /^KEAPGRES_USER and KEAPGRES_PASSWORD must be set together$/],
];

for (const [name, load, message, extra] of bad) {
  test(`configuration error: ${name}`, () => {
    assert.throws(load, (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, message);
      if (extra) assert.match(`${e.detail ?? ''} ${e.hint ?? ''}`, extra);
      assert.ok(!`${e.message} ${e.detail} ${e.hint}`.includes('secret-key-material') && !`${e.message} ${e.detail}`.includes('csecret'));
      return true;
    });
  });
}

test('the start-up log says when the sandbox is served, and masks connection strings', () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  const logger = createLogger({ stream });
  logServerConfig(loadServerConfig({ env: baseEnv }), logger);
  assert.match(text, /database \\"keap\\" is served by the built-in Keap sandbox/);
  assert.match(text, /no users configured: keapgres accepts loopback connections only/);
  text = '';
  logServerConfig(loadServerConfig({ env: baseEnv, connection: CONN }), logger);
  assert.match(text, /database \\"keap\\" serves a Keap connection/);
  assert.match(text, /OAuthClientSecret=\*{8}/);
  assert.ok(!text.includes('csecret'));
});

test('a server-level cacheConnection is every Keap database\'s that names none; advertiseAddress and instanceTimeout', () => {
  const shared = 'postgresql://keapgres:pw-7f3a@db.internal:5432/keapgres';
  const own = 'postgresql://other:pw-own@db2.internal/state';
  const file = writeConfig('instances.json', {
    cacheConnection: shared, advertiseAddress: 'keapgres-1:6543', instanceTimeout: 12,
    databases: { acme: CONN, globex: `${CONN};CacheConnection=${own}`, demo: 'sandbox' },
  });
  const c = loadServerConfig({ configFile: file, env: baseEnv });
  assert.equal(c.cacheConnection, shared);
  assert.deepEqual(c.advertiseAddress, { host: 'keapgres-1', port: 6543 });
  assert.equal(c.instanceTimeoutSeconds, 12);
  const db = (name: string) => c.databases.get(name) as Exclude<ReturnType<typeof c.databases.get>, 'sandbox' | undefined>;
  assert.equal(db('acme').cacheConnection, shared);
  assert.equal(db('globex').cacheConnection, own, 'a database\'s own CacheConnection wins');
  assert.equal(c.databases.get('demo'), 'sandbox');
  assert.ok(Object.isFrozen(db('acme')));

  // the environment wins over the file (Kubernetes: a Secret and the downward API)
  const e = loadServerConfig({ configFile: file, env: { ...baseEnv, KEAPGRES_CACHE_CONNECTION: own, KEAPGRES_ADVERTISE_ADDRESS: '10.1.2.3' } });
  assert.equal(e.cacheConnection, own);
  assert.deepEqual(e.advertiseAddress, { host: '10.1.2.3' });
  assert.deepEqual(loadServerConfig({ env: { ...baseEnv, KEAPGRES_ADVERTISE_ADDRESS: '[fd00::7]:5433' } }).advertiseAddress, { host: 'fd00::7', port: 5433 });

  const defaults = loadServerConfig({ env: baseEnv });
  assert.equal(defaults.cacheConnection, undefined);
  assert.equal(defaults.advertiseAddress, undefined);
  assert.equal(defaults.instanceTimeoutSeconds, 30);

  // the start-up log names the shared PostgreSQL without its password
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  logServerConfig(c, createLogger({ stream }));
  assert.match(text, /db\.internal/);
  assert.ok(!text.includes('pw-7f3a') && !text.includes('pw-own'), 'a CacheConnection password reached the log');
});

test('a bad cacheConnection, advertiseAddress or instanceTimeout is refused, naming the setting and never the password', () => {
  const refused = (config: unknown, env: Record<string, string>, re: RegExp) => {
    const file = writeConfig('bad-instances.json', config);
    assert.throws(() => loadServerConfig({ configFile: file, env: { ...baseEnv, ...env } }), (err: ConfigError) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, re);
      assert.ok(!`${err.message} ${err.detail} ${err.hint}`.includes('pw-9c1e'), 'the password reached the error');
      return true;
    });
  };
  refused({ cacheConnection: 'mysql://u:pw-9c1e@h/db' }, {}, /"cacheConnection" in the configuration file .*is not a PostgreSQL URL/);
  refused({}, { KEAPGRES_CACHE_CONNECTION: 'http://u:pw-9c1e@h/db' }, /KEAPGRES_CACHE_CONNECTION.*is not a PostgreSQL URL/);
  refused({ advertiseAddress: 'a host:1' }, {}, /"advertiseAddress" in the configuration file .* must be a host name or address/);
  refused({}, { KEAPGRES_ADVERTISE_ADDRESS: 'keapgres-1:99999' }, /KEAPGRES_ADVERTISE_ADDRESS must be a host name/);
  refused({ instanceTimeout: 1 }, {}, /"instanceTimeout" .* from 3 to 3600/);
});

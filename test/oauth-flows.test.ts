// The OAuth connection manager end to end against the sandbox's authorize and token endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { parseConnectionString } from '../src/config/connection-string.js';
import { createCredentialSource, type ManagedCredentialSource } from '../src/oauth/credential-source.js';
import { createLogger } from '../src/log/logger.js';
import { runAuthCommand } from '../src/cli/auth.js';
import { SqlError } from '../src/errors.js';

let sandbox: Sandbox;
const dir = mkdtempSync(join(tmpdir(), 'keapgres-oauth-'));
const logStream = new PassThrough();
let logText = '';
logStream.on('data', (c: Buffer) => (logText += c.toString()));
const logger = createLogger({ level: 'trace', stream: logStream });
/** every secret this file sees, to check none reached a log line */
const secrets = new Set<string>();
const sources: ManagedCredentialSource[] = [];

before(async () => {
  // quotas out of the way: this file tests credentials, not throttling
  sandbox = await startSandbox({ port: 0, contacts: 50, limits: { spikePerSecond: 10_000, perMinute: 100_000 } });
  for (const s of [sandbox.clientSecret, sandbox.personalAccessToken, sandbox.serviceAccountKey]) secrets.add(s);
});

after(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await sandbox.close();
});

function oauthConnection(extra: string): string {
  return `AuthScheme=OAuth;OAuthClientId=${sandbox.clientId};OAuthClientSecret=${sandbox.clientSecret};URL=${sandbox.apiBase};OAuthAuthorizationURL=${sandbox.authorizeUrl};OAuthAccessTokenURL=${sandbox.tokenUrl};Other='OpenBrowser=false';${extra}`;
}

async function source(connection: string, options: Parameters<typeof createCredentialSource>[2] = {}): Promise<ManagedCredentialSource> {
  const s = await createCredentialSource(parseConnectionString(connection), logger, { announce: () => {}, openBrowser: () => false, ...options });
  sources.push(s);
  return s;
}

/** One API call the way the connector makes it: one refresh and one retry on a 401. */
async function userinfo(creds: ManagedCredentialSource): Promise<number> {
  let refreshed = false;
  for (;;) {
    const headers = await creds.headers();
    for (const v of Object.values(headers)) secrets.add(v.replace(/^Bearer /, ''));
    const res = await request(`${sandbox.apiBase}/v2/oauth/connect/userinfo`, { headers });
    await res.body.text();
    if (res.statusCode === 401 && !refreshed && (await creds.unauthorized(headers))) {
      refreshed = true;
      continue;
    }
    return res.statusCode;
  }
}

/** The person in the browser: open the authorization URL, follow Keap's redirect to CallbackURL. */
async function authorizeInBrowser(url: string): Promise<{ status: number; body: string }> {
  const consent = await request(url, { method: 'GET' });
  await consent.body.text();
  assert.equal(consent.statusCode, 302);
  const location = String(consent.headers.location);
  const callback = await request(location);
  return { status: callback.statusCode, body: await callback.body.text() };
}

async function redirectLocation(url: string): Promise<string> {
  const consent = await request(url);
  await consent.body.text();
  assert.equal(consent.statusCode, 302);
  return String(consent.headers.location);
}

function rememberTokenFile(path: string): { access_token: string; refresh_token: string } {
  const data = JSON.parse(readFileSync(path, 'utf8'));
  secrets.add(data.access_token);
  secrets.add(data.refresh_token);
  return data;
}

const is28000 = (pattern: RegExp) => (e: unknown) => e instanceof SqlError && e.sqlstate === '28000' && pattern.test(`${e.message} ${e.detail ?? ''} ${e.hint ?? ''}`);

const tokenFile = join(dir, 'getandrefresh', 'keap.json');
const GETANDREFRESH = () => oauthConnection(`InitiateOAuth=GETANDREFRESH;CallbackURL=http://127.0.0.1:0/callback;OAuthSettingsLocation=${tokenFile}`);

test('GETANDREFRESH: with no stored token, queries get the authorization URL at once; the browser flow stores the tokens', async () => {
  const announced: string[] = [];
  const creds = await source(GETANDREFRESH(), { announce: (u) => announced.push(u) });
  const status = creds.status();
  assert.equal(status.state, 'authorization-pending');
  assert.equal(announced.length, 1);
  assert.equal(status.authorizationUrl, announced[0]);
  const url = new URL(status.authorizationUrl!);
  assert.equal(`${url.origin}${url.pathname}`, sandbox.authorizeUrl);
  assert.equal(url.searchParams.get('client_id'), sandbox.clientId);
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(url.searchParams.get('scope'), 'full');
  assert.match(url.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  assert.ok(url.searchParams.get('state'));

  const started = Date.now();
  await assert.rejects(creds.headers(), is28000(/waiting for you to authorize[\s\S]*Open this URL in a browser/));
  await assert.rejects(creds.headers(), (e: SqlError) => e.detail!.includes(status.authorizationUrl!));
  assert.ok(Date.now() - started < 1000, 'no hang');

  sandbox.resetStats();
  const browser = await authorizeInBrowser(status.authorizationUrl!);
  assert.equal(browser.status, 200);
  assert.match(browser.body, /now authorized/);
  assert.equal(sandbox.stats().tokenCodeExchanges, 1);
  assert.equal(creds.status().state, 'ready');
  assert.equal(await userinfo(creds), 200);
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  rememberTokenFile(tokenFile);
});

test('a forged callback with the wrong state is refused and does not complete anything', async () => {
  const creds = await source(oauthConnection(`InitiateOAuth=GETANDREFRESH;CallbackURL=http://127.0.0.1:0/cb;OAuthSettingsLocation=memory://forged`));
  const url = new URL(creds.status().authorizationUrl!);
  const res = await request(`${url.searchParams.get('redirect_uri')}?code=abc&state=wrong`);
  assert.equal(res.statusCode, 400);
  assert.match(await res.body.text(), /state mismatch/);
  assert.equal(creds.status().state, 'authorization-pending');
  await creds.close();
});

test('GETANDREFRESH refreshes ahead of expiry, once, and keeps working', async () => {
  let shift = 0;
  const creds = await source(GETANDREFRESH(), { now: () => Date.now() + shift });
  assert.equal(creds.status().state, 'ready', 'the stored pair is used');
  const before = rememberTokenFile(tokenFile);
  sandbox.resetStats();
  assert.equal(await userinfo(creds), 200);
  assert.equal(sandbox.stats().tokenRefreshes, 0);
  // 1 minute before expiry is inside the 5-minute refresh margin
  shift = creds.status().expiresAt! - Date.now() - 60_000;
  await Promise.all([userinfo(creds), userinfo(creds), userinfo(creds)]);
  assert.equal(sandbox.stats().tokenRefreshes, 1);
  const afterRefresh = rememberTokenFile(tokenFile);
  assert.notEqual(afterRefresh.refresh_token, before.refresh_token, 'Keap rotated the pair and the new one was stored');
  assert.equal(await userinfo(creds), 200);
  await creds.close();
});

test('20 concurrent sessions hitting an expired token cause exactly one refresh, and all succeed', async () => {
  const creds = await source(GETANDREFRESH());
  assert.equal(await userinfo(creds), 200);
  sandbox.expireAccessTokens();
  sandbox.resetStats();
  const statuses = await Promise.all(Array.from({ length: 20 }, () => userinfo(creds)));
  assert.deepEqual(statuses, Array(20).fill(200));
  assert.equal(sandbox.stats().tokenRefreshes, 1);
  assert.equal(creds.status().refreshes, 1);
  rememberTokenFile(tokenFile);
  await creds.close();
});

test('two keapgres connections sharing one token file refresh it once between them', async () => {
  const a = await source(GETANDREFRESH());
  const b = await source(GETANDREFRESH());
  assert.equal(await userinfo(a), 200);
  assert.equal(await userinfo(b), 200);
  sandbox.expireAccessTokens();
  sandbox.resetStats();
  const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => userinfo(i % 2 ? a : b)));
  assert.deepEqual(statuses, Array(10).fill(200));
  assert.equal(sandbox.stats().tokenRefreshes, 1);
  assert.equal(a.status().refreshes + b.status().refreshes, 1);
  rememberTokenFile(tokenFile);
  await Promise.all([a.close(), b.close()]);
});

test('the rotated pair survives a restart: a new process uses the stored pair and can refresh it', async () => {
  const stored = rememberTokenFile(tokenFile);
  sandbox.resetStats();
  const creds = await source(GETANDREFRESH());
  assert.equal(creds.status().state, 'ready');
  assert.equal((await creds.headers()).authorization, `Bearer ${stored.access_token}`);
  sandbox.expireAccessTokens();
  assert.equal(await userinfo(creds), 200);
  assert.equal(sandbox.stats().tokenRefreshes, 1, 'the stored (rotated) refresh token was accepted');
  assert.equal(sandbox.stats().tokenCodeExchanges, 0, 'no new authorization');
  rememberTokenFile(tokenFile);
  await creds.close();
});

test('headless: auth --print-url, then auth --verifier with the redirected address, then REFRESH uses the stored pair', async () => {
  const file = join(dir, 'headless.json');
  // nothing listens on the callback: on a headless machine the redirect target does not load
  const conn = oauthConnection(`InitiateOAuth=REFRESH;CallbackURL=http://localhost:9/keap;OAuthSettingsLocation=${file}`);
  const out = new PassThrough();
  const err = new PassThrough();
  let printed = '';
  let errors = '';
  out.on('data', (c: Buffer) => (printed += c.toString()));
  err.on('data', (c: Buffer) => (errors += c.toString()));
  const io = { stdin: process.stdin, stdout: out, stderr: err };
  assert.equal(await runAuthCommand(['--connection', conn, '--print-url'], io), 0);
  const url = printed.trim();
  assert.equal(new URL(url).searchParams.get('redirect_uri'), 'http://localhost:9/keap');
  assert.match(errors, /--verifier CODE/);
  const location = await redirectLocation(url);
  printed = '';
  sandbox.resetStats();
  assert.equal(await runAuthCommand(['--connection', conn, `--verifier=${location}`], io), 0);
  assert.match(printed, /Authorized connection "keap": tokens stored in .*headless\.json/);
  assert.equal(sandbox.stats().tokenCodeExchanges, 1);
  rememberTokenFile(file);
  // a code works once
  assert.equal(await runAuthCommand(['--connection', conn, '--verifier', new URL(location).searchParams.get('code')!], io), 1);
  assert.match(errors, /did not exchange the authorization code[\s\S]*invalid_grant/);

  const creds = await source(conn);
  assert.equal(creds.status().state, 'ready');
  assert.equal(await userinfo(creds), 200);
  for (const text of [printed, errors]) for (const s of secrets) assert.ok(!text.includes(s), 'CLI output holds no secret');
});

test('OAuthVerifier in the connection string is exchanged and stored', async () => {
  const location = await redirectLocation(`${sandbox.authorizeUrl}?client_id=${sandbox.clientId}&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}&response_type=code&scope=full`);
  const code = new URL(location).searchParams.get('code')!;
  secrets.add(code);
  const creds = await source(oauthConnection(`InitiateOAuth=GETANDREFRESH;CallbackURL=http://127.0.0.1:9/cb;OAuthVerifier=${code};OAuthSettingsLocation=memory://verifier`));
  assert.equal(creds.status().state, 'ready');
  assert.equal(await userinfo(creds), 200);
});

test('REFRESH: refreshes from OAuthRefreshToken, never starts a browser flow', async () => {
  const pair = sandbox.issueTokens();
  secrets.add(pair.access_token);
  secrets.add(pair.refresh_token);
  sandbox.resetStats();
  let opened = 0;
  const creds = await source(oauthConnection(`InitiateOAuth=REFRESH;OAuthRefreshToken=${pair.refresh_token};OAuthSettingsLocation=memory://refresh`), { openBrowser: () => ++opened > 0 });
  assert.equal(await userinfo(creds), 200);
  assert.equal(sandbox.stats().tokenRefreshes, 1);
  // the rotated-away token is refused from now on: REFRESH says to authorize again, and starts nothing
  const stale = await source(oauthConnection(`InitiateOAuth=REFRESH;OAuthRefreshToken=${pair.refresh_token};OAuthSettingsLocation=memory://refresh-stale`));
  await assert.rejects(stale.headers(), is28000(/refresh token is no longer valid: authorize keapgres again[\s\S]*invalid_request[\s\S]*keapgres auth/));
  await assert.rejects(stale.headers(), is28000(/no longer valid/), 'the failure is remembered, the token not retried');
  assert.equal(sandbox.stats().tokenRefreshes, 1);
  const none = await source(oauthConnection('InitiateOAuth=REFRESH;OAuthSettingsLocation=memory://refresh-none'));
  await assert.rejects(none.headers(), is28000(/no OAuth tokens for this Keap connection[\s\S]*never starts a browser/));
  assert.equal(none.status().authorizationUrl, undefined);
  assert.equal(opened, 0);
});

test('GETANDREFRESH with a refused refresh token starts the authorization again and says so', async () => {
  const creds = await source(oauthConnection(`InitiateOAuth=GETANDREFRESH;OAuthRefreshToken=not-a-valid-refresh-token;CallbackURL=http://127.0.0.1:0/cb;OAuthSettingsLocation=memory://reauth`));
  await assert.rejects(creds.headers(), is28000(/waiting for you to authorize[\s\S]*Keap refused the refresh token \(invalid_request/));
  assert.equal(creds.status().state, 'authorization-pending');
  const browser = await authorizeInBrowser(creds.status().authorizationUrl!);
  assert.equal(browser.status, 200);
  assert.equal(await userinfo(creds), 200);
});

test('a stored pair whose refresh token Keap refuses leads to one authorization URL, not a retry on every query', async () => {
  const file = join(dir, 'refused.json');
  writeFileSync(file, JSON.stringify({ format: 'keapgres-oauth-tokens', version: 1, access_token: 'stale-access-token-1', refresh_token: 'refused-refresh-token-1', expires_at: new Date(Date.now() - 1000).toISOString(), obtained_at: new Date(Date.now() - 86_400_000).toISOString() }));
  const creds = await source(oauthConnection(`InitiateOAuth=GETANDREFRESH;CallbackURL=http://127.0.0.1:0/cb;OAuthSettingsLocation=${file}`));
  await assert.rejects(creds.headers(), is28000(/waiting for you to authorize[\s\S]*Keap refused the refresh token/));
  const url = creds.status().authorizationUrl;
  assert.ok(url);
  await assert.rejects(creds.headers(), is28000(/waiting for you to authorize/));
  await assert.rejects(creds.headers(), is28000(/waiting for you to authorize/));
  assert.equal(creds.status().authorizationUrl, url, 'the same pending authorization');
  assert.equal((await authorizeInBrowser(url)).status, 200);
  assert.equal(await userinfo(creds), 200);
  assert.notEqual(rememberTokenFile(file).refresh_token, 'refused-refresh-token-1');
});

test('OFF: a good token is used as given; an expired one gives an error saying so and how to get a new one', async () => {
  const pair = sandbox.issueTokens();
  secrets.add(pair.access_token);
  secrets.add(pair.refresh_token);
  sandbox.resetStats();
  const creds = await source(oauthConnection(`InitiateOAuth=OFF;OAuthAccessToken=${pair.access_token}`));
  assert.equal(await userinfo(creds), 200);
  sandbox.expireAccessTokens();
  await assert.rejects(userinfo(creds), is28000(/Keap rejected the OAuth access token: it has expired or is invalid[\s\S]*InitiateOAuth=GETANDREFRESH/));
  assert.equal(sandbox.stats().tokenRefreshes, 0);
});

test('a damaged token file gives a clear error and is left as it was', async () => {
  const file = join(dir, 'damaged.json');
  writeFileSync(file, '{"format":"keapgres-oauth-tokens","access_token":"abc", "refresh_tok');
  const creds = await source(oauthConnection(`InitiateOAuth=GETANDREFRESH;CallbackURL=http://127.0.0.1:0/cb;OAuthSettingsLocation=${file}`));
  assert.equal(creds.status().state, 'failed');
  assert.equal(creds.status().authorizationUrl, undefined, 'no authorization that would overwrite it');
  await assert.rejects(creds.headers(), is28000(/OAuth token file ".*damaged\.json" is damaged[\s\S]*not valid JSON[\s\S]*does not overwrite/));
  assert.equal(readFileSync(file, 'utf8'), '{"format":"keapgres-oauth-tokens","access_token":"abc", "refresh_tok');
});

test('API keys work in both header forms Keap accepts; OAuth properties are ignored with a note', async () => {
  const before = logText.length;
  const pat = await source(`AuthScheme=APIKey;APIKey=${sandbox.personalAccessToken};URL=${sandbox.apiBase};InitiateOAuth=GETANDREFRESH;OAuthClientId=x`);
  assert.deepEqual(await pat.headers(), { 'x-keap-api-key': sandbox.personalAccessToken });
  assert.equal(await userinfo(pat), 200);
  assert.match(logText.slice(before), /AuthScheme=APIKey: ignoring InitiateOAuth, OAuthClientId/);
  const sak = await source(`AuthScheme=APIKey;APIKey=${sandbox.serviceAccountKey};Other='APIKeyHeader=Authorization'`);
  assert.deepEqual(await sak.headers(), { authorization: `Bearer ${sandbox.serviceAccountKey}` });
  assert.equal(await userinfo(sak), 200);
  const bad = await source('AuthScheme=APIKey;APIKey=KeapAK-not-a-real-key');
  await assert.rejects(userinfo(bad), is28000(/Keap rejected the API key[\s\S]*X-Keap-API-Key/));
});

test('a token about to expire is refreshed in the background, before any query needs it', async () => {
  const pair = sandbox.issueTokens({ expiresInSeconds: 1 });
  secrets.add(pair.access_token);
  secrets.add(pair.refresh_token);
  sandbox.resetStats();
  const creds = await source(
    oauthConnection(`InitiateOAuth=REFRESH;OAuthAccessToken=${pair.access_token};OAuthRefreshToken=${pair.refresh_token};OAuthExpiresIn=1;OAuthTokenTimestamp=${Date.now()};OAuthSettingsLocation=memory://background`),
  );
  assert.equal((await creds.headers()).authorization, `Bearer ${pair.access_token}`);
  // due 0.9 s after issue (a tenth of the lifetime ahead); poll rather than guess a loaded machine's timing
  for (const started = Date.now(); sandbox.stats().tokenRefreshes === 0 && Date.now() - started < 10_000; ) await new Promise((r) => setTimeout(r, 50));
  assert.equal(sandbox.stats().tokenRefreshes, 1);
  assert.notEqual((await creds.headers()).authorization, `Bearer ${pair.access_token}`);
  assert.equal(await userinfo(creds), 200);
  await creds.close();
});

test('keapgres auth runs the whole flow by hand for one database of a configuration file', async () => {
  const file = join(dir, 'by-hand.json');
  const configFile = join(dir, 'keapgres.json');
  writeFileSync(configFile, JSON.stringify({ databases: { other: 'sandbox', acme: oauthConnection(`InitiateOAuth=GETANDREFRESH;CallbackURL=http://127.0.0.1:0/by-hand;OAuthSettingsLocation=${file}`) } }));
  const out = new PassThrough();
  let printed = '';
  out.on('data', (c: Buffer) => (printed += c.toString()));
  let browser: Promise<{ status: number; body: string }> | undefined;
  sandbox.resetStats();
  const code = await runAuthCommand(['--config', configFile, '--database', 'acme'], { stdin: process.stdin, stdout: out, stderr: new PassThrough() }, {
    openBrowser: (url) => {
      browser = authorizeInBrowser(url);
      return true;
    },
  });
  assert.equal(code, 0);
  assert.equal((await browser!).status, 200);
  assert.match(printed, /Open this URL in a browser[\s\S]*Authorized database "acme": tokens stored in .*by-hand\.json/);
  assert.equal(sandbox.stats().tokenCodeExchanges, 1);
  rememberTokenFile(file);
  const err = new PassThrough();
  let errors = '';
  err.on('data', (c: Buffer) => (errors += c.toString()));
  assert.equal(await runAuthCommand(['--config', configFile, '--database', 'nope'], { stdin: process.stdin, stdout: out, stderr: err }), 1);
  assert.match(errors, /database "nope" is not configured/);
  assert.equal(await runAuthCommand(['--config', configFile, '--database', 'other'], { stdin: process.stdin, stdout: out, stderr: err }), 1);
  assert.match(errors, /is the built-in sandbox; it needs no authorization/);
  assert.equal(await runAuthCommand(['--bogus'], { stdin: process.stdin, stdout: out, stderr: err }), 2);
});

test('no secret used in this file appears in any log line', () => {
  assert.ok(logText.length > 0);
  assert.ok(secrets.size >= 10, `collected ${secrets.size} secrets`);
  for (const secret of secrets) {
    assert.ok(!logText.includes(secret), `a secret reached the log (${secret.length} characters)`);
  }
  // the log did say what happened
  assert.match(logText, /refreshed the OAuth access token/);
  assert.match(logText, /Keap authorization needed/);
});

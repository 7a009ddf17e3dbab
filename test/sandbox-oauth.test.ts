// OAuth as Keap does it (reference §2): authorize redirect, code exchange with credentials in the body, refresh with
// HTTP Basic and rotation, refresh-token expiry after 45 days, API keys in both headers, and the gateway's 401 bodies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { call, authed, NO_LIMITS } from './openapi/sandbox-client.js';

let sb: Sandbox;
const REDIRECT = 'http://127.0.0.1:9/callback';

before(async () => { sb = await startSandbox({ contacts: 20, limits: NO_LIMITS, accessTokenTtlSeconds: 3600 }); });
after(() => sb.close());

async function authorize(params: Record<string, string>): Promise<{ status: number; location: URL | null; text: string }> {
  const r = await call(`${sb.authorizeUrl}?${new URLSearchParams(params)}`);
  const loc = r.headers.get('location');
  return { status: r.status, location: loc ? new URL(loc) : null, text: r.text };
}
const form = (f: Record<string, string>): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(f).toString() });
const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function codeFor(state = 'xyz'): Promise<string> {
  const a = await authorize({ client_id: sb.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'full', state });
  assert.equal(a.status, 302);
  return a.location!.searchParams.get('code')!;
}
async function exchange(code: string): Promise<Record<string, unknown>> {
  const r = await call(sb.tokenUrl, form({ client_id: sb.clientId, client_secret: sb.clientSecret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT }));
  assert.equal(r.status, 200, r.text);
  return r.json as Record<string, unknown>;
}
async function refresh(refreshToken: string, user = sb.clientId, pass = sb.clientSecret) {
  return call(sb.tokenUrl, { ...form({ grant_type: 'refresh_token', refresh_token: refreshToken }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(user, pass) } });
}

test('authorize redirects to the redirect URI with code, state and scope full|<app>', async () => {
  const a = await authorize({ client_id: sb.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'full', state: 's-1' });
  assert.equal(a.status, 302);
  assert.equal(a.location!.origin + a.location!.pathname, REDIRECT);
  assert.ok(a.location!.searchParams.get('code'));
  assert.equal(a.location!.searchParams.get('state'), 's-1');
  assert.equal(a.location!.searchParams.get('scope'), `full|${sb.tenant}`);
});

test('authorize refuses unknown clients and unregistered redirect URIs without redirecting', async () => {
  const unknown = await authorize({ client_id: 'nope', redirect_uri: REDIRECT, response_type: 'code', scope: 'full' });
  assert.equal(unknown.status, 400); assert.equal(unknown.location, null);
  const evil = await authorize({ client_id: sb.clientId, redirect_uri: 'https://attacker.example/cb', response_type: 'code', scope: 'full' });
  assert.equal(evil.status, 400); assert.equal(evil.location, null);
  for (const host of ['localhost', '[::1]']) {
    const ok = await authorize({ client_id: sb.clientId, redirect_uri: `http://${host}:5000/cb`, response_type: 'code', scope: 'full' });
    assert.equal(ok.status, 302, host);
  }
});

test('code exchange returns Keap\'s token shape; the code works once; the access token opens the API', async () => {
  const code = await codeFor();
  const t = await exchange(code);
  assert.deepEqual(Object.keys(t).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  assert.equal(t.token_type, 'bearer'); assert.equal(t.expires_in, 3600); assert.equal(t.scope, `full|${sb.tenant}`);
  const again = await call(sb.tokenUrl, form({ client_id: sb.clientId, client_secret: sb.clientSecret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT }));
  assert.equal(again.status, 400);
  const me = await authed(sb, String(t.access_token))('/v1/oauth/connect/userinfo');
  assert.equal(me.status, 200);
  const wrongSecret = await call(sb.tokenUrl, form({ client_id: sb.clientId, client_secret: 'wrong', code: await codeFor(), grant_type: 'authorization_code', redirect_uri: REDIRECT }));
  assert.equal(wrongSecret.status, 401);
  assert.ok(!wrongSecret.text.includes(sb.clientSecret));
  const withHeader = await call(sb.tokenUrl, { ...form({ client_id: sb.clientId, client_secret: sb.clientSecret, code: await codeFor(), grant_type: 'authorization_code', redirect_uri: REDIRECT }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(sb.clientId, sb.clientSecret) } });
  assert.equal(withHeader.status, 400, 'Keap rejects an Authorization header on the code exchange');
  const wrongRedirect = await call(sb.tokenUrl, form({ client_id: sb.clientId, client_secret: sb.clientSecret, code: await codeFor(), grant_type: 'authorization_code', redirect_uri: 'http://127.0.0.1:9/other' }));
  assert.equal(wrongRedirect.status, 400);
});

test('refresh rotates: a new pair each time, the old refresh token fails at once with invalid_request, the old access token keeps working until it expires', async () => {
  const first = await exchange(await codeFor());
  const before = sb.stats().tokenRefreshes;
  const r1 = await refresh(String(first.refresh_token));
  assert.equal(r1.status, 200, r1.text);
  const second = r1.json as Record<string, unknown>;
  assert.notEqual(second.refresh_token, first.refresh_token); assert.notEqual(second.access_token, first.access_token);
  const reuse = await refresh(String(first.refresh_token));
  assert.equal(reuse.status, 400);
  assert.deepEqual(reuse.json, { error: 'invalid_request', error_description: 'Invalid Refresh Token' });
  assert.equal((await refresh(String(second.refresh_token))).status, 200);
  assert.equal(sb.stats().tokenRefreshes, before + 2);
  assert.equal((await authed(sb, String(first.access_token))('/v2/tags')).status, 200);
  const bodyCreds = await call(sb.tokenUrl, form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: sb.clientId, client_secret: sb.clientSecret }));
  assert.equal(bodyCreds.status, 401, 'refresh needs HTTP Basic client credentials');
});

test('expiry: access tokens after expires_in (Apigee access_token_expired), refresh tokens after 45 days', async () => {
  const local = await startSandbox({ contacts: 5, limits: NO_LIMITS, accessTokenTtlSeconds: 60 });
  try {
    const t = local.issueTokens();
    const get = authed(local, t.access_token);
    assert.equal((await get('/v2/tags')).status, 200);
    local.advanceClock(61_000);
    const expired = await get('/v2/tags');
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.json, { fault: { faultstring: 'Access Token expired', detail: { errorcode: 'keymanagement.service.access_token_expired' } } });
    local.advanceClock(44 * 86_400_000);
    const ok = await call(local.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(local.clientId, local.clientSecret) }, body: `grant_type=refresh_token&refresh_token=${t.refresh_token}` });
    assert.equal(ok.status, 200, 'a 44-day-old refresh token still works');
    const late = local.issueTokens();
    local.advanceClock(45 * 86_400_000 + 1000);
    const dead = await call(local.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(local.clientId, local.clientSecret) }, body: `grant_type=refresh_token&refresh_token=${late.refresh_token}` });
    assert.equal(dead.status, 400);
    const fresh = local.issueTokens();
    local.expireAccessTokens();
    assert.equal((await authed(local, fresh.access_token)('/v2/tags')).status, 401);
  } finally { await local.close(); }
});

test('401s before routing: no header, no Bearer, garbage token — Apigee bodies, even for unknown paths', async () => {
  const none = await call(`${sb.apiBase}/v2/contacts`);
  assert.equal(none.status, 401);
  assert.deepEqual(none.json, { fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } });
  const noBearer = await call(`${sb.apiBase}/v2/contacts`, { headers: { authorization: sb.personalAccessToken } });
  assert.deepEqual(noBearer.json, none.json);
  const garbage = await call(`${sb.apiBase}/v2/contacts`, { headers: { authorization: 'Bearer garbage' } });
  assert.equal(garbage.status, 401);
  assert.deepEqual(garbage.json, { fault: { faultstring: 'Invalid Access Token', detail: { errorcode: 'keymanagement.service.invalid_access_token' } } });
  const unknownPath = await call(`${sb.apiBase}/v9/nothing/here`);
  assert.equal(unknownPath.status, 401);
  assert.equal(garbage.headers.get('x-keap-tenant-id'), sb.tenant);
});

test('personal access tokens and service account keys work as X-Keap-API-Key and as Bearer', async () => {
  for (const key of [sb.personalAccessToken, sb.serviceAccountKey]) {
    assert.equal((await call(`${sb.apiBase}/v2/tags`, { headers: { 'X-Keap-API-Key': key } })).status, 200);
    assert.equal((await call(`${sb.apiBase}/v2/tags`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
  }
  assert.ok(sb.serviceAccountKey.startsWith('KeapAK'));
  assert.equal((await call(`${sb.apiBase}/v2/tags`, { headers: { 'X-Keap-API-Key': 'KeapAK-wrong' } })).status, 401);
});

// Latency and faults set by options and changed at run time through /_sandbox/control; the stats endpoint counts
// API calls per endpoint, version and status, and never counts itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { call, authed, NO_LIMITS } from './openapi/sandbox-client.js';

let sb: Sandbox;
let get: ReturnType<typeof authed>;
before(async () => { sb = await startSandbox({ contacts: 500, limits: NO_LIMITS }); get = authed(sb); });
after(() => sb.close());
const control = (f: unknown) => call(`${sb.url}/_sandbox/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });
const reset = async (): Promise<void> => { await control({ latencyMs: 0, latencyJitterMs: 0, errorRate: 0, resetRate: 0, truncateRate: 0, slowBodyMs: 0, failNext: null }); sb.resetStats(); };

test('stats count API calls by templated endpoint, version and status; control and stats endpoints are not counted', async () => {
  await reset();
  await get('/v2/contacts/1'); await get('/v2/contacts/2'); await get('/v1/contacts?limit=1'); await get('/v2/contacts/999999');
  await call(`${sb.apiBase}/v2/tags`);
  await call(sb.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=x' });
  await call(`${sb.url}/_sandbox/stats`);
  await call(`${sb.url}/favicon.ico`);
  const s = (await call(`${sb.url}/_sandbox/stats`)).json as ReturnType<Sandbox['stats']>;
  assert.equal(s.total, 6);
  assert.equal(s.byEndpoint['GET /v2/contacts/{contact_id}'], 3);
  assert.equal(s.byEndpoint['GET /v1/contacts'], 1);
  assert.equal(s.byEndpoint['GET /v2/tags'], 1);
  assert.equal(s.byEndpoint['POST /token'], 1);
  assert.deepEqual(s.byVersion, { v1: 1, v2: 4, oauth: 1, other: 0 });
  assert.deepEqual(s.byStatus, { '200': 3, '404': 1, '401': 2 });
  const after = (await call(`${sb.url}/_sandbox/stats/reset`, { method: 'POST' })).json as { total: number };
  assert.equal(after.total, 0);
  assert.equal(sb.stats().total, 0);
});

test('failNext fails exactly the next N API calls with the status, in each version\'s error shape', async () => {
  await reset();
  assert.equal((await control({ failNext: { count: 2, status: 503 } })).status, 200);
  const a = await get('/v2/contacts/1'); const b = await get('/v1/contacts/1'); const c = await get('/v2/contacts/1');
  assert.deepEqual([a.status, b.status, c.status], [503, 503, 200]);
  assert.equal((a.json as { code: number }).code, 503);
  assert.equal(typeof (b.json as { message: string }).message, 'string');
  assert.equal(sb.stats().byStatus['503'], 2);
});

test('errorRate 1 answers every call with one of errorStatuses; 0 answers none', async () => {
  await reset();
  sb.setFaults({ errorRate: 1, errorStatuses: [502] });
  for (let i = 0; i < 5; i++) assert.equal((await get('/v2/tags')).status, 502);
  sb.setFaults({ errorRate: 0 });
  assert.equal((await get('/v2/tags')).status, 200);
  sb.setFaults({ errorRate: 0.5, errorStatuses: [500, 502, 503] });
  const seen = new Set<number>();
  for (let i = 0; i < 60; i++) seen.add((await get('/v2/tags')).status);
  assert.ok(seen.has(200) && [500, 502, 503].some((s) => seen.has(s)), [...seen].join(','));
  sb.setFaults({ errorRate: 0 });
});

test('latency is added to each call and can be changed at run time', async () => {
  await reset();
  await control({ latencyMs: 120 });
  const t0 = performance.now(); await get('/v2/tags'); const slow = performance.now() - t0;
  await control({ latencyMs: 0 });
  const t1 = performance.now(); await get('/v2/tags'); const fast = performance.now() - t1;
  assert.ok(slow >= 115, `slow ${slow}`); assert.ok(fast < 100, `fast ${fast}`);
});

test('connection resets and bodies cut off midway reach the client as errors; slow bodies arrive whole, late', async () => {
  await reset();
  sb.setFaults({ resetRate: 1 });
  await assert.rejects(fetch(`${sb.apiBase}/v2/contacts?page_size=10`, { headers: { authorization: `Bearer ${sb.personalAccessToken}` } }));
  sb.setFaults({ resetRate: 0, truncateRate: 1 });
  await assert.rejects(async () => {
    const r = await request(`${sb.apiBase}/v2/contacts?page_size=500`, { headers: { authorization: `Bearer ${sb.personalAccessToken}` } });
    assert.equal(r.statusCode, 200);
    JSON.parse(await r.body.text());
  });
  sb.setFaults({ truncateRate: 0, slowBodyMs: 200 });
  const t0 = performance.now();
  const slow = await get('/v2/contacts?page_size=100');
  assert.ok(performance.now() - t0 >= 150);
  assert.equal((slow.json as { contacts: unknown[] }).contacts.length, 100);
  sb.setFaults({ slowBodyMs: 0 });
  assert.equal(sb.stats().byStatus.reset, 1);
});

test('invalid control bodies are refused and leave the faults unchanged', async () => {
  await reset();
  assert.equal((await control({ errorRate: 2 })).status, 400);
  assert.equal((await control({ errorStatuses: [200] })).status, 400);
  assert.equal(sb.faults().errorRate, 0);
  const current = (await call(`${sb.url}/_sandbox/control`)).json as { errorStatuses: number[] };
  assert.deepEqual(current.errorStatuses, [500, 502, 503]);
});

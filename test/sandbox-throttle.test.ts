// Throttling as Keap does it (reference §7): 429 exactly past each configured limit and not before, the x-keap-*
// headers on every response, and the documented 429 bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox } from '../src/sandbox/index.js';
import { call, authed } from './openapi/sandbox-client.js';

async function burst(get: (p: string) => Promise<{ status: number }>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get('/v2/tags?page_size=1')).status);
  return out;
}

test('per-minute quota: exactly `perMinute` requests pass, the next is 429 with the Quota Exceeded body; the next minute is open again', async () => {
  const sb = await startSandbox({ contacts: 10, limits: { spikePerSecond: 1000, perMinute: 7, perDay: 1000 } });
  try {
    // start at the top of a minute so the window cannot roll over mid-test
    sb.advanceClock(60_000 - (sb.now() % 60_000) + 1);
    const get = authed(sb);
    const statuses = await burst(get, 7);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200]);
    const over = await get('/v2/tags');
    assert.equal(over.status, 429);
    assert.deepEqual(over.json, { code: '429', message: 'Quota Exceeded', status: 'Request Throttled', details: null });
    assert.equal(over.headers.get('x-keap-product-throttle-available'), '0');
    assert.equal(over.headers.get('x-keap-product-throttle-used'), '7');
    sb.advanceClock(60_000);
    assert.equal((await get('/v2/tags')).status, 200);
    assert.equal(sb.stats().byStatus['429'], 1);
  } finally { await sb.close(); }
});

test('per-day quota resets at 00:00 UTC; headers count down from the limit', async () => {
  const sb = await startSandbox({ contacts: 10, limits: { spikePerSecond: 1000, perMinute: 1000, perDay: 5 } });
  try {
    const DAY = 86_400_000;
    sb.advanceClock(DAY - (sb.now() % DAY) + 1000);
    const get = authed(sb);
    const r1 = await get('/v2/tags');
    assert.equal(r1.headers.get('x-keap-product-quota-limit'), '5');
    assert.equal(r1.headers.get('x-keap-product-quota-available'), '4');
    assert.equal(r1.headers.get('x-keap-product-quota-used'), '1');
    assert.equal(r1.headers.get('x-keap-product-quota-time-unit'), 'day');
    assert.equal(r1.headers.get('x-keap-product-throttle-time-unit'), 'minute');
    assert.deepEqual(await burst(get, 4), [200, 200, 200, 200]);
    assert.equal((await get('/v2/tags')).status, 429);
    sb.advanceClock(DAY);
    assert.equal((await get('/v2/tags')).status, 200);
  } finally { await sb.close(); }
});

test('spike arrest: at most spikePerSecond in any second, answered with the Apigee SpikeArrestViolation fault', async () => {
  const sb = await startSandbox({ contacts: 10, limits: { spikePerSecond: 4, perMinute: 1000, perDay: 1000 } });
  try {
    const get = authed(sb);
    const statuses = await burst(get, 4);
    assert.deepEqual(statuses, [200, 200, 200, 200]);
    const over = await get('/v2/tags');
    assert.equal(over.status, 429);
    assert.equal((over.json as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode, 'policies.ratelimit.SpikeArrestViolation');
    sb.advanceClock(1001);
    assert.equal((await get('/v2/tags')).status, 200);
  } finally { await sb.close(); }
});

test('tenant quota applies across credentials; tenant headers carry minute|day pairs', async () => {
  const sb = await startSandbox({ contacts: 10, limits: { spikePerSecond: 1000, perMinute: 1000, perDay: 1000, tenantPerMinute: 3, tenantPerDay: 100 } });
  try {
    sb.advanceClock(60_000 - (sb.now() % 60_000) + 1);
    const pat = authed(sb, sb.personalAccessToken); const sak = authed(sb, sb.serviceAccountKey); const oauth = authed(sb, sb.issueTokens().access_token);
    const r = await pat('/v2/tags');
    assert.equal(r.headers.get('x-keap-tenant-throttle-time-unit'), 'minute|day');
    assert.equal(r.headers.get('x-keap-tenant-throttle-limit'), '3|100');
    assert.equal(r.headers.get('x-keap-tenant-throttle-used'), '1|1');
    assert.equal((await sak('/v2/tags')).status, 200);
    assert.equal((await oauth('/v2/tags')).status, 200);
    assert.equal((await pat('/v2/tags')).status, 429);
    assert.equal((await oauth('/v2/tags')).status, 429);
  } finally { await sb.close(); }
});

test('defaults follow the reference: OAuth 1500/min and 150000/day, API keys 240/min and 30000/day', async () => {
  const sb = await startSandbox({ contacts: 10 });
  try {
    const key = await authed(sb)('/v2/tags');
    assert.equal(key.headers.get('x-keap-product-throttle-limit'), '240');
    assert.equal(key.headers.get('x-keap-product-quota-limit'), '30000');
    const o = await authed(sb, sb.issueTokens().access_token)('/v2/tags');
    assert.equal(o.headers.get('x-keap-product-throttle-limit'), '1500');
    assert.equal(o.headers.get('x-keap-product-quota-limit'), '150000');
    assert.equal(o.headers.get('x-keap-tenant-throttle-limit'), '10000|250000');
    const unauth = await call(`${sb.apiBase}/v2/tags`);
    assert.equal(unauth.headers.get('x-keap-product-quota-limit'), '', 'present but blank on 401s');
  } finally { await sb.close(); }
});

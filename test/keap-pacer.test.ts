import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestPacer, rateFromQuotaHeaders } from '../src/keap/pacer.js';
import { parseRetryAfter, retryDelayMs, isRetryableStatus, isRetryableError, DEFAULT_RETRY_POLICY } from '../src/keap/retry-policy.js';

test('the pacer hands out slots below the spike limit, evenly spaced', async () => {
  let now = 0;
  const pacer = new RequestPacer({ spikePerSecond: 25, headroom: 0.8, now: () => now });
  assert.equal(pacer.ratePerSecond, 20);
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    starts.push(now + pacer.delayBeforeNext());
    void pacer.acquire().catch(() => {});
  }
  assert.deepEqual(starts, [0, 50, 100, 150, 200]);
});

test('a 429 holds every request back for the given time', () => {
  let now = 1000;
  const pacer = new RequestPacer({ spikePerSecond: 25, now: () => now });
  pacer.holdFor(2000);
  assert.equal(pacer.delayBeforeNext(), 2000);
  now = 3500;
  assert.equal(pacer.delayBeforeNext(), 0);
});

test('acquire really waits, and an aborted signal ends the wait', async () => {
  const pacer = new RequestPacer({ spikePerSecond: 10, headroom: 1 });
  const t0 = performance.now();
  await pacer.acquire();
  await pacer.acquire();
  await pacer.acquire();
  assert.ok(performance.now() - t0 >= 190, 'three slots at 10/s take 200 ms');
  pacer.holdFor(10_000);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(pacer.acquire(ac.signal), { name: 'AbortError' });
});

test('requests that leave late and together still stay below the spike limit in every second', async () => {
  // At 25/s planned, 40 ms apart, any second would hold 25: the gateway's sliding window allows fewer than 25
  // already there. A blocked event loop makes it worse: sleepers wake late and at once.
  const pacer = new RequestPacer({ spikePerSecond: 25, headroom: 1 });
  const left: number[] = [];
  const all = Array.from({ length: 40 }, () => pacer.acquire().then(() => left.push(performance.now())));
  setTimeout(() => {
    const until = performance.now() + 250;
    while (performance.now() < until); // the event loop is busy: several slots come due meanwhile
  }, 300);
  await Promise.all(all);
  left.sort((a, b) => a - b);
  for (let i = 0; i + 24 < left.length; i++) {
    assert.ok(left[i + 24]! - left[i]! > 1000, `requests ${i}..${i + 24} left within ${Math.round(left[i + 24]! - left[i]!)} ms`);
  }
});

test('a spike limit learned from a 429 holds real send times one below it in every second', async () => {
  // 12 × 0.97 / 0.97 is 12.000…02 in floating point: the window must still come from the integer limit
  const pacer = new RequestPacer({ spikePerSecond: 1000 });
  pacer.lowerSpikeLimit(12);
  const left: number[] = [];
  await Promise.all(Array.from({ length: 14 }, () => pacer.acquire().then(() => left.push(performance.now()))));
  left.sort((a, b) => a - b);
  for (let i = 0; i + 11 < left.length; i++) assert.ok(left[i + 11]! - left[i]! > 1000, `requests ${i}..${i + 11} within one second`);
});

test('quota headers slow the pacer only when a bucket runs low', () => {
  assert.equal(rateFromQuotaHeaders({}), Infinity);
  const plenty = { 'x-keap-product-throttle-limit': '1500', 'x-keap-product-throttle-available': '1400', 'x-keap-product-throttle-time-unit': 'minute' };
  assert.equal(rateFromQuotaHeaders(plenty), Infinity);
  const low = { ...plenty, 'x-keap-product-throttle-available': '60' };
  assert.equal(rateFromQuotaHeaders(low), 1);
  // the tenant bucket reports two windows, pipe-delimited
  const tenant = { 'x-keap-tenant-throttle-limit': '10000|250000', 'x-keap-tenant-throttle-available': '9000|864', 'x-keap-tenant-throttle-time-unit': 'minute|day', 'x-keap-tenant-throttle-interval': '1|1' };
  assert.equal(rateFromQuotaHeaders(tenant), 0.01);
  // blank numbers (as on unauthenticated 401s) are ignored
  assert.equal(rateFromQuotaHeaders({ 'x-keap-product-throttle-available': '', 'x-keap-product-throttle-limit': '' }), Infinity);

  const pacer = new RequestPacer({ spikePerSecond: 25, minPerSecond: 0.5 });
  pacer.observe(low);
  assert.equal(pacer.ratePerSecond, 1);
  pacer.observe({ ...plenty, 'x-keap-product-throttle-available': '0' });
  assert.equal(pacer.ratePerSecond, 0.5);
  pacer.observe(plenty);
  assert.equal(pacer.ratePerSecond, 25 * 0.97);
});

test('retry policy: which failures, how long, and when to give up', () => {
  for (const s of [429, 502, 503, 504]) assert.ok(isRetryableStatus(s));
  for (const s of [400, 401, 403, 404, 500]) assert.ok(!isRetryableStatus(s));
  assert.ok(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' })));
  assert.ok(isRetryableError(Object.assign(new Error('x'), { cause: { code: 'UND_ERR_SOCKET' } })));
  assert.ok(!isRetryableError(new Error('x')));

  const policy = { ...DEFAULT_RETRY_POLICY, random: () => 0.999 };
  assert.equal(retryDelayMs(policy, 1), 249);
  assert.equal(retryDelayMs(policy, 3), 999);
  assert.equal(retryDelayMs(policy, 7), 7992); // capped at maxDelayMs
  assert.equal(retryDelayMs(policy, 8), undefined); // attempts used up
  assert.equal(retryDelayMs({ ...policy, random: () => 0 }, 2, 3000), 3000); // Retry-After is the floor
  assert.equal(retryDelayMs(policy, 2, 120_000), undefined); // longer than we accept to wait

  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(['0.5']), 500);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

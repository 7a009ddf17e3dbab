// The connector against the sandbox: paging to the end, calls per query shape, MaxRows, faults, cancellation,
// hostile filter values, per-parent tables and credential refresh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { KeapConnector, type KeapConnectorOptions } from '../src/keap/connector.js';
import { loadCatalog } from '../src/schema/load.js';
import type { Catalog, TableSchema } from '../src/schema/types.js';
import type { FetchPlan } from '../src/planner/types.js';
import type { CredentialSource } from '../src/keap/types.js';
import { SqlError } from '../src/errors.js';

let sb: Sandbox;
let catalog: Catalog;
let contacts: TableSchema;
const never = new AbortController().signal;
const CONTACTS = 2000;

before(async () => {
  // Each test's connector has its own pacer, so the shared sandbox's spike limit is high; pacing below a
  // real limit is tested on sandboxes of its own.
  sb = await startSandbox({ port: 0, contacts: CONTACTS, limits: { spikePerSecond: 1000, perMinute: 1_000_000, perDay: 10_000_000 } });
  catalog = loadCatalog();
  contacts = catalog.tables.get('contacts') as TableSchema;
});
after(async () => {
  await sb.close();
});

function apiKey(): CredentialSource {
  return { headers: async () => ({ 'X-Keap-API-Key': sb.personalAccessToken }), unauthorized: async () => false };
}

function connector(opts: Partial<KeapConnectorOptions> = {}): KeapConnector {
  return new KeapConnector({ apiBase: sb.apiBase, credentials: apiKey(), catalog, retry: { baseDelayMs: 20, maxDelayMs: 200 }, ...opts });
}

function table(name: string): TableSchema {
  return catalog.tables.get(name) as TableSchema;
}

async function collect(c: KeapConnector, t: TableSchema, plan: Omit<FetchPlan, 'table'>, signal = never) {
  const f = c.fetch(t, { table: t.name, ...plan }, signal);
  const records: Array<Record<string, unknown>> = [];
  for await (const page of f) records.push(...(page as Array<Record<string, unknown>>));
  return { records, truncated: f.truncated(), fetch: f };
}

/** API calls the block made (by the sandbox's own count). */
async function calls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number; byStatus: Record<string, number> }> {
  sb.resetStats();
  const result = await fn();
  const s = sb.stats();
  return { result, calls: s.total, byStatus: s.byStatus };
}

const ids = (records: Array<Record<string, unknown>>): number[] => records.map((r) => Number(r.id)).sort((a, b) => a - b);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

test('a full fetch pages to the end: every contact exactly once', async () => {
  const c = connector({ pageSize: 100 });
  try {
    const { result, calls: n, byStatus } = await calls(() => collect(c, contacts, { conditions: [] }));
    assert.deepEqual(ids(result.records), range(CONTACTS));
    // 20 pages + the few speculative id ranges in flight when the end of the ids is found + one last head page
    assert.ok(n <= 27, `${n} calls for 20 pages`);
    assert.equal(byStatus['429'], undefined);
    assert.equal(result.truncated, false);

    // with the API's count asked alongside the first page, the ranges stop exactly at the last record
    const counted = await calls(() => collect(c, withV1Count(contacts), { conditions: [] }));
    assert.deepEqual(ids(counted.result.records), range(CONTACTS));
    assert.equal(counted.calls, 21, 'the first page, the count, 19 ranges');
  } finally {
    await c.close();
  }
});

function withV1Count(t: TableSchema): TableSchema {
  return { ...t, source: { ...t.source, count: { version: 1, path: '/v1/contacts', key: 'count' } } };
}

test('WHERE email = … is one call', async () => {
  const c = connector();
  try {
    const all = (await collect(c, contacts, { conditions: [{ column: 'id', op: 'in', values: ['77'] }] })).records;
    const email = (all[0]?.email_addresses as Array<{ email: string; field: string }>).find((e) => e.field === 'EMAIL1')?.email as string;
    const { result, calls: n } = await calls(() => collect(c, contacts, { conditions: [{ column: 'email', op: '=', value: email }] }));
    assert.equal(n, 1);
    assert.ok(ids(result.records).includes(77));
  } finally {
    await c.close();
  }
});

test('WHERE id IN (…) is one call and returns exactly those contacts', async () => {
  const c = connector();
  try {
    const { result, calls: n } = await calls(() => collect(c, contacts, { conditions: [{ column: 'id', op: 'in', values: ['1999', '5', 17, '5'] }] }));
    assert.equal(n, 1);
    assert.deepEqual(ids(result.records), [5, 17, 1999]);
  } finally {
    await c.close();
  }
});

test('LIMIT 10 with an orderable ORDER BY is one call returning the first ten', async () => {
  const c = connector();
  try {
    const asc = await calls(() => collect(c, contacts, { conditions: [], limit: 10, orderBy: { column: 'id', direction: 'asc' } }));
    assert.equal(asc.calls, 1);
    assert.deepEqual(asc.result.records.map((r) => Number(r.id)), range(10));
    assert.equal(asc.result.fetch.limitPushed, true);
    const desc = await calls(() => collect(c, contacts, { conditions: [], limit: 3, orderBy: { column: 'id', direction: 'desc' } }));
    assert.equal(desc.calls, 1);
    assert.deepEqual(desc.result.records.map((r) => Number(r.id)), [2000, 1999, 1998]);
  } finally {
    await c.close();
  }
});

test('LIMIT is not pushed when a condition stays with the engine (the API\'s first n would be the wrong n)', async () => {
  const c = connector({ pageSize: 1000 });
  try {
    const r = await collect(c, contacts, { conditions: [{ column: 'email', op: '=', value: 'a;b' }], limit: 10, orderBy: { column: 'id', direction: 'asc' } });
    assert.equal(r.fetch.limitPushed, false);
    assert.equal(r.records.length, CONTACTS + (await countCreated()));
    // nor to an unnest table: ten contacts may hold fewer than ten addresses
    const addresses = await collect(c, table('contact_addresses'), { conditions: [], limit: 10 });
    assert.equal(addresses.fetch.limitPushed, false);
  } finally {
    await c.close();
  }
});

test('count(*) uses the API\'s count: one call', async () => {
  const c = connector();
  try {
    const transactions = table('transactions');
    const everything = (await collect(c, transactions, { conditions: [] })).records.length;
    const counted = await calls(() => c.count(transactions, { table: 'transactions', conditions: [], countOnly: true }, never));
    assert.equal(counted.calls, 1);
    assert.equal(counted.result, everything);
    const someone = (await collect(c, transactions, { conditions: [] })).records[0]?.contact_id as number;
    const theirs = await collect(c, transactions, { conditions: [{ column: 'contact_id', op: '=', value: String(someone) }] });
    const filtered = await calls(() => c.count(transactions, { table: 'transactions', conditions: [{ column: 'contact_id', op: '=', value: String(someone) }] }, never));
    assert.deepEqual([filtered.calls, filtered.result], [1, theirs.records.length]);
    assert.ok(theirs.records.length > 0 && theirs.records.length < everything);
    // a v2 table given a v1 count: only without conditions
    const withCount: TableSchema = { ...contacts, source: { ...contacts.source, count: { version: 1, path: '/v1/contacts', key: 'count' } } };
    const c2 = await calls(() => c.count(withCount, { table: 'contacts', conditions: [] }, never));
    assert.deepEqual([c2.calls, c2.result], [1, CONTACTS]);
    assert.equal(await c.count(withCount, { table: 'contacts', conditions: [{ column: 'id', op: '=', value: '1' }] }, never), undefined);
    assert.equal(await c.count(table('users'), { table: 'users', conditions: [] }, never), undefined);
  } finally {
    await c.close();
  }
});

test('MaxRows cuts the fetch and says so; a table that fits is not truncated', async () => {
  const small = connector({ maxRows: 150, pageSize: 100 });
  const exact = connector({ maxRows: CONTACTS, pageSize: 1000 });
  const v1 = connector({ maxRows: 250, pageSize: 100 });
  try {
    const cut = await calls(() => collect(small, contacts, { conditions: [] }));
    assert.equal(cut.result.records.length, 150);
    assert.equal(new Set(ids(cut.result.records)).size, 150);
    assert.equal(cut.result.truncated, true);
    assert.ok(cut.calls <= 3, `${cut.calls} calls`);
    const fits = await collect(exact, contacts, { conditions: [] });
    assert.equal(fits.records.length, CONTACTS);
    assert.equal(fits.truncated, false);
    const tv1 = await calls(() => collect(v1, table('transactions'), { conditions: [] }));
    assert.equal(tv1.result.records.length, 250);
    assert.equal(tv1.result.truncated, true);
    assert.equal(tv1.calls, 3, 'offsets past MaxRows are not fetched');
    // LIMIT under MaxRows: not a truncation
    const lim = await collect(small, contacts, { conditions: [], limit: 20, orderBy: { column: 'id', direction: 'asc' } });
    assert.deepEqual([lim.records.length, lim.truncated], [20, false]);
  } finally {
    await Promise.all([small.close(), exact.close(), v1.close()]);
  }
});

test('429 storms, 5xx bursts, resets and truncated bodies leave the results complete and correct', async () => {
  const c = connector({ pageSize: 100 });
  try {
    const clean = await collect(c, contacts, { conditions: [] });
    const cleanTx = await collect(c, table('transactions'), { conditions: [] });
    sb.setFaults({ errorRate: 0.3, errorStatuses: [429, 429, 502, 503, 504], resetRate: 0.05, truncateRate: 0.05 });
    try {
      const { result, byStatus } = await calls(() => collect(c, contacts, { conditions: [] }));
      assert.ok((byStatus['429'] ?? 0) + (byStatus['503'] ?? 0) + (byStatus.reset ?? 0) > 3, JSON.stringify(byStatus));
      const byId = (rs: Array<Record<string, unknown>>) => [...rs].sort((a, b) => Number(a.id) - Number(b.id));
      assert.deepEqual(byId(result.records), byId(clean.records));
      const tx = await collect(c, table('transactions'), { conditions: [] });
      assert.deepEqual(byId(tx.records), byId(cleanTx.records));
      sb.setFaults({ errorRate: 0, failNext: { count: 6, status: 429 } });
      const burst = await collect(c, contacts, { conditions: [{ column: 'id', op: 'in', values: ['1', '2'] }] });
      assert.deepEqual(ids(burst.records), [1, 2]);
    } finally {
      sb.setFaults({ errorRate: 0, resetRate: 0, truncateRate: 0 });
    }
  } finally {
    await c.close();
  }
});

test('fetchCopy: decoder threads give the same rows as decoding here, under faults and MaxRows cuts', async () => {
  const lines = async (c: KeapConnector, t: TableSchema): Promise<{ lines: string[]; rows: number; truncated: boolean }> => {
    const f = c.fetchCopy(t, { table: t.name, conditions: [] }, never);
    let text = '';
    let rows = 0;
    for await (const chunk of f) {
      text += chunk.bytes.toString('utf8');
      rows += chunk.rows;
    }
    return { lines: text.split('\n').filter(Boolean).sort(), rows, truncated: f.truncated() };
  };
  const here = connector({ pageSize: 100, pageDecoders: false });
  const threads = connector({ pageSize: 100 });
  const cut = connector({ pageSize: 100, maxRows: 250 });
  try {
    for (const name of ['contacts', 'transactions', 'contact_email_addresses', 'contact_tags']) {
      const expected = await lines(here, table(name));
      assert.ok(expected.rows > 0, name);
      assert.equal(expected.lines.length, expected.rows, name);
      assert.deepEqual(await lines(threads, table(name)), expected, name);
    }
    const expected = await lines(here, contacts);
    try {
      // bodies cut short: the decoder thread finds no complete JSON, and the request is retried
      sb.setFaults({ truncateRate: 0.3 });
      const retriesBefore = threads.stats.retries;
      assert.deepEqual(await lines(threads, contacts), expected);
      assert.ok(threads.stats.retries > retriesBefore, 'truncated bodies were retried');
      sb.setFaults({ truncateRate: 0, errorRate: 0.2, errorStatuses: [429, 502, 503], resetRate: 0.05 });
      const faulty = await calls(() => lines(threads, contacts));
      assert.ok((faulty.byStatus['429'] ?? 0) + (faulty.byStatus['502'] ?? 0) + (faulty.byStatus['503'] ?? 0) + (faulty.byStatus.reset ?? 0) > 0, JSON.stringify(faulty.byStatus));
      assert.deepEqual(faulty.result, expected);
    } finally {
      sb.setFaults({ errorRate: 0, resetRate: 0, truncateRate: 0 });
    }
    // MaxRows 250 with 100-record pages: the third page is cut after 50 records
    const limited = await lines(cut, contacts);
    assert.deepEqual([limited.rows, limited.lines.length, limited.truncated], [250, 250, true]);
  } finally {
    await Promise.all([here.close(), threads.close(), cut.close()]);
  }
});

test('a statement cancelled during a 100-page fetch stops its HTTP requests', async () => {
  sb.setFaults({ latencyMs: 40 });
  const c = connector({ pageSize: 20 });
  try {
    sb.resetStats();
    const ac = new AbortController();
    let pages = 0;
    await assert.rejects(
      (async () => {
        for await (const _page of c.fetch(contacts, { table: 'contacts', conditions: [] }, ac.signal)) {
          if (++pages === 5) ac.abort();
        }
      })(),
      (e: unknown) => e instanceof SqlError && e.sqlstate === '57014',
    );
    await new Promise((r) => setTimeout(r, 300)); // requests already at the server finish there
    const settled = sb.stats().total;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(sb.stats().total, settled, 'no request after the cancel settled');
    assert.ok(settled < 30, `${settled} of 100 pages requested`);

    // a consumer that stops reading (LIMIT reached in the engine, client gone) stops the fetch too
    sb.resetStats();
    for await (const _page of c.fetch(contacts, { table: 'contacts', conditions: [] }, never)) break;
    await new Promise((r) => setTimeout(r, 300));
    const afterBreak = sb.stats().total;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(sb.stats().total, afterBreak);
    assert.ok(afterBreak < 30);
  } finally {
    sb.setFaults({ latencyMs: 0 });
    await c.close();
  }
});

test('hostile values (; == * quotes unicode, very long) give correct results', async () => {
  const c = connector({ pageSize: 1000 });
  try {
    const made: string[] = [];
    for (const email of ["o'neil+x@example.com", 'zoë.山田@exämple.com', 'semi;colon@example.com', 'eq==eq@example.com', 'star*@example.com', 'NONE']) {
      const res = await request(`${sb.apiBase}/v2/contacts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-keap-api-key': sb.personalAccessToken },
        body: JSON.stringify({ given_name: 'Hostile', email_addresses: [{ email, field: 'EMAIL1' }] }),
      });
      const body = (await res.body.json()) as { id?: string };
      if (res.statusCode < 300 && body.id) made.push(email);
    }
    assert.ok(made.length >= 2, `the sandbox accepted ${made.length} hostile emails`);
    const everyone = (await collect(c, contacts, { conditions: [] })).records;
    const primary = (r: Record<string, unknown>) => (r.email_addresses as Array<{ email: string; field: string }> | undefined)?.find((e) => e.field === 'EMAIL1')?.email;
    const values = [...made, 'a;b', 'x==y', '*', "'", '"', "'; DROP TABLE contacts; --", 'ids==1,2', ' padded ', '😀', 'x'.repeat(5000), 'email==NONE'];
    for (const value of values) {
      const expected = everyone.filter((r) => primary(r) === value).map((r) => Number(r.id));
      const got = (await collect(c, contacts, { conditions: [{ column: 'email', op: '=', value }] })).records;
      // the engine re-applies the condition; what matters is that nothing it needs is missing
      const kept = got.filter((r) => primary(r) === value).map((r) => Number(r.id));
      assert.deepEqual(kept.sort(), expected.sort(), `value ${JSON.stringify(value).slice(0, 40)}`);
    }
    const pushedSafe = await calls(() => collect(c, contacts, { conditions: [{ column: 'email', op: '=', value: "o'neil+x@example.com" }] }));
    assert.equal(pushedSafe.calls, 1, 'a quote is safe to push');
    const prefix = await collect(c, contacts, { conditions: [{ column: 'email', op: 'prefix', value: 'semi;' }] });
    assert.equal(prefix.fetch.dropped.length, 1);
  } finally {
    await c.close();
  }
});

test('per-parent tables: a pinned parent is one call, otherwise every parent is fetched; records carry $parent', async () => {
  const c = connector({ pageSize: 1000 });
  try {
    const ct = table('contact_tags');
    const one = await calls(() => collect(c, ct, { conditions: [{ column: 'tag_id', op: '=', value: '3' }] }));
    assert.equal(one.calls, 1);
    assert.ok(one.result.records.length > 0);
    assert.ok(one.result.records.every((r) => (r.$parent as { id: string }).id === '3'));
    const two = await calls(() => collect(c, ct, { conditions: [{ column: 'tag_id', op: 'in', values: ['3', '4'] }] }));
    assert.equal(two.calls, 2);
    const all = await calls(() => collect(c, ct, { conditions: [] }));
    const tags = (await collect(c, table('tags'), { conditions: [] })).records;
    assert.equal(all.calls, 1 + tags.length);
    const fromAll = all.result.records.filter((r) => (r.$parent as { id: string }).id === '3');
    assert.deepEqual(ids(fromAll), ids(one.result.records));
    assert.equal((fromAll[0]?.$parent as { name?: string }).name, tags.find((t) => t.id === '3')?.name, 'the whole parent record');
  } finally {
    await c.close();
  }
});

test('an expired OAuth token is refreshed once and the fetch completes', async () => {
  let token = sb.issueTokens().access_token;
  let refreshes = 0;
  const oauth: CredentialSource = {
    headers: async () => ({ authorization: `Bearer ${token}` }),
    unauthorized: async (rejected) => {
      if (rejected.authorization !== `Bearer ${token}`) return true; // someone refreshed meanwhile
      refreshes++;
      token = sb.issueTokens().access_token;
      return true;
    },
  };
  const c = connector({ credentials: oauth, pageSize: 500 });
  try {
    sb.expireAccessTokens();
    const { result, byStatus } = await calls(() => collect(c, contacts, { conditions: [] }));
    assert.deepEqual(ids(result.records), range(CONTACTS + (await countCreated())));
    assert.ok(byStatus['401'] >= 1);
    assert.equal(refreshes, 1);
  } finally {
    await c.close();
  }
});

test('a gateway spike limit lower than configured is learned from its 429 and respected', async () => {
  const slow = await startSandbox({ port: 0, contacts: 300, limits: { spikePerSecond: 5, perMinute: 100_000 } });
  const c = new KeapConnector({
    apiBase: slow.apiBase,
    credentials: { headers: async () => ({ 'X-Keap-API-Key': slow.personalAccessToken }), unauthorized: async () => false },
    pageSize: 20,
    spikePerSecond: 25,
    retry: { baseDelayMs: 50, maxDelayMs: 400 },
  });
  try {
    const f = c.fetch(contacts, { table: 'contacts', conditions: [] }, never);
    let n = 0;
    for await (const page of f) n += page.length;
    assert.equal(n, 300);
    assert.ok(c.ratePerSecond <= 5, `paced at ${c.ratePerSecond}/s`);
    const s = slow.stats();
    assert.ok((s.byStatus['429'] ?? 0) < 16, `429s: ${s.byStatus['429']} for 16 pages`);
    // once learned, the pace stays below the limit: no 429 at all
    slow.resetStats();
    let again = 0;
    for await (const page of c.fetch(contacts, { table: 'contacts', conditions: [{ column: 'id', op: '<=', value: 100 }] }, never)) again += page.length;
    assert.equal(again, 100);
    assert.equal(slow.stats().byStatus['429'], undefined);
  } finally {
    await c.close();
    await slow.close();
  }
});

test('id-range paging jumps gaps in the ids and keeps inside the statement\'s own id bounds', async () => {
  const holey = await startSandbox({ port: 0, contacts: 3000, limits: { spikePerSecond: 1000, perMinute: 1_000_000 } });
  const c = new KeapConnector({
    apiBase: holey.apiBase,
    credentials: { headers: async () => ({ 'X-Keap-API-Key': holey.personalAccessToken }), unauthorized: async () => false },
    pageSize: 100,
    maxConcurrency: 4,
    spikePerSecond: 1000,
  });
  try {
    const gone = new Set<number>();
    for (let id = 600; id < 2200; id++) gone.add(id); // a gap of many ranges
    for (let id = 2201; id < 3000; id += 2) gone.add(id); // then half as dense
    for (const id of gone) holey.store.contacts.delete(id);
    const alive = range(3000).filter((id) => !gone.has(id));
    const all = await collect(c, contacts, { conditions: [] });
    assert.deepEqual(ids(all.records), alive);
    const allCounted = await collect(c, withV1Count(contacts), { conditions: [] });
    assert.deepEqual(ids(allCounted.records), alive);

    const bounded = await collect(c, contacts, { conditions: [{ column: 'id', op: '>', value: '150' }, { column: 'id', op: '<=', value: 2600 }] });
    assert.deepEqual(ids(bounded.records), alive.filter((id) => id > 150 && id <= 2600));
  } finally {
    await c.close();
    await holey.close();
  }
});

test('pages are fetched concurrently: v1 offsets once count is known, v2 by id ranges', async () => {
  // long latency, so that the difference does not drown in the noise of a busy machine
  const slow = await startSandbox({ port: 0, contacts: 2000, latencyMs: 300, limits: { spikePerSecond: 1000, perMinute: 1_000_000 } });
  const c = new KeapConnector({
    apiBase: slow.apiBase,
    credentials: { headers: async () => ({ 'X-Keap-API-Key': slow.personalAccessToken }), unauthorized: async () => false },
    pageSize: 100,
    spikePerSecond: 1000,
  });
  try {
    let t0 = performance.now();
    const tx = await collect(c, table('transactions'), { conditions: [] });
    const v1Seconds = (performance.now() - t0) / 1000;
    const v1Pages = Math.ceil(tx.records.length / 100);
    assert.ok(v1Pages >= 8, `${v1Pages} pages`);
    // sequential would be v1Pages × 300 ms; concurrent is the first page, then the rest side by side
    assert.ok(v1Seconds < (v1Pages * 0.3) / 2, `v1: ${v1Pages} pages in ${v1Seconds.toFixed(2)} s`);

    t0 = performance.now();
    const all = await collect(c, contacts, { conditions: [] });
    const v2Seconds = (performance.now() - t0) / 1000;
    assert.equal(all.records.length, 2000);
    assert.ok(v2Seconds < (20 * 0.3) / 2, `v2: 20 pages in ${v2Seconds.toFixed(2)} s`);
  } finally {
    await c.close();
    await slow.close();
  }
});

test('an id-range filter the API refuses (400) falls back to plain paging', async () => {
  const c = connector({ pageSize: 100 });
  try {
    const refusing: TableSchema = {
      ...contacts,
      filters: [{ column: 'id', ops: ['>=', '<'], param: 'no_such_id_filter', format: 'id' }],
    };
    const { result, byStatus } = await calls(() => collect(c, refusing, { conditions: [] }));
    assert.deepEqual(ids(result.records), range(CONTACTS + (await countCreated())));
    assert.ok((byStatus['400'] ?? 0) >= 1);

  } finally {
    await c.close();
  }
});

test('unpaged endpoints and extra paths: custom_fields reads every /model endpoint once', async () => {
  const c = connector();
  try {
    const t = table('custom_fields');
    const { result, calls: n } = await calls(() => collect(c, t, { conditions: [] }));
    assert.equal(n, 1 + (t.source.extraPaths?.length ?? 0));
    assert.ok(result.records.length > 0);
  } finally {
    await c.close();
  }
});

test('quota headers running low slow the connector down before Keap says 429', async () => {
  const tight = await startSandbox({ port: 0, contacts: 2000, limits: { spikePerSecond: 1000, perMinute: 11 } });
  const c = new KeapConnector({
    apiBase: tight.apiBase,
    credentials: { headers: async () => ({ 'X-Keap-API-Key': tight.personalAccessToken }), unauthorized: async () => false },
    pageSize: 100,
    maxRows: 1000,
    spikePerSecond: 1000,
  });
  try {
    assert.equal(c.ratePerSecond, 970);
    const tx = await collect(c, table('transactions'), { conditions: [] });
    assert.equal(tx.records.length, 1000);
    const s = tight.stats();
    assert.deepEqual([s.total, s.byStatus['429']], [10, undefined]);
    // 1 call of 11 left this minute: what is left is spread over a minute, at the pacer's slowest
    assert.equal(c.ratePerSecond, 0.5);
  } finally {
    await c.close();
    await tight.close();
  }
});

async function countCreated(): Promise<number> {
  // contacts the hostile-values test created through the API
  return sb.store.contacts.size - CONTACTS;
}

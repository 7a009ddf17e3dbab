// The HTTP client against a scripted server on 127.0.0.1: retries, Retry-After, 401 refresh, error mapping,
// broken connections, timeouts and cancellation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeapHttpClient } from '../src/keap/http-client.js';
import { RequestPacer } from '../src/keap/pacer.js';
import { SqlError } from '../src/errors.js';
import type { CredentialSource } from '../src/keap/types.js';

type Step = (req: IncomingMessage, res: ServerResponse) => void;

const TOKEN = 'sekrit-access-token-123456';

async function scriptedServer(steps: Step[], fallback?: Step) {
  const seen: Array<{ url: string; auth: string | undefined }> = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    const step = steps.shift() ?? fallback ?? ok({ done: true });
    step(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiBase: `http://127.0.0.1:${port}/crm/rest`,
    seen,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function ok(body: unknown, headers: Record<string, string> = {}): Step {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}
function status(code: number, body: unknown, headers: Record<string, string> = {}): Step {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

function bearer(tokens: string[] = [TOKEN], refreshes = { count: 0 }): CredentialSource {
  return {
    async headers() {
      return { authorization: `Bearer ${tokens[0]}` };
    },
    async unauthorized(rejected) {
      refreshes.count++;
      assert.equal(rejected.authorization, `Bearer ${tokens[0]}`);
      if (tokens.length < 2) return false;
      tokens.shift();
      return true;
    },
  };
}

function client(apiBase: string, credentials: CredentialSource = bearer(), extra: Partial<ConstructorParameters<typeof KeapHttpClient>[0]> = {}) {
  return new KeapHttpClient({
    apiBase,
    credentials,
    pacer: new RequestPacer({ spikePerSecond: 1000 }),
    retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20, maxThrottleWaitMs: 60, random: () => 0.999 },
    ...extra,
  });
}

const never = new AbortController().signal;

test('GET joins the API base, path and query, and parses JSON', async () => {
  const srv = await scriptedServer([ok({ contacts: [{ id: '1' }] })]);
  const http = client(srv.apiBase);
  try {
    const body = await http.getJson('/v2/contacts', { filter: 'email==a;b@x.com', page_size: 5, skip: undefined }, never);
    assert.deepEqual(body, { contacts: [{ id: '1' }] });
    assert.equal(srv.seen[0]?.url, '/crm/rest/v2/contacts?filter=email%3D%3Da%3Bb%40x.com&page_size=5');
    assert.equal(srv.seen[0]?.auth, `Bearer ${TOKEN}`);
  } finally {
    await http.close();
    await srv.close();
  }
});

test('502, 503 and 504 are retried until the answer comes', async () => {
  const srv = await scriptedServer([status(502, {}), status(503, {}), status(504, {}), ok({ n: 1 })]);
  const http = client(srv.apiBase);
  try {
    assert.deepEqual(await http.getJson('/v1/contacts', {}, never), { n: 1 });
    assert.equal(srv.seen.length, 4);
    assert.equal(http.stats.retries, 3);
  } finally {
    await http.close();
    await srv.close();
  }
});

test('a 429 with Retry-After waits that long before retrying', async () => {
  const srv = await scriptedServer([status(429, { code: '429', message: 'Quota Exceeded' }, { 'retry-after': '1' }), ok({ n: 2 })]);
  const http = client(srv.apiBase, bearer(), { retry: { maxThrottleWaitMs: 5000 } });
  try {
    const t0 = Date.now();
    assert.deepEqual(await http.getJson('/v1/contacts', {}, never), { n: 2 });
    assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms`);
    assert.equal(http.stats.throttled, 1);
  } finally {
    await http.close();
    await srv.close();
  }
});

test('429s that outlast the retries become 53400, 500 becomes 58000 with status and message in DETAIL', async () => {
  const srv = await scriptedServer([], status(429, { code: '429', message: 'Quota Exceeded', status: 'Request Throttled' }));
  const http = client(srv.apiBase);
  try {
    await assert.rejects(http.getJson('/v2/contacts', { filter: 'email==x' }, never), (e: unknown) => {
      assert.ok(e instanceof SqlError);
      assert.equal(e.sqlstate, '53400');
      assert.match(e.detail ?? '', /HTTP 429 to GET \/v2\/contacts: Quota Exceeded/);
      assert.doesNotMatch(e.detail ?? '', /filter/);
      return true;
    });
    // 429s are retried by time spent waiting (4+9+19+19 ms), not by attempts: the fifth wait would pass 60 ms
    assert.equal(srv.seen.length, 5);
  } finally {
    await http.close();
    await srv.close();
  }
  const srv2 = await scriptedServer([status(500, { message: 'Something broke' })]);
  const http2 = client(srv2.apiBase);
  try {
    await assert.rejects(http2.getJson('/v1/orders', {}, never), (e: unknown) => {
      assert.ok(e instanceof SqlError);
      assert.equal(e.sqlstate, '58000');
      assert.equal(e.detail, 'Keap answered HTTP 500 to GET /v1/orders: Something broke');
      return true;
    });
    assert.equal(srv2.seen.length, 1, '500 is not retried');
  } finally {
    await http2.close();
    await srv2.close();
  }
});

test('403 becomes 42501; an error body quoting the token never shows it', async () => {
  const srv = await scriptedServer([status(403, { message: `token Bearer ${TOKEN} lacks scope` })]);
  const http = client(srv.apiBase);
  try {
    await assert.rejects(http.getJson('/v2/users', {}, never), (e: unknown) => {
      assert.ok(e instanceof SqlError);
      assert.equal(e.sqlstate, '42501');
      const text = `${e.message} ${e.detail} ${e.hint}`;
      assert.ok(!text.includes(TOKEN), text);
      assert.match(text, /\[redacted\]/);
      return true;
    });
  } finally {
    await http.close();
    await srv.close();
  }
});

test('a 401 triggers one credential refresh and a retry with the new token', async () => {
  const apigee401 = status(401, { fault: { faultstring: 'Access Token expired', detail: { errorcode: 'keymanagement.service.access_token_expired' } } });
  const srv = await scriptedServer([apigee401, ok({ fine: true })]);
  const refreshes = { count: 0 };
  const http = client(srv.apiBase, bearer([TOKEN, 'fresh-token-abcdef'], refreshes));
  try {
    assert.deepEqual(await http.getJson('/v2/contacts', {}, never), { fine: true });
    assert.equal(refreshes.count, 1);
    assert.equal(srv.seen[1]?.auth, 'Bearer fresh-token-abcdef');
  } finally {
    await http.close();
    await srv.close();
  }
});

test('a 401 that a refresh cannot cure becomes 28000 with a hint to re-authorize, without the token', async () => {
  const srv = await scriptedServer([], status(401, { fault: { faultstring: 'Invalid Access Token', detail: { errorcode: 'keymanagement.service.invalid_access_token' } } }));
  const refreshes = { count: 0 };
  const http = client(srv.apiBase, bearer([TOKEN, 'second-token-abcdef'], refreshes));
  try {
    await assert.rejects(http.getJson('/v2/contacts', {}, never), (e: unknown) => {
      assert.ok(e instanceof SqlError);
      assert.equal(e.sqlstate, '28000');
      assert.match(e.hint ?? '', /authoriz/i);
      assert.match(e.detail ?? '', /HTTP 401.*Invalid Access Token/);
      assert.ok(!JSON.stringify({ m: e.message, d: e.detail, h: e.hint }).includes('token-abcdef'));
      return true;
    });
    assert.equal(refreshes.count, 1, 'one refresh per request, not one per attempt');
    assert.equal(srv.seen.length, 2);
  } finally {
    await http.close();
    await srv.close();
  }
});

test('a body cut short and a reset connection are retried', async () => {
  const truncated: Step = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"contacts":[{"id":"1"');
    setTimeout(() => res.socket?.destroy(), 5);
  };
  const chunkedHalf: Step = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"contacts":[{"id":"1"');
  };
  const reset: Step = (req) => req.socket.destroy();
  const srv = await scriptedServer([truncated, chunkedHalf, reset, ok({ contacts: [] })]);
  const http = client(srv.apiBase);
  try {
    assert.deepEqual(await http.getJson('/v2/contacts', {}, never), { contacts: [] });
    assert.equal(srv.seen.length, 4);
  } finally {
    await http.close();
    await srv.close();
  }
});

test('Timeout bounds each attempt; a server that never answers ends in 58000 naming the timeout', async () => {
  const srv = await scriptedServer([], () => {
    /* never answers */
  });
  const http = client(srv.apiBase, bearer(), { timeoutSeconds: 0.1, retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 5 } });
  try {
    const t0 = Date.now();
    await assert.rejects(http.getJson('/v2/contacts', {}, never), (e: unknown) => {
      assert.ok(e instanceof SqlError);
      assert.equal(e.sqlstate, '58000');
      assert.match(e.message, /timed out after 0.1 s/);
      return true;
    });
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(srv.seen.length, 2);
  } finally {
    await http.destroy();
    await srv.close();
  }
});

test('aborting the signal ends an in-flight request at once with 57014 and closes its connection', async () => {
  let closed = false;
  const srv = await scriptedServer([], (req) => {
    req.socket.on('close', () => (closed = true));
  });
  const http = client(srv.apiBase);
  try {
    const ac = new AbortController();
    const pending = http.getJson('/v2/contacts', {}, ac.signal);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    ac.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof SqlError && e.sqlstate === '57014');
    assert.ok(Date.now() - t0 < 100);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(closed, 'the server saw the connection go away');
  } finally {
    await http.close();
    await srv.close();
  }
});

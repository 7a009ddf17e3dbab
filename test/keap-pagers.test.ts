// Paging against a deliberately odd API (a scripted server on 127.0.0.1): one that ignores id-range filters,
// one that hands out a page token after every full page, endpoints that cap the page size below what was asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeapConnector } from '../src/keap/connector.js';
import type { TableSchema } from '../src/schema/types.js';

interface OddApi {
  ids: number[];
  /** largest page the server gives, whatever is asked */
  maxPage: number;
  ignoreFilter?: boolean;
  /** a next_page_token after every full page, even the last */
  tokenOnFullPage?: boolean;
}

async function oddServer(api: OddApi) {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    let ids = api.ids;
    const q = url.searchParams;
    if (url.pathname.endsWith('/v2/things')) {
      if (!api.ignoreFilter) {
        for (const clause of (q.get('filter') ?? '').split(';').filter(Boolean)) {
          const m = /^thing_id(>=|<)(\d+)$/.exec(clause);
          if (!m) return void res.writeHead(400).end(JSON.stringify({ message: `bad filter ${clause}` }));
          const v = Number(m[2]);
          ids = ids.filter((id) => (m[1] === '>=' ? id >= v : id < v));
        }
      }
      const size = Math.min(api.maxPage, Number(q.get('page_size') ?? api.maxPage));
      const offset = Number(q.get('page_token') ?? 0);
      const page = ids.slice(offset, offset + size);
      const more = api.tokenOnFullPage ? page.length === size : offset + size < ids.length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ things: page.map((id) => ({ id: String(id) })), next_page_token: more ? String(offset + size) : '' }));
      return;
    }
    // v1: limit/offset with the total count
    const limit = Math.min(api.maxPage, Number(q.get('limit') ?? 1000));
    const offset = Number(q.get('offset') ?? 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ things: ids.slice(offset, offset + limit).map((id) => ({ id })), count: ids.length }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const connector = new KeapConnector({
    apiBase: `http://127.0.0.1:${port}/crm/rest`,
    credentials: { headers: async () => ({ 'X-Keap-API-Key': 'k' }), unauthorized: async () => false },
    pageSize: 100,
    maxConcurrency: 4,
    spikePerSecond: 10_000,
  });
  return {
    connector,
    requests: () => requests,
    close: async () => {
      await connector.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function things(version: 1 | 2): TableSchema {
  return {
    name: 'things',
    description: '',
    source: { version, path: version === 2 ? '/v2/things' : '/v1/things', listKey: 'things', pageSizeMax: 1000 },
    primaryKey: ['id'],
    foreignKeys: [],
    columns: [{ name: 'id', type: 'bigint', path: 'id', description: '' }],
    filters: version === 2 ? [{ column: 'id', ops: ['>=', '<'], param: 'thing_id', format: 'id' }] : [],
    sort: [{ column: 'id', param: 'id' }],
  };
}

async function fetchIds(c: KeapConnector, t: TableSchema): Promise<number[]> {
  const out: number[] = [];
  for await (const page of c.fetch(t, { table: t.name, conditions: [] }, new AbortController().signal)) {
    for (const r of page as Array<{ id: string | number }>) out.push(Number(r.id));
  }
  return out.sort((a, b) => a - b);
}

const ids = (n: number, step = 1) => Array.from({ length: n }, (_, i) => 1 + i * step);

test('an API that ignores the id-range filter does not make the fetch page forever or repeat rows', async () => {
  const srv = await oddServer({ ids: ids(2500), maxPage: 1000, ignoreFilter: true });
  try {
    assert.deepEqual(await fetchIds(srv.connector, things(2)), ids(2500));
    assert.ok(srv.requests() < 40, `${srv.requests()} requests`);
  } finally {
    await srv.close();
  }
});

test('id ranges give every row once when the API sets a page token after every full page', async () => {
  const srv = await oddServer({ ids: ids(3000, 3), maxPage: 1000, tokenOnFullPage: true });
  try {
    assert.deepEqual(await fetchIds(srv.connector, things(2)), ids(3000, 3));
  } finally {
    await srv.close();
  }
});

test('an endpoint that caps the page size below the asked one is paged by its own size', async () => {
  const v2 = await oddServer({ ids: ids(2345), maxPage: 37 });
  const v1 = await oddServer({ ids: ids(430), maxPage: 50 });
  try {
    assert.deepEqual(await fetchIds(v2.connector, things(2)), ids(2345));
    assert.deepEqual(await fetchIds(v1.connector, things(1)), ids(430));
    assert.equal(v1.requests(), 9, 'v1: first page, then the other offsets at the size the server gave');
  } finally {
    await v2.close();
    await v1.close();
  }
});

// node-postgres's streaming helpers against keapgres, over a Keap table of 50,000 contacts:
// pg-cursor (Execute with a row limit, PortalSuspended, resume) and pg-query-stream (a Readable of rows).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createRequire } from 'node:module';
import QueryStream from 'pg-query-stream';
import { startTestServer, type TestServer } from './support/keapgres.js';

// pg-cursor ships no type declarations
interface CursorLike {
  read(rows: number): Promise<any[]>;
  close(): Promise<void>;
}
const Cursor = createRequire(import.meta.url)('pg-cursor') as new (text: string, values?: unknown[]) => CursorLike & pg.Submittable;

const CONTACTS = 50_000;
let server: TestServer;
let expectedIds: number[];
/** one session for the sequential tests: it loads the 50,000 contacts from the sandbox once */
let shared: pg.Client;

before(async () => {
  server = await startTestServer({ contacts: CONTACTS });
  expectedIds = [...server.sandbox!.store.contacts.scanIds()];
  shared = new pg.Client(server.clientConfig());
  await shared.connect();
});
after(async () => {
  await shared.end();
  await server.stop();
});

async function withSharedClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return await fn(shared);
}

const withClient = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => server.withClient(fn);

test('pg-cursor reads 50,000 contacts in batches of 1,000, each batch in id order, all of them once', async () => {
  await withSharedClient(async (c) => {
    const cursor = c.query(new Cursor('SELECT id, email, create_time FROM contacts WHERE id > $1 ORDER BY id', [0]));
    const ids: number[] = [];
    let batches = 0;
    for (;;) {
      const rows: Array<{ id: string; email: string | null; create_time: Date | null }> = await cursor.read(1000);
      if (rows.length === 0) break;
      batches++;
      assert.ok(rows.length <= 1000);
      for (const r of rows) ids.push(Number(r.id));
    }
    await cursor.close();
    assert.equal(ids.length, CONTACTS);
    assert.equal(batches, CONTACTS / 1000);
    assert.deepEqual(ids, expectedIds);
    // the connection is usable after the cursor
    const after = await c.query('SELECT count(*)::int AS n FROM contacts');
    assert.equal(after.rows[0].n, CONTACTS);
  });
});

test('pg-cursor closed early leaves the session usable, inside and outside a transaction', async () => {
  await withSharedClient(async (c) => {
    await c.query('BEGIN');
    const cursor = c.query(new Cursor('SELECT id FROM contacts ORDER BY id'));
    const first = await cursor.read(10);
    assert.deepEqual(first.map((r: { id: string }) => Number(r.id)), expectedIds.slice(0, 10));
    const next = await cursor.read(5);
    assert.deepEqual(next.map((r: { id: string }) => Number(r.id)), expectedIds.slice(10, 15));
    await cursor.close();
    const r = await c.query('SELECT 1 AS one');
    assert.equal(r.rows[0].one, 1);
    await c.query('COMMIT');
  });
});

test('pg-query-stream streams 50,000 contacts joined with their company names, with back-pressure', async () => {
  await withSharedClient(async (c) => {
    const stream = c.query(
      new QueryStream('SELECT c.id, c.company_id, co.company_name FROM contacts c LEFT JOIN companies co ON co.id = c.company_id ORDER BY c.id', [], { batchSize: 500, highWaterMark: 500 }),
    );
    let n = 0;
    let previous = -1;
    let withCompany = 0;
    for await (const row of stream as AsyncIterable<{ id: string; company_id: string | null; company_name: string | null }>) {
      const id = Number(row.id);
      assert.ok(id > previous, 'rows come in id order');
      previous = id;
      if (row.company_id !== null) {
        withCompany++;
        assert.equal(row.company_name, server.sandbox!.store.companyName(Number(row.company_id)) ?? null);
      }
      n++;
      // a slow consumer: the stream must pause the portal rather than buffer everything
      if (n % 10_000 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(n, CONTACTS);
    const expectedWithCompany = [...server.sandbox!.store.contacts.scan()].filter((x) => x.companyId !== null).length;
    assert.equal(withCompany, expectedWithCompany);
  });
});

test('two pg-query-streams on two connections at once each get every row of their half', async () => {
  const middle = expectedIds[CONTACTS / 2 - 1]!;
  // id ranges go to Keap as id filters: each session loads only its half
  const halves = [
    ['SELECT id FROM contacts WHERE id <= $1 ORDER BY id', expectedIds.filter((id) => id <= middle)],
    ['SELECT id FROM contacts WHERE id > $1 ORDER BY id', expectedIds.filter((id) => id > middle)],
  ] as const;
  const got = await Promise.all(
    halves.map(([sql]) =>
      withClient(async (c) => {
        const stream = c.query(new QueryStream(sql, [middle], { batchSize: 2000 }));
        const ids: number[] = [];
        for await (const row of stream as AsyncIterable<{ id: string }>) ids.push(Number(row.id));
        return ids;
      }),
    ),
  );
  assert.deepEqual(got[0], halves[0][1]);
  assert.deepEqual(got[1], halves[1][1]);
});

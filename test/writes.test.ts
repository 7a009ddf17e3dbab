// Writes (issue 12): INSERT, UPDATE and DELETE on Keap tables become Keap calls. Every write is checked in the
// sandbox's own store, then by a SELECT from another session (which must see it without refetching the table).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({ contacts: 300 });
});
after(async () => server?.stop());

const store = () => server.sandbox!.store;
const calls = (): Record<string, number> => server.sandbox!.stats().byEndpoint;
const sum = (o: Record<string, number>, re: RegExp): number => Object.entries(o).filter(([k]) => re.test(k)).reduce((a, [, n]) => a + n, 0);

async function one<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<T>> {
  return server.withClient((c) => c.query<T>(sql, params));
}

test('DBeaver-style edit by primary key: UPDATE … WHERE id = $1 is one PATCH, RETURNING shows Keap\'s row, another session sees it', async () => {
  await one('SELECT id, given_name FROM contacts WHERE id = 5');
  const before = store().contacts.get(5)!;
  server.sandbox!.resetStats();
  const r = await one<{ id: string; given_name: string; update_time: Date }>('UPDATE contacts SET given_name = $1 WHERE id = $2 RETURNING id, given_name, update_time', ['Zoë', 5]);
  assert.equal(r.command, 'UPDATE');
  assert.equal(r.rowCount, 1);
  assert.equal(r.rows[0]!.given_name, 'Zoë');
  assert.equal(calls()['PATCH /v2/contacts/{contact_id}'], 1);
  const after = store().contacts.get(5)!;
  assert.equal(after.givenName, 'Zoë');
  assert.ok(after.updatedAt > before.updatedAt);
  assert.equal(r.rows[0]!.update_time.getTime(), new Date(after.updatedAt).getTime());
  server.sandbox!.resetStats();
  const seen = await one<{ given_name: string }>('SELECT given_name FROM contacts WHERE id = 5');
  assert.equal(seen.rows[0]!.given_name, 'Zoë');
  assert.equal(sum(calls(), /^GET/), 0, JSON.stringify(calls()));
});

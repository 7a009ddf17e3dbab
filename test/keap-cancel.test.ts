// A statement cancelled while its Keap fetch is under way stops the fetch: no more API calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';

let server: TestServer;
// 1,000 contacts at 10 per page: a full scan is 100 pages, about 4 s at Keap's 25 requests/s.
before(async () => { server = await startTestServer({ contacts: 1000, config: { sandbox: { seed: 2, contacts: 1000, pageSize: 10 } } }); });
after(async () => { await server.stop(); });

function sendCancel(port: number, pid: number, secret: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      const b = Buffer.alloc(16);
      b.writeInt32BE(16, 0);
      b.writeInt32BE(80877102, 4);
      b.writeInt32BE(pid, 8);
      b.writeInt32BE(secret, 12);
      s.end(b);
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

test('cancelling a statement during a 100-page fetch stops its API requests', async () => {
  const c = new pg.Client(server.clientConfig());
  await c.connect();
  const sb = server.sandbox!;
  const count = () => sb.stats().byEndpoint['GET /v2/contacts'] ?? 0;
  try {
    const before = count();
    const started = Date.now();
    const outcome = c.query('SELECT max(given_name) FROM contacts').then(() => undefined, (e: { code?: string }) => e);
    // wait until the fetch is under way (a loaded machine may take a moment to start it)
    while (count() - before < 3 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
    const during = count() - before;
    assert.ok(during > 0 && during < 100, `some pages fetched before the cancel (${during})`);
    const cancelledAt = Date.now();
    const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
    await sendCancel(server.port, processID, secretKey);
    assert.equal((await outcome)?.code, '57014');
    assert.ok(Date.now() - cancelledAt < 2000, 'the cancel is answered within 2 s');
    const atCancel = count();
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(count() - atCancel <= 2, `requests stop after the cancel (${count() - atCancel} more)`);
    assert.ok(count() - before < 100, 'the scan did not run to the end');
    // the session works on
    const r = await c.query('SELECT 1 AS one');
    assert.equal(r.rows[0].one, 1);
  } finally {
    await c.end();
  }
});

// ParameterStatus after a setting changes, as PostgreSQL sends it (drivers track these values).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => { await server.stop(); });

test('SET of a reported setting sends ParameterStatus; an unchanged one does not', async () => {
  const c = new pg.Client(server.clientConfig({ application_name: 'start' }));
  const seen: Array<[string, string]> = [];
  await c.connect();
  const conn = (c as unknown as { connection: import('node:events').EventEmitter }).connection;
  conn.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) => seen.push([m.parameterName, m.parameterValue]));
  try {
    await c.query("SET TimeZone = 'Asia/Tokyo'");
    assert.deepEqual(seen, [['TimeZone', 'Asia/Tokyo']]);
    seen.length = 0;
    await c.query('SELECT 1');
    await c.query("SET work_mem = '4MB'");
    assert.deepEqual(seen, [], 'no report for a setting that is not reported');
    await c.query("SET application_name = 'renamed'");
    assert.deepEqual(seen, [['application_name', 'renamed']]);
    seen.length = 0;
    await c.query('BEGIN');
    await c.query("SET LOCAL DateStyle = 'German'");
    await c.query('ROLLBACK');
    assert.deepEqual(seen, [['DateStyle', 'German, DMY'], ['DateStyle', 'ISO, MDY']]);
  } finally {
    await c.end();
  }
});

// Read-only transactions that read one Keap table after another while a cursor is open (Metabase and
// DBeaver read-only connections), with node-postgres, psql and pgjdbc, against keapgres and against a real
// PostgreSQL loaded with the same Keap account: what the clients see must be the same.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startComparedServers, type ComparedServers } from './replay/servers.js';
import { findPostgresBin } from './support/postgres.js';

const skip = findPostgresBin() === undefined ? 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql' : false;
import { JDBC_JAR as JAR, javaSkip } from './support/java.js';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let servers: ComparedServers;
const CONTACTS = 700;

before(async () => {
  if (skip) return;
  // more contacts than pgjdbc's fetch size (500), few enough for the export PostgreSQL is loaded from, which
  // pays a call per contact for the per-contact tables (lead scores, credit cards)
  servers = await startComparedServers({ contacts: CONTACTS, seed: 11 });
});
after(async () => {
  await servers?.stop();
});

interface Side {
  name: string;
  config: pg.ClientConfig;
}
const sides = (): Side[] => [
  { name: 'keapgres', config: servers.keapgres.clientConfig() },
  { name: 'postgres', config: servers.postgres.clientConfig({ database: servers.database }) },
];

/** Runs the same steps on both servers with node-postgres; each step's outcome (rows, or the SQLSTATE). */
async function onBoth(steps: string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const side of sides()) {
    const c = new pg.Client(side.config);
    await c.connect();
    const seen: unknown[] = [];
    try {
      for (const sql of steps) {
        seen.push(await c.query({ text: sql, rowMode: 'array' }).then((r) => r.rows, (e: { code?: string }) => `ERROR ${e.code}`));
      }
    } finally {
      await c.end();
    }
    out[side.name] = seen;
  }
  return out;
}

test('a declared cursor stays open while the read-only transaction reads other Keap tables', { skip }, async () => {
  const { keapgres, postgres } = await onBoth([
    'BEGIN READ ONLY',
    'DECLARE cur CURSOR FOR SELECT id, email FROM contacts ORDER BY id',
    'FETCH 5 FROM cur',
    'SELECT count(*), sum(id) FROM notes',
    'SELECT t.name, count(*) FROM "public"."contact_tags" ct JOIN tags t ON t.id = ct.tag_id GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5',
    'FETCH 3 FROM cur',
    'SELECT count(*) FROM orders WHERE contact_id IN (SELECT id FROM contacts WHERE id < 50)',
    'MOVE ALL FROM cur',
    'CLOSE cur',
    'COMMIT',
    'SELECT count(*), sum(id) FROM notes',
  ]);
  assert.deepEqual(keapgres, postgres);
  assert.notEqual(keapgres![3], 'ERROR 25006');
});

test('isolation and read-only mode hold; the client\'s own writes are refused; a rollback leaves nothing behind', { skip }, async () => {
  for (const begin of ['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', 'BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE', 'START TRANSACTION READ ONLY']) {
    const { keapgres, postgres } = await onBoth([
      begin,
      'DECLARE cur CURSOR FOR SELECT id FROM tasks ORDER BY id',
      'FETCH 2 FROM cur',
      'SELECT count(*) FROM companies',
      "SELECT current_setting('transaction_read_only'), current_setting('transaction_isolation'), current_setting('transaction_deferrable')",
      'CREATE TABLE scratch_write (a int)',
      'ROLLBACK',
      'SELECT count(*) FROM companies',
      'SELECT count(*) FROM tasks',
    ]);
    assert.deepEqual(keapgres, postgres, begin);
    assert.equal(keapgres![5], 'ERROR 25006', begin);
  }
});

test('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY: every later transaction reads table after table', { skip }, async () => {
  const { keapgres, postgres } = await onBoth([
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY',
    'BEGIN',
    'DECLARE cur CURSOR FOR SELECT id FROM contacts ORDER BY id',
    'FETCH 1 FROM cur',
    'SELECT count(*) FROM opportunities',
    'COMMIT',
    'BEGIN',
    'DECLARE cur CURSOR FOR SELECT id FROM products ORDER BY id',
    'FETCH 1 FROM cur',
    'SELECT count(*) FROM opportunities',
    'SELECT count(*), max(id) FROM contacts',
    'COMMIT',
    'SELECT count(*) FROM campaigns', // outside a transaction too, the default holds
    'CREATE TABLE scratch_write (a int)',
    "SELECT current_setting('default_transaction_read_only')",
  ]);
  assert.equal(keapgres![13], 'ERROR 25006');
  assert.deepEqual(keapgres, postgres);
});

test('a transaction made read-only after it began, with a cursor open, gets a clear 25006 and goes on', { skip }, async () => {
  const c = new pg.Client(servers.keapgres.clientConfig());
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET TRANSACTION READ ONLY');
    await c.query('DECLARE cur CURSOR FOR SELECT id FROM contacts ORDER BY id');
    await c.query('FETCH 2 FROM cur');
    await assert.rejects(c.query('SELECT count(id) FROM users'), (e: { code?: string; hint?: string }) => e.code === '25006' && /BEGIN READ ONLY/.test(e.hint ?? ''));
    await c.query('ROLLBACK');
    assert.ok((await c.query('SELECT count(id)::int AS n FROM users')).rows[0].n > 0);
  } finally {
    await c.end();
  }
});

test('psql: a cursor in a read-only transaction, then another table', { skip }, async () => {
  const script = [
    'BEGIN READ ONLY;',
    'DECLARE cur CURSOR FOR SELECT id FROM contacts ORDER BY id;',
    'FETCH 3 FROM cur;',
    'SELECT count(*) FROM tags;',
    'FETCH 2 FROM cur;',
    'COMMIT;',
  ].join('\n');
  const psql = (dsn: string) => new Promise<string>((resolve, reject) => {
    const p = execFile('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', dsn], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)));
    p.stdin!.end(script);
  });
  const [k, p] = await Promise.all([psql(servers.keapgres.dsn()), psql(servers.postgres.dsn.replace(/dbname=\S+/, `dbname=${servers.database}`))]);
  assert.equal(k, p);
  assert.match(k, /^BEGIN\nDECLARE CURSOR\n\d+\n/);
});

const noJava = skip || javaSkip();

function readOnlyCursors(port: number, database: string, user: string): Promise<Map<string, { value?: unknown; error?: string }>> {
  return new Promise((resolve, reject) => {
    execFile('java', ['-cp', JAR, 'test/java/ReadOnlyCursors.java', String(port), database, user], { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ReadOnlyCursors failed: ${err.message}\n${stderr}\n${stdout}`));
      resolve(new Map(stdout.trim().split('\n').map((line) => {
        const o = JSON.parse(line) as { check: string; value?: unknown; error?: string };
        return [o.check, o];
      })));
    });
  });
}

test('pgjdbc (Metabase, DBeaver): fetch-size cursors in read-only transactions, finished or still open, then other tables', { skip: noJava }, async () => {
  const [k, p] = await Promise.all([
    readOnlyCursors(servers.keapgres.port, 'keap', 'tester'),
    readOnlyCursors(servers.postgres.port, servers.database, servers.postgres.user),
  ]);
  assert.equal(k.size, 4);
  for (const [check, observed] of p) {
    assert.equal(observed.error, undefined, `PostgreSQL: ${check}: ${observed.error}`);
    assert.deepEqual(k.get(check), observed, check);
  }
  const open = k.get('dbeaver: an open 200-row cursor while another table is read')!.value as number[][];
  assert.equal(open[0]![0], 200);
  assert.equal(open[3]![0], CONTACTS);
});

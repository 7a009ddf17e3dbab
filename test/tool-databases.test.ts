// The database names tools try first: DBeaver's default database is postgres, psql -l and others
// connect to postgres or template1. With one served database those names serve it; with several, they
// reach a database without Keap tables. From any of them pg_database (psql's \l) lists every served
// database. Checked with psql, node-postgres and pgjdbc running DBeaver's default-settings queries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { findPostgresBin, startPostgres } from './support/postgres.js';
import { loadServerConfig } from '../src/config/server-config.js';

const JAR = '/usr/share/java/postgresql.jar';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const noPsql = spawnSync('psql', ['--version']).status !== 0 && 'psql is not installed (apt-get install postgresql-client)';
function javaMissing(): string | false {
  if (!existsSync(JAR)) return `${JAR} is missing (apt-get install libpostgresql-jdbc-java; .ci/run does)`;
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    return 'java is missing (apt-get install default-jre-headless; .ci/run does)';
  }
  return false;
}
const noJava = javaMissing();
const CONTACTS = 300;
const BUILT_IN = ['postgres', 'template0', 'template1'];

let single: TestServer; // the default: the sandbox as "keap"
let several: TestServer; // two sandbox accounts, "acme" and "globex"

before(async () => {
  single = await startTestServer({ contacts: CONTACTS });
  several = await startTestServer({ contacts: CONTACTS, config: { databases: { acme: 'sandbox', globex: 'sandbox' }, idleSpareEngines: 1 } });
});
after(async () => {
  await single?.stop();
  await several?.stop();
});

function psql(server: { port: number } | string, database: string, args: string[]): Promise<string> {
  const dsn = typeof server === 'string' ? server : `host=127.0.0.1 port=${server.port} dbname=${database} user=tester`;
  return new Promise((resolve, reject) => {
    execFile('psql', ['-X', '-A', '-F', '|', '-P', 'pager=off', ...args, dsn], { env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8', PSQLRC: '/dev/null', PGCONNECT_TIMEOUT: '10' }, timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`psql ${database}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/** The database names of psql's \l, and its header line. */
async function listDatabases(server: { port: number } | string, database: string): Promise<{ names: string[]; header: string }> {
  const lines = (await psql(server, database, ['-c', '\\l'])).split('\n');
  const header = lines[1]!;
  // rows follow the header; a row's access privileges continue on lines without a "|"
  const names = lines.slice(2).filter((l) => l.includes('|')).map((l) => l.split('|')[0]!);
  return { names, header };
}

test('with one served database, postgres and template1 serve it: the Keap tables, and \\l lists it', { skip: noPsql }, async () => {
  for (const name of ['postgres', 'template1', 'keap']) {
    const { names } = await listDatabases(single, name);
    assert.deepEqual(names, ['keap', ...BUILT_IN], `\\l from ${name}`);
    const counted = await psql(single, name, ['-At', '-c', 'SELECT current_database(), count(*) FROM contacts']);
    assert.equal(counted.trim(), `keap|${CONTACTS}`, `from ${name}`);
  }
});

test("psql's \\l has the columns it has on PostgreSQL", { skip: noPsql || (findPostgresBin() === undefined && 'PostgreSQL is not installed') }, async () => {
  const real = await startPostgres();
  try {
    const fromPostgres = await listDatabases(real.dsn, 'postgres');
    const fromKeapgres = await listDatabases(single, 'postgres');
    assert.equal(fromKeapgres.header, fromPostgres.header);
    assert.deepEqual(fromPostgres.names.filter((n) => BUILT_IN.includes(n)), BUILT_IN);
  } finally {
    await real.stop();
  }
});

test('with several served databases, each of them and postgres and template1 list them all', { skip: noPsql }, async () => {
  for (const name of ['postgres', 'template1', 'acme', 'globex']) {
    const { names } = await listDatabases(several, name);
    assert.deepEqual(names, ['acme', 'globex', ...BUILT_IN], `\\l from ${name}`);
  }
});

test('with several served databases, postgres and template1 hold no Keap tables and say where they are', async () => {
  for (const name of ['postgres', 'template1']) {
    await several.withClient(async (c) => {
      const r = await c.query(`SELECT current_database() AS db,
        (SELECT count(*)::int FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS tables,
        shobj_description((SELECT oid FROM pg_database WHERE datname = current_database()), 'pg_database') AS description`);
      assert.equal(r.rows[0].db, 'postgres');
      assert.equal(r.rows[0].tables, 0);
      assert.match(r.rows[0].description, /databases this server serves are listed in pg_database/);
      await assert.rejects(c.query('SELECT count(*) FROM contacts'), { code: '42P01' });
    }, { database: name });
  }
  // the served databases themselves are as configured
  for (const name of ['acme', 'globex']) {
    const [r] = await several.withClient((c) => c.query('SELECT current_database() AS db, count(*)::int AS n FROM contacts').then((x) => x.rows), { database: name });
    assert.deepEqual(r, { db: name, n: CONTACTS });
  }
});

interface DbeaverView {
  currentDatabase: string;
  databaseInfo: string[];
  databaseSized: boolean;
  description: string | null;
  tables: string[];
  dataTabRows?: number;
  rowCount?: string;
  allDatabases: string[];
}

/** DBeaver's default-settings session through pgjdbc, for each database (test/java/JdbcChecks.java). */
function dbeaver(server: TestServer, databases: string[]): Promise<Map<string, DbeaverView>> {
  return new Promise((resolve, reject) => {
    execFile('java', ['-cp', JAR, 'test/java/JdbcChecks.java', String(server.port), databases.join(','), 'tester', 'dbeaver'], { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`JdbcChecks failed: ${err.message}\n${stderr}\n${stdout}`));
        const out = new Map<string, DbeaverView>();
        for (const line of stdout.trim().split('\n')) {
          const o = JSON.parse(line) as { check: string; value?: DbeaverView; error?: string };
          if (o.error !== undefined) return reject(new Error(`${o.check}: ${o.error}`));
          out.set(o.check.replace(/^dbeaver /, ''), o.value!);
        }
        resolve(out);
      });
  });
}

test("DBeaver's default database postgres, with one served database: the Keap tables and their rows", { skip: noJava }, async () => {
  const views = await dbeaver(single, ['postgres']);
  const v = views.get('postgres')!;
  assert.deepEqual(v.databaseInfo, ['postgres'], 'readDatabaseInfo finds the database the connection names');
  assert.equal(v.databaseSized, true);
  assert.equal(v.currentDatabase, 'keap');
  assert.ok(v.tables.includes('contacts') && v.tables.includes('orders'), v.tables.join(', '));
  assert.equal(v.dataTabRows, 200, 'the Data tab reads its first 200 rows');
  assert.equal(v.rowCount, String(CONTACTS));
  assert.deepEqual(v.allDatabases, ['keap', 'postgres']);
});

test("DBeaver's default database postgres, with several: no tables, and every database to show; each database by name has its tables", { skip: noJava }, async () => {
  const views = await dbeaver(several, ['postgres', 'acme']);
  const maintenance = views.get('postgres')!;
  assert.deepEqual(maintenance.databaseInfo, ['postgres']);
  assert.deepEqual(maintenance.tables, []);
  assert.match(maintenance.description ?? '', /listed in pg_database/);
  assert.deepEqual(maintenance.allDatabases, ['acme', 'globex', 'postgres']);
  const acme = views.get('acme')!;
  assert.deepEqual(acme.databaseInfo, ['acme']);
  assert.equal(acme.currentDatabase, 'acme');
  assert.equal(acme.rowCount, String(CONTACTS));
  assert.deepEqual(acme.allDatabases, ['acme', 'globex', 'postgres']);
});

test('template0 and template1 cannot be configured as served databases', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-names-'));
  try {
    for (const name of ['template0', 'template1']) {
      const configFile = path.join(dir, `${name}.json`);
      writeFileSync(configFile, JSON.stringify({ databases: { [name]: 'sandbox' } }));
      assert.throws(() => loadServerConfig({ configFile, env: {} }), { message: new RegExp(`database name "${name}" in the .* is reserved`) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

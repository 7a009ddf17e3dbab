// SQLAlchemy with psycopg2 and with psycopg 3, and pandas, against a real keapgres, used as Superset and
// notebooks use them: Inspector reflection of every table (names, columns, primary and foreign keys,
// comments), pandas.read_sql of a join with GROUP BY, and a server-side cursor. The Python side
// (test/python/check_sqlalchemy.py) reports what it saw; the expectations come from the catalog and
// the sandbox's records. Debian packages: python3-sqlalchemy python3-psycopg2 python3-psycopg python3-pandas.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Catalog } from '../src/schema/types.js';
import { startTestServer, type TestServer } from './support/keapgres.js';

const run = promisify(execFile);
// Debian's interpreter: a PATH python3 (pyenv, venv) may lack the Debian packages
const PYTHON = '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'python', 'check_sqlalchemy.py');

function missingPython(): string | false {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  try {
    execFileSync(PYTHON, ['-c', 'import sqlalchemy, pandas, psycopg2'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'SQLAlchemy, pandas or psycopg2 is missing: apt-get install -y python3-sqlalchemy python3-psycopg2 python3-psycopg python3-pandas';
  }
}
const skip = missingPython();

const CONTACTS = 200;
let server: TestServer;
let catalog: Catalog;

before(async () => {
  if (skip) return;
  server = await startTestServer({ contacts: CONTACTS });
  catalog = server.databases.get('keap')!.catalog;
});
after(async () => {
  await server?.stop();
});

interface Reflected {
  columns: Array<[string, string, boolean]>;
  primary_key: string[];
  foreign_keys: Array<[string[], string, string[]]>;
  comment: string | null;
}

interface Report {
  unavailable?: string;
  sqlalchemy: string;
  tables: string[];
  views: string[];
  reflected: Record<string, Reflected>;
  read_sql: { columns: string[]; dtypes: string[]; rows: Array<[number, number, number]> };
  server_cursor: { count: number; batches: number; first: number[]; last: number[]; ascending: boolean; count_after: number };
}

async function check(driver: 'psycopg2' | 'psycopg'): Promise<Report> {
  // asynchronous on purpose: the server runs in this process and must keep answering
  try {
    const { stdout } = await run(PYTHON, [script, String(server.port), driver], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    return JSON.parse(stdout) as Report;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (e.code === 3 && e.stdout) return JSON.parse(e.stdout) as Report;
    throw new Error(`check_sqlalchemy.py ${driver} failed (${e.code}):\n${e.stderr?.slice(-4000)}`);
  }
}

/** the type name SQLAlchemy's PostgreSQL dialect gives each column type keapgres declares */
const SQLALCHEMY_TYPE: Record<string, string> = {
  bigint: 'BIGINT',
  integer: 'INTEGER',
  text: 'TEXT',
  numeric: 'NUMERIC',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamptz: 'TIMESTAMP WITH TIME ZONE',
  jsonb: 'JSONB',
  'double precision': 'DOUBLE PRECISION',
  'bigint[]': 'BIGINT[]',
  'text[]': 'TEXT[]',
};

function expectReflection(report: Report): void {
  const tables = [...catalog.tables.keys()].sort();
  assert.deepEqual(report.tables, tables, 'Inspector.get_table_names()');
  for (const name of tables) {
    const t = catalog.tables.get(name)!;
    const r = report.reflected[name]!;
    assert.deepEqual(
      r.columns.map(([n]) => n),
      t.columns.map((c) => c.name),
      `${name}: columns in order`,
    );
    for (const [col, type, nullable] of r.columns) {
      const declared = t.columns.find((c) => c.name === col)!;
      const want = SQLALCHEMY_TYPE[declared.type];
      if (want) assert.equal(type.replace(/^DOUBLE_PRECISION$/, 'DOUBLE PRECISION'), want, `${name}.${col} type`);
      else assert.notEqual(type, 'NULL', `${name}.${col}: SQLAlchemy did not recognise ${declared.type}`);
      assert.equal(nullable, !(declared.notNull || t.primaryKey.includes(col)), `${name}.${col} nullable`);
    }
    assert.deepEqual(r.primary_key, t.primaryKey, `${name}: primary key`);
    const fks = t.foreignKeys.map((fk): [string[], string, string[]] => [fk.columns, fk.references.table, fk.references.columns]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    assert.deepEqual(r.foreign_keys, fks, `${name}: foreign keys`);
    assert.equal(r.comment, t.description, `${name}: table comment`);
  }
}

function expectReadSql(report: Report): void {
  const store = server.sandbox!.store;
  const byOwner = new Map<number, [number, number]>();
  for (const o of store.orders.scan()) {
    const owner = store.contacts.get(o.contactId)?.ownerId;
    if (owner === null || owner === undefined) continue;
    const [n, cents] = byOwner.get(owner) ?? [0, 0];
    byOwner.set(owner, [n + 1, cents + o.totalCents]);
  }
  const expected = [...byOwner].sort((a, b) => a[0] - b[0]).map(([owner, [n, cents]]) => [owner, n, cents]);
  assert.deepEqual(report.read_sql.columns, ['owner_id', 'orders', 'revenue']);
  assert.deepEqual(report.read_sql.dtypes, ['int64', 'int64', 'float64']);
  assert.ok(expected.length > 0);
  assert.deepEqual(report.read_sql.rows, expected, 'pandas.read_sql: orders and revenue per contact owner');
}

function expectServerCursor(report: Report): void {
  const c = report.server_cursor;
  assert.equal(c.count, CONTACTS);
  assert.ok(c.batches >= CONTACTS / 100, `fetched in batches of 100 (${c.batches})`);
  assert.ok(c.ascending);
  assert.deepEqual(c.first, [1, 2, 3]);
  assert.deepEqual(c.last, [CONTACTS - 2, CONTACTS - 1, CONTACTS]);
  assert.equal(c.count_after, CONTACTS, 'the connection answers after the cursor closed');
}

for (const driver of ['psycopg2', 'psycopg'] as const) {
  test(`SQLAlchemy + ${driver}: reflection of every table, pandas.read_sql of a grouped join, a server-side cursor`, { skip, timeout: 170_000 }, async (t) => {
    const report = await check(driver);
    if (report.unavailable) {
      t.skip(report.unavailable);
      return;
    }
    expectReflection(report);
    expectReadSql(report);
    expectServerCursor(report);
  });
}

// pgjdbc (Debian's libpostgresql-jdbc-java) against a real keapgres, used as DBeaver and Metabase use
// it. test/java/JdbcChecks.java runs every check once and prints what it observed; each test here
// compares one observation with the schema files and with node-postgres.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { loadCatalog } from '../src/schema/load.js';
import type { PgType } from '../src/schema/types.js';

import { JDBC_JAR as JAR, javaSkip } from './support/java.js';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const catalog = loadCatalog();
const CONTACTS = 1000;

const skip = javaSkip();

let server: TestServer;
let observed = new Map<string, { value?: unknown; error?: string }>();
let javaOutput = '';

before(async () => {
  if (skip) return;
  server = await startTestServer({ contacts: CONTACTS });
  javaOutput = await new Promise<string>((resolve, reject) => {
    execFile('java', ['-cp', JAR, 'test/java/JdbcChecks.java', String(server.port)], { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`JdbcChecks failed: ${err.message}\n${stderr}\n${stdout}`)) : resolve(stdout)));
  });
  observed = new Map(javaOutput.trim().split('\n').map((line) => {
    const o = JSON.parse(line) as { check: string; value?: unknown; error?: string };
    return [o.check, o];
  }));
});
after(async () => { await server?.stop(); });

/** The value a check observed; fails the test with pgjdbc's error when the check failed. */
function value<T>(check: string): T {
  const o = observed.get(check);
  assert.ok(o, `JdbcChecks printed nothing for ${check}:\n${javaOutput}`);
  assert.equal(o.error, undefined, `${check}: ${o.error}`);
  return o.value as T;
}

const query = <T extends pg.QueryResultRow>(sql: string): Promise<T[]> => server.rows<T>(sql);

/** pg_type.typname of a schema column type, as pgjdbc's TYPE_NAME reports it. */
const TYPNAME: Record<PgType, string> = {
  bigint: 'int8', integer: 'int4', numeric: 'numeric', 'double precision': 'float8', boolean: 'bool', text: 'text',
  date: 'date', timestamptz: 'timestamptz', jsonb: 'jsonb', 'text[]': '_text', 'bigint[]': '_int8',
};

test('pgjdbc connects and reports PostgreSQL 18', { skip }, () => {
  const [product, version] = value<string[]>('connect');
  assert.equal(product, 'PostgreSQL');
  assert.match(version, /^18\./);
});

test('DatabaseMetaData.getTables lists every Keap table with its description', { skip }, () => {
  const tables = value<Array<[string, string]>>('getTables');
  const expected = [...catalog.tables.values()].map((t) => [t.name, t.description]).sort((a, b) => (a[0] < b[0] ? -1 : 1)); // the database collates as C
  assert.deepEqual(tables, expected);
});

test('DatabaseMetaData.getColumns gives the types, nullability and descriptions of contacts', { skip }, () => {
  const columns = value<Array<[string, string, string, string, string, string]>>('getColumns');
  const byName = new Map(columns.map((c) => [c[0], c]));
  const contacts = catalog.tables.get('contacts')!;
  for (const col of contacts.columns) {
    const c = byName.get(col.name);
    assert.ok(c, `contacts.${col.name} missing`);
    assert.equal(c[1], TYPNAME[col.type], `type of ${col.name}`);
    assert.equal(c[4], col.description, `remarks of ${col.name}`);
    if (contacts.primaryKey.includes(col.name)) assert.equal(c[3], '0', `${col.name} is not nullable`);
  }
  assert.deepEqual(columns.map((c) => Number(c[5])), columns.map((_, i) => i + 1));
});

test('DatabaseMetaData.getPrimaryKeys gives a composite key in order', { skip }, () => {
  const pk = value<Array<[string, string, string]>>('getPrimaryKeys');
  const expected = catalog.tables.get('contact_tags')!.primaryKey.map((c, i) => [c, String(i + 1), 'contact_tags_pkey']);
  assert.deepEqual(pk, expected);
});

test('DatabaseMetaData.getImportedKeys and getExportedKeys give the foreign keys of the schema files', { skip }, () => {
  const imported = value<string[][]>('getImportedKeys');
  const expectedImported = catalog.tables.get('contact_tags')!.foreignKeys.map((fk) =>
    [fk.references.table, fk.references.columns[0], 'contact_tags', fk.columns[0], `contact_tags_${fk.columns.join('_')}_fkey`]);
  assert.deepEqual(imported.sort(), expectedImported.sort());
  const exported = value<string[][]>('getExportedKeys');
  const expectedExported = [...catalog.tables.values()].flatMap((t) => t.foreignKeys.filter((fk) => fk.references.table === 'tags')
    .map((fk) => ['tags', fk.references.columns[0], t.name, fk.columns[0]]));
  assert.deepEqual(exported.sort(), expectedExported.sort());
});

test('pgjdbc lists the tables and views added for issue 13: columns, keys, foreign keys and descriptions', { skip }, () => {
  const columns = value<Array<[string, string, string, string, string, string]>>('getColumns affiliate_commissions');
  const t = catalog.tables.get('affiliate_commissions')!;
  assert.deepEqual(columns.map((c) => [c[0], c[1], c[4]]), t.columns.map((c) => [c.name, TYPNAME[c.type], c.description]));
  for (const k of t.primaryKey) assert.equal(columns.find((c) => c[0] === k)![3], '0', `${k} is not nullable`);
  const imported = value<string[][]>('getImportedKeys contact_links');
  const links = catalog.tables.get('contact_links')!;
  assert.deepEqual(imported.sort(), links.foreignKeys.map((fk) => [fk.references.table, fk.references.columns[0], 'contact_links', fk.columns[0], `contact_links_${fk.columns.join('_')}_fkey`]).sort());
  const views = value<Array<[string, string]>>('getViews');
  const models = ['affiliates', 'appointments', 'companies', 'contacts', 'notes', 'opportunities', 'orders', 'subscriptions', 'tasks'].map((r) => `${r}_model`);
  assert.deepEqual(views.map((v) => v[0]).filter((n) => n.endsWith('_model')), models);
  assert.ok(views.filter((v) => v[0].endsWith('_model')).every((v) => /custom_fields/.test(v[1])));
  const viewColumns = value<Array<[string, string, string, string, string, string]>>('getColumns contacts_model');
  assert.deepEqual(viewColumns.map((c) => [c[0], c[4]]), catalog.tables.get('custom_fields')!.columns.map((c) => [c.name, c.description]));
});

test('a prepared statement executed 10 times becomes a named server statement and returns the right rows', { skip }, async () => {
  const v = value<{ rows: unknown[][]; serverPrepared: boolean; namedStatements: string[][] }>('preparedTenTimes');
  assert.equal(v.serverPrepared, true);
  assert.equal(v.namedStatements.length, 1);
  assert.match(v.namedStatements[0][0], /^S_\d+$/);
  const expected = await query<{ id: string; given_name: string | null; custom_visits: string | null; create_time: Date | null }>(
    'SELECT id, given_name, custom_visits, create_time FROM contacts WHERE id BETWEEN 1 AND 10 ORDER BY id');
  assert.deepEqual(v.rows, expected.map((r) => [Number(r.id), r.given_name, r.custom_visits, r.create_time ? r.create_time.toISOString().replace('.000Z', 'Z') : null]));
});

test('setFetchSize(100) reads 1,000 Keap rows through a cursor, in order', { skip }, async () => {
  const v = value<{ count: number; first: number; last: number; sum: number; ordered: boolean }>('fetchSizeCursor');
  const [e] = await query<{ n: number; first: number; last: number; sum: number }>('SELECT count(*)::int AS n, min(id)::int AS first, max(id)::int AS last, sum(id)::int AS sum FROM contacts');
  assert.equal(e.n, CONTACTS);
  assert.deepEqual(v, { count: e.n, first: e.first, last: e.last, sum: e.sum, ordered: true });
});

test('ResultSetMetaData.getTableName names the Keap table of each column', { skip }, () => {
  const v = value<{ columns: unknown[][]; rows: number }>('resultSetMetaData');
  assert.equal(v.rows, 1);
  assert.deepEqual(v.columns, [
    ['id', 'id', 'contacts', 'contacts', 'public', 'int8', 0],
    ['given_name', 'given_name', 'contacts', 'contacts', 'public', 'text', 1],
    ['custom_visits', 'custom_visits', 'contacts', 'contacts', 'public', 'int8', 1],
    ['create_time', 'create_time', 'contacts', 'contacts', 'public', 'timestamptz', 1],
  ]);
});

test('ResultSetMetaData of a join names each column\'s own table', { skip }, () => {
  const v = value<{ columns: unknown[][]; rows: number }>('joinMetaData');
  assert.equal(v.rows, 5);
  assert.deepEqual(v.columns, [
    ['contact_id', 'id', 'contacts', 'contacts', 'public', 'int8', 0],
    ['email', 'email', 'contacts', 'contacts', 'public', 'text', 1],
    ['tag_name', 'name', 'tags', 'tags', 'public', 'text', 1],
    ['applied_time', 'applied_time', 'contact_tags', 'contact_tags', 'public', 'timestamptz', 1],
    ['constant', '', '', '', '', 'int4', 2],
  ]);
});

test('Statement.cancel() from another thread ends SELECT pg_sleep(30) with 57014 and the connection works on', { skip }, (t) => {
  const v = value<{ outcome: string; ms: number; after: string }>('statementCancel');
  t.diagnostic(`cancelled after ${v.ms} ms (cancel sent at 500 ms)`);
  assert.equal(v.outcome, '57014');
  assert.ok(v.ms < 2500, `took ${v.ms} ms`);
  assert.equal(v.after, 'still here');
});

test('setQueryTimeout(1) ends SELECT pg_sleep(30) with 57014 after about a second', { skip }, async (t) => {
  const v = value<{ outcome: string; ms: number; after: string }>('queryTimeout');
  t.diagnostic(`timed out after ${v.ms} ms`);
  assert.equal(v.outcome, '57014');
  assert.ok(v.ms >= 900 && v.ms < 3000, `took ${v.ms} ms`);
  const [{ n }] = await query<{ n: string }>('SELECT count(*) AS n FROM tags');
  assert.equal(v.after, n);
});

test('setReadOnly(true) with autocommit off (BEGIN READ ONLY) then a query on a Keap table', { skip }, () => {
  const v = value<Record<string, string>>('readOnlyTransaction');
  assert.deepEqual(v, { contacts: String(CONTACTS), readOnly: 'on', write: 'ERROR 25006' });
});

test('a later query in the same read-only transaction can read another Keap table', { skip }, async () => {
  const v = value<Record<string, string>>('readOnlyTransactionSecondTable');
  const [{ n }] = await query<{ n: string }>('SELECT count(*) AS n FROM tags');
  assert.deepEqual(v, { contacts: String(CONTACTS), tags: n });
});

test('fetch-size cursors in read-only transactions, closed early as Metabase closes them, leave no portal open', { skip }, () => {
  const rounds = value<unknown[]>('metabaseCursorsClosedEarly');
  assert.equal(rounds.length, 3);
  rounds.forEach((r, i) => {
    assert.ok(Array.isArray(r), `round ${i}: ${String(r)}`);
    const [read, firstId, whileOpen, afterClose] = r as [number, number, string[], string[]];
    assert.equal(read, 120);
    assert.equal(firstId, i * 10 + 1);
    assert.equal(whileOpen.length, 1, 'a named portal serves the fetch-size cursor');
    assert.match(whileOpen[0], /^C_\d+$/);
    assert.deepEqual(afterClose, []);
  });
});

test('ApplicationName reaches the session as application_name', { skip }, () => {
  assert.equal(value<string>('applicationName'), 'keapgres jdbc check');
});

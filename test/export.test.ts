// `keapgres export` against a real PostgreSQL: the script psql loads must hold exactly the rows keapgres
// serves for the same Keap account, table by table, in both formats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { runExportCommand } from '../src/cli/export.js';
import { silentLogger } from '../src/log/logger.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { loadCatalog } from '../src/schema/load.js';
import { customFieldModels } from '../src/schema/custom-fields.js';
import { escapeCopy } from '../src/schema/rows.js';
import { copyFieldToLiteral, createTablesSql, foreignKeysSql } from '../src/export/sql-dump.js';
import { PGlite } from '@electric-sql/pglite';
import { findPostgresBin, startPostgres, type ThrowawayPostgres } from './support/postgres.js';
import { startTestServer, type TestServer } from './support/keapgres.js';

const skip = findPostgresBin() === undefined ? 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql' : false;
const OFF = 1e12;

let sandbox: Sandbox;
let postgres: ThrowawayPostgres;
let keapgres: TestServer;
let connection: string;
let dir: string;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function exportWith(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runExportCommand(args, { stdout, stderr }, { env: {}, logger: silentLogger() });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Row count and an order-independent digest of the rows' text, the same query on both servers. */
function tableDigestSql(table: string, schema = 'public'): string {
  return `SELECT count(*)::int AS n, md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), '')) AS h FROM "${schema}"."${table}" t`;
}

async function digests(config: pg.ClientConfig, tables: string[], schema = 'public'): Promise<Map<string, [number, string]>> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query(`SET TimeZone = 'UTC'`);
    const out = new Map<string, [number, string]>();
    for (const t of tables) {
      const r = await client.query(tableDigestSql(t, schema));
      out.set(t, [r.rows[0].n, r.rows[0].h]);
    }
    return out;
  } finally {
    await client.end();
  }
}

async function createDatabase(name: string): Promise<pg.ClientConfig> {
  const admin = new pg.Client(postgres.clientConfig());
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return postgres.clientConfig({ database: name });
}

const ALL_TABLES = [...loadCatalog().tables.keys()];

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-export-test-'));
  // Throttling off and an OAuth token (25 calls/s in the connector) keep the per-parent tables quick.
  sandbox = await startSandbox({ contacts: 200, seed: 7, limits: { spikePerSecond: OFF, perMinute: OFF, perDay: OFF, tenantPerMinute: OFF, tenantPerDay: OFF } });
  const token = sandbox.issueTokens({ expiresInSeconds: 86_400 }).access_token;
  connection = `AuthScheme=OAuth;InitiateOAuth=OFF;OAuthAccessToken=${token};OAuthSettingsLocation=memory://export-test;URL=${sandbox.apiBase}`;
  [postgres, keapgres] = await Promise.all([startPostgres(), startTestServer({ config: { databases: { keap: connection } } })]);
});

after(async () => {
  if (skip) return;
  await keapgres?.stop();
  await postgres?.stop();
  await sandbox?.close();
  rmSync(dir, { recursive: true, force: true });
});

let servedOnce: Promise<Map<string, [number, string] | string>> | undefined;
/** table → [row count, hash of the rows] as keapgres serves them, or why it cannot; read once, when first needed */
function servedAll(): Promise<Map<string, [number, string] | string>> {
  servedOnce ??= (async () => {
    const out = new Map<string, [number, string] | string>();
    const client = new pg.Client(keapgres.clientConfig());
    await client.connect();
    try {
      await client.query(`SET TimeZone = 'UTC'`);
      for (const t of ALL_TABLES) {
        try {
          const r = await client.query(tableDigestSql(t));
          out.set(t, [r.rows[0].n, r.rows[0].h]);
        } catch (err) {
          out.set(t, (err as Error).message);
        }
      }
    } finally {
      await client.end();
    }
    return out;
  })();
  return servedOnce;
}

async function served(tables: readonly string[] = ALL_TABLES): Promise<Map<string, [number, string]>> {
  const all = await servedAll();
  const out = new Map<string, [number, string]>();
  const failures: string[] = [];
  for (const t of tables) {
    const d = all.get(t);
    if (typeof d === 'string' || d === undefined) failures.push(`${t}: ${d ?? 'not in the catalog'}`);
    else out.set(t, d);
  }
  if (failures.length > 0) throw new Error(`keapgres cannot serve these tables from the sandbox:\n${failures.join('\n')}`);
  return out;
}

test('the sandbox serves rows in every table (the comparison below means something)', { skip }, async () => {
  const rows = await served();
  assert.equal(rows.size, ALL_TABLES.length);
  for (const t of ['contacts', 'contact_email_addresses', 'contact_tags', 'order_payments', 'custom_fields']) {
    assert.ok(rows.get(t)![0] > 0, `${t} is empty`);
  }
});

test('a COPY export loads with psql and holds exactly the rows keapgres serves, table by table', { skip }, async () => {
  const file = path.join(dir, 'keap.sql');
  const r = await exportWith(['--connection', connection, '--output', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '', 'with --output nothing goes to standard output');
  assert.match(r.stderr, new RegExp(`${ALL_TABLES.length} of ${ALL_TABLES.length} tables`));
  assert.equal(existsSync(`${file}.partial`), false);
  const script = readFileSync(file, 'utf8');
  assert.match(script, /^COPY public\."contacts" \("id", .*\) FROM stdin;$/m);
  assert.match(script, /^\\\.$/m);
  assert.ok(!script.includes(connection.split(';')[2]!.split('=')[1]!), 'the access token is not in the export');

  const db = await createDatabase('from_copy');
  await postgres.psql(['-d', 'from_copy', '-f', file]);
  const loaded = await digests(db, ALL_TABLES);
  const expected = await served();
  for (const t of ALL_TABLES) assert.deepEqual(loaded.get(t), expected.get(t), `table ${t}`);

  // keys, comments and foreign keys came along
  const client = new pg.Client(db);
  await client.connect();
  try {
    const pk = await client.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'p' AND connamespace = 'public'::regnamespace`);
    assert.equal(pk.rows[0].n, ALL_TABLES.length);
    const fk = await client.query(`SELECT count(*)::int AS n, bool_or(convalidated) AS checked FROM pg_constraint WHERE contype = 'f' AND conrelid = 'public.contact_tags'::regclass`);
    assert.ok(fk.rows[0].n >= 1);
    if (postgres.versionNum < 180000) assert.equal(fk.rows[0].checked, false, 'NOT VALID before PostgreSQL 18: loaded rows are not checked');
    const comment = await client.query(`SELECT obj_description('public.contacts'::regclass, 'pg_class') AS c`);
    assert.ok(typeof comment.rows[0].c === 'string' && comment.rows[0].c.length > 0);
  } finally {
    await client.end();
  }
});

test('an INSERT export of chosen tables, to standard output, loads the same rows', { skip }, async () => {
  const tables = ['contacts', 'contact_email_addresses', 'orders', 'order_items'];
  const r = await exportWith(['--connection', connection, '--tables', tables.join(','), '--format', 'inserts', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', '--quiet says nothing when all is well');
  assert.doesNotMatch(r.stdout, /FROM stdin/);
  assert.match(r.stdout, /^INSERT INTO public\."contacts" \(/m);
  assert.doesNotMatch(r.stdout, /CREATE TABLE public\."tags"/);
  const file = path.join(dir, 'inserts.sql');
  writeFileSync(file, r.stdout);
  const db = await createDatabase('from_inserts');
  await postgres.psql(['-d', 'from_inserts', '-f', file]);
  const loaded = await digests(db, tables);
  const expected = await served(tables);
  for (const t of tables) assert.deepEqual(loaded.get(t), expected.get(t), `table ${t}`);
  // a foreign key to a table that was not exported is left out instead of failing the load
  const client = new pg.Client(db);
  await client.connect();
  try {
    const fks = await client.query(`SELECT confrelid::regclass::text AS target FROM pg_constraint WHERE contype = 'f' ORDER BY 1`);
    for (const row of fks.rows) assert.ok(tables.includes(row.target.replace(/"/g, '')), row.target);
  } finally {
    await client.end();
  }
});

test('loading an export again with --clean replaces the tables', { skip }, async () => {
  const file = path.join(dir, 'clean.sql');
  const args = ['--connection', connection, '--tables', 'tags,tag_categories', '--clean', '--quiet', '--output', file];
  assert.equal((await exportWith(args)).code, 0);
  const db = await createDatabase('twice');
  await postgres.psql(['-d', 'twice', '-f', file]);
  await postgres.psql(['-d', 'twice', '-f', file]);
  const loaded = await digests(db, ['tags', 'tag_categories']);
  const expected = await served(['tags', 'tag_categories']);
  assert.deepEqual(loaded.get('tags'), expected.get('tags'));
  assert.deepEqual(loaded.get('tag_categories'), expected.get('tag_categories'));
});

test('--schema puts the tables (and their foreign keys) in a schema of their own, beside same-named tables', { skip }, async () => {
  const tables = ['contacts', 'contact_tags', 'tags'];
  const schema = 'Keap Snapshot';
  const file = path.join(dir, 'schema.sql');
  for (const format of ['copy', 'inserts']) {
    const r = await exportWith(['--connection', connection, '--tables', tables.join(','), '--schema', schema, '--format', format, '--clean', '--quiet', '--output', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /public\./);
    const db = await createDatabase(`in_schema_${format}`);
    await postgres.psql(['-d', `in_schema_${format}`, '-c', 'CREATE TABLE public.contacts (mine int)']);
    await postgres.psql(['-d', `in_schema_${format}`, '-f', file]);
    const loaded = await digests(db, tables, schema);
    const expected = await served(tables);
    for (const t of tables) assert.deepEqual(loaded.get(t), expected.get(t), `${format}: table ${t}`);
    const client = new pg.Client(db);
    await client.connect();
    try {
      const fks = await client.query(`SELECT conrelid::regclass::text AS source, confrelid::regclass::text AS target FROM pg_constraint WHERE contype = 'f'`);
      assert.ok(fks.rows.length >= 1);
      for (const row of fks.rows) assert.ok(row.source.startsWith(`"${schema}".`) && row.target.startsWith(`"${schema}".`), JSON.stringify(row));
      const mine = await client.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'contacts'`);
      assert.equal(mine.rows[0].n, 1, 'the table of the same name in public is untouched');
    } finally {
      await client.end();
    }
  }
});

test('an unknown table is an error naming the closest one, and no output file is left', { skip }, async () => {
  const file = path.join(dir, 'bad.sql');
  const r = await exportWith(['--connection', connection, '--tables', 'contacts,contact_tag', '--output', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /table "contact_tag" is not a Keap table/);
  assert.match(r.stderr, /Perhaps you meant "contact_tags"/);
  assert.equal(existsSync(file), false);
  assert.equal(existsSync(`${file}.partial`), false);
});

test('a table Keap refuses is left empty, said so, and the export exits 1', { skip }, async () => {
  // The custom-field models are read first (all of them fail here too), then products' first page.
  sandbox.setFaults({ failNext: { count: customFieldModels(loadCatalog()).length + 1, status: 403 } });
  try {
    const r = await exportWith(['--connection', connection, '--tables', 'products,tags']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /products: FAILED, left empty/);
    assert.match(r.stdout, /^-- keapgres: table products could not be read from Keap and is left empty/m);
    assert.match(r.stdout, /^TRUNCATE public\."products";$/m);
    assert.match(r.stdout, /^COMMIT;$/m);
  } finally {
    sandbox.setFaults({ failNext: { count: 0, status: 403 } });
  }
});

test('an output that fails (disk full, closed pipe) stops the export with the reason, exit code 1', { skip }, async () => {
  let written = 0;
  const failing = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, done) {
      written += chunk.length;
      setImmediate(() => done(written > 20_000 ? new Error('no space left on device') : null));
    },
  });
  const stderr = new Capture();
  const code = await runExportCommand(['--connection', connection, '--tables', 'contacts,tags'], { stdout: failing, stderr }, { env: {}, logger: silentLogger() });
  assert.equal(code, 1);
  assert.match(stderr.text, /cannot write the export: no space left on device/);
  assert.doesNotMatch(stderr.text, /tags: \d+ rows/, 'the export stopped instead of going on with the next table');
});

test('INSERT literals read back exactly what COPY text held: quotes, backslashes, tabs, newlines, NULL', { skip }, async () => {
  const values = ["O'Brien", 'back\\slash \\N', 'tab\there', 'two\nlines\r\n', '{"a": "b\\"c"}', 'ünï — 😀', '', '\\.'];
  const client = new pg.Client(postgres.clientConfig());
  await client.connect();
  try {
    for (const v of values) {
      const r = await client.query(`SELECT ${copyFieldToLiteral(escapeCopy(v))} AS v`);
      assert.equal(r.rows[0].v, v);
    }
    const r = await client.query(`SELECT ${copyFieldToLiteral('\\N')} AS v`);
    assert.equal(r.rows[0].v, null);
  } finally {
    await client.end();
  }
});

test('on PostgreSQL 18 (PGlite) the foreign keys of an export are NOT ENFORCED, as keapgres declares them', async () => {
  const tables = [...loadCatalog().tables.values()];
  const db = new PGlite();
  try {
    await db.exec(createTablesSql(tables, false) + foreignKeysSql(tables));
    const r = await db.query<{ n: number; enforced: boolean }>(`SELECT count(*)::int AS n, bool_or(conenforced) AS enforced FROM pg_constraint WHERE contype = 'f'`);
    assert.equal(r.rows[0]!.n, tables.reduce((n, t) => n + t.foreignKeys.length, 0));
    assert.equal(r.rows[0]!.enforced, false);
  } finally {
    await db.close();
  }
});

test('bad arguments: usage and exit code 2', async () => {
  for (const args of [['--format', 'csv'], ['--tablez', 'x'], ['--connection'], ['--connection', 'x', '--config', 'y']]) {
    const r = await exportWith(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /usage: keapgres export/);
  }
  const help = await exportWith(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--format copy\|inserts/);
});

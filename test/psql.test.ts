// psql (Debian's postgresql-client) against a real keapgres: the meta-commands people browse a
// database with, \copy, several statements in one -c, and Ctrl-C on a running statement.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { InteractivePsql } from './support/interactive-psql.js';
import { loadCatalog } from '../src/schema/load.js';
import type { PgType, TableSchema } from '../src/schema/types.js';

// CI installs psql (.ci/run): there a missing psql is a failure, elsewhere the file is skipped.
function psqlMissing(): string | false {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'psql is missing (apt-get install postgresql-client; .ci/run does)';
  }
}
const missing = psqlMissing();
const skip = missing && !process.env.CI ? missing : false;

let server: TestServer;
const catalog = loadCatalog();
const keapTables = [...catalog.tables.values()];

before(async () => { if (!skip) server = await startTestServer(); });
after(async () => { await server?.stop(); });

/** Only what psql needs: no PG* variables or psqlrc from the machine running the tests. */
function psqlEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: server.configDir, LC_ALL: 'C.UTF-8', PSQLRC: '/dev/null', PGCONNECT_TIMEOUT: '10', TERM: 'dumb' };
}

interface PsqlResult { code: number; stdout: string; stderr: string }

function psql(args: string[]): Promise<PsqlResult> {
  return new Promise((resolve) => {
    execFile('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-P', 'pager=off', ...args, server.dsn()], { env: psqlEnv(), timeout: 30_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

async function psqlOk(args: string[]): Promise<string> {
  const r = await psql(args);
  assert.equal(r.code, 0, `psql ${args.join(' ')} failed: ${r.stderr}`);
  assert.equal(r.stderr, '', 'psql printed errors');
  return r.stdout;
}

const query = <T extends pg.QueryResultRow>(sql: string): Promise<T[]> => server.rows<T>(sql);

/** format_type() spelling of a schema column type, as \d prints it. */
function formatType(t: PgType): string {
  return t === 'timestamptz' ? 'timestamp with time zone' : t;
}

const UNIT = '\u001f';

/** Unaligned `\d+ table` output split into its column rows and footer lines. */
function parseDescribe(block: string): { columns: Map<string, string[]>; footer: string[] } {
  const lines = block.split('\n');
  const columns = new Map<string, string[]>();
  const footer: string[] = [];
  let inFooter = false;
  for (const line of lines.slice(2)) {
    if (!inFooter && line.includes(UNIT)) {
      const f = line.split(UNIT);
      columns.set(f[0], f);
    } else if (line.trim()) {
      inFooter = true;
      footer.push(line);
    }
  }
  return { columns, footer };
}

/** Runs `\d+` on every Keap table in one psql session; returns each table's block. */
async function describeAll(): Promise<Map<string, string>> {
  const args = ['-A', '-F', UNIT];
  for (const t of keapTables) args.push('-c', `\\echo @@${t.name}`, '-c', `\\d+ ${t.name}`);
  const out = await psqlOk(args);
  const blocks = new Map<string, string>();
  for (const part of out.split('@@').slice(1)) {
    const nl = part.indexOf('\n');
    blocks.set(part.slice(0, nl), part.slice(nl + 1));
  }
  return blocks;
}

test('-c with two statements prints both results, and two -c options run in order', { skip }, async () => {
  assert.equal(await psqlOk(['-At', '-c', 'SELECT 1 AS a; SELECT 2 AS b']), '1\n2\n');
  assert.equal(await psqlOk(['-At', '-c', 'SELECT 3', '-c', "SELECT count(*) > 0 FROM contacts"]), '3\nt\n');
});

test('\\l lists the keap database', { skip }, async () => {
  const out = await psqlOk(['-At', '-c', '\\l']);
  assert.match(out, /^keap\|/m);
});

test('\\dn lists the public schema', { skip }, async () => {
  const out = await psqlOk(['-At', '-c', '\\dn']);
  assert.match(out, /^public\|/m);
});

test('\\dt lists every Keap table', { skip }, async () => {
  const out = await psqlOk(['-At', '-c', '\\dt']);
  const listed = out.trim().split('\n').map((l) => l.split('|')).filter((f) => f[0] === 'public' && f[2] === 'table').map((f) => f[1]);
  assert.deepEqual(listed, keapTables.map((t) => t.name).sort());
});

test('\\dt+ shows each Keap table with its description', { skip }, async () => {
  const out = await psqlOk(['-At', '-F', UNIT, '-c', '\\dt+']);
  const described = new Map(out.trim().split('\n').map((l) => l.split(UNIT)).map((f) => [f[1], f[f.length - 1]]));
  for (const t of keapTables) assert.equal(described.get(t.name), t.description, `description of ${t.name}`);
});

test('\\d lists the relations and \\d contacts describes the table', { skip }, async () => {
  const list = await psqlOk(['-c', '\\d']);
  assert.match(list, /List of relations/);
  assert.match(list, /\bcontacts\s+\| table/);
  const contacts = await psqlOk(['-c', '\\d contacts']);
  assert.match(contacts, /Table "public\.contacts"/);
  assert.match(contacts, /^ id\s+\| bigint\s+\|\s+\| not null \|/m);
  assert.match(contacts, /"contacts_pkey" PRIMARY KEY, btree \(id\)/);
});

test('\\d+ on every Keap table shows its columns, types, descriptions and primary key', { skip }, async () => {
  const blocks = await describeAll();
  for (const t of keapTables) {
    const block = blocks.get(t.name);
    assert.ok(block, `no \\d+ output for ${t.name}`);
    assert.match(block, new RegExp(`^Table "public\\.${t.name}"`), `header of ${t.name}`);
    const { columns, footer } = parseDescribe(block);
    for (const c of t.columns) {
      const row = columns.get(c.name);
      assert.ok(row, `${t.name}.${c.name} missing from \\d+`);
      assert.equal(row[1], formatType(c.type), `type of ${t.name}.${c.name}`);
      assert.equal(row[row.length - 1], c.description, `description of ${t.name}.${c.name}`);
      if (t.primaryKey.includes(c.name) || c.notNull) assert.equal(row[3], 'not null', `${t.name}.${c.name} is NOT NULL`);
    }
    if (t.primaryKey.length) {
      assert.ok(footer.some((l) => l.includes(`"${t.name}_pkey" PRIMARY KEY, btree (${t.primaryKey.join(', ')})`)), `primary key of ${t.name}:\n${footer.join('\n')}`);
    }
  }
});

test('\\d on every Keap table shows its foreign keys', { skip }, async () => {
  const blocks = await describeAll();
  const missing: string[] = [];
  for (const t of keapTables) {
    const { footer } = parseDescribe(blocks.get(t.name) ?? '');
    for (const fk of t.foreignKeys) {
      const def = `FOREIGN KEY (${fk.columns.join(', ')}) REFERENCES ${fk.references.table}(${fk.references.columns.join(', ')})`;
      if (!footer.some((l) => l.includes(def))) missing.push(`${t.name}: ${def}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('\\x shows rows as records with the same values node-postgres reads', { skip }, async () => {
  const expected = await query<{ id: string; given_name: string | null }>('SELECT id, given_name FROM contacts ORDER BY id LIMIT 2');
  const out = await psqlOk(['-c', '\\x on', '-c', 'SELECT id, given_name FROM contacts ORDER BY id LIMIT 2']);
  assert.match(out, /Expanded display is on\./);
  assert.match(out, /-\[ RECORD 1 \]/);
  assert.match(out, /-\[ RECORD 2 \]/);
  for (const row of expected) {
    assert.match(out, new RegExp(`^id\\s+\\| ${row.id}$`, 'm'));
    assert.match(out, new RegExp(`^given_name\\s+\\| ${row.given_name ?? ''}$`, 'm'));
  }
});

test('\\copy (query) to stdout streams the rows as text', { skip }, async () => {
  const expected = await query<{ id: string; email: string | null }>('SELECT id, email FROM contacts ORDER BY id LIMIT 25');
  const out = await psqlOk(['-c', '\\copy (SELECT id, email FROM contacts ORDER BY id LIMIT 25) to stdout']);
  assert.equal(out, expected.map((r) => `${r.id}\t${r.email ?? '\\N'}\n`).join(''));
});

test('\\copy table to stdout as CSV with a header holds every row', { skip }, async () => {
  const [{ n }] = await query<{ n: number }>('SELECT count(*)::int AS n FROM tags');
  const out = await psqlOk(['-c', '\\copy tags to stdout with (format csv, header)']);
  const lines = out.trimEnd().split('\n');
  assert.equal(lines[0], 'id,name,description,category_id,create_time,update_time');
  assert.equal(lines.length - 1, n);
  assert.ok(n > 0);
});

test('\\copy table to a file writes one line per row', { skip }, async () => {
  const file = path.join(server.configDir, 'contacts.tsv');
  try {
    const [{ n, cols }] = await query<{ n: number; cols: number }>(
      `SELECT (SELECT count(*)::int FROM contacts) AS n, (SELECT count(*)::int FROM information_schema.columns WHERE table_name = 'contacts') AS cols`);
    const out = await psqlOk(['-c', `\\copy contacts to '${file}'`]);
    assert.equal(out, `COPY ${n}\n`);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, n);
    assert.equal(lines[0].split('\t').length, cols);
  } finally {
    rmSync(file, { force: true });
  }
});

/** psql with `input` on its standard input (for \copy … from stdin). */
function psqlWithInput(args: string[], input: string): Promise<PsqlResult> {
  return new Promise((resolve) => {
    const child = spawn('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-P', 'pager=off', ...args, server.dsn()], { env: psqlEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
    child.stdin.end(input);
  });
}

test('\\copy from stdin loads a scratch table in the same session', { skip }, async () => {
  const lines = Array.from({ length: 500 }, (_, i) => `${i + 1}\tname ${i + 1}`).join('\n') + '\n';
  const r = await psqlWithInput(['-At', '-c', 'CREATE TEMP TABLE scratch (id int, name text)', '-c', '\\copy scratch from stdin',
    '-c', 'SELECT count(*), sum(id), max(name) FROM scratch'], lines);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'CREATE TABLE\nCOPY 500\n500|125250|name 99\n');
});

test('\\copy into a Keap table is refused before any data is sent, and psql reports why', { skip }, async () => {
  const r = await psqlWithInput(['-c', '\\copy tags (id, name) from stdin'], '999999\tnew tag\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ERROR: /);
  assert.match(r.stderr, /tags/);
  // the engine was not touched: the table still answers from Keap
  assert.match(await psqlOk(['-At', '-c', 'SELECT count(*) > 0 FROM tags WHERE id <> 999999']), /^t$/m);
});


test('Ctrl-C in interactive psql cancels the running statement, returns to the prompt, and the session works on', { skip }, async () => {
  const session = new InteractivePsql(server.dsn(), server.configDir);
  try {
    session.type(`SET application_name = 'ctrl_c_test';\nPREPARE kept AS SELECT 'pre' || 'pared' AS marker;\nSELECT 'sta' || 'rted' AS marker;\n`);
    let at = await session.waitFor(/started/);
    session.type('SELECT pg_sleep(30);\n');
    at = await session.waitFor(/pg_sleep\(30\);\r?\n/, at);
    await new Promise((r) => setTimeout(r, 800)); // let the statement reach the server
    const pressed = Date.now();
    session.type('\x03'); // the terminal turns ^C into SIGINT for psql, which sends a CancelRequest
    at = await session.waitFor(/ERROR:\s+canceling statement due to user request/, at, 5000);
    const cancelMs = Date.now() - pressed;
    assert.ok(cancelMs < 2000, `cancel took ${cancelMs} ms`);
    at = await session.waitFor(/keap=# $/, at);
    session.type(`SELECT 'aft' || 'er' AS marker, current_setting('application_name') AS app;\nEXECUTE kept;\n`);
    at = await session.waitFor(/after\s*\|\s*ctrl_c_test/, at);
    await session.waitFor(/prepared/, at);
    assert.equal(await session.quit(), 0);
  } finally {
    await session.quit().catch(() => undefined);
  }
});

test('SIGINT to psql -f cancels the running statement at once (psql then ends the script, as it does with PostgreSQL)', { skip }, async () => {
  const child = spawn('psql', ['-X', '-f', '-', server.dsn()], { env: psqlEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdin.write(`SELECT 'sta' || 'rted' AS marker;\nSELECT pg_sleep(30);\n`);
  const deadline = Date.now() + 10_000;
  while (!stdout.includes('started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.match(stdout, /started/);
  await new Promise((r) => setTimeout(r, 500));
  const sent = Date.now();
  child.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5000))]);
  if (code === 'hung') child.kill('SIGKILL');
  assert.ok(Date.now() - sent < 2000, `psql took ${Date.now() - sent} ms to end`);
  assert.match(stderr, /canceling statement due to user request/);
  assert.equal(code, 3); // psql's EXIT_USER: a script interrupted by the user
  // the server carries on
  assert.equal(await psqlOk(['-At', '-c', 'SELECT 40 + 2']), '42\n');
});

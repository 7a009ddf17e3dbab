// The compatibility corpus (test/corpus: what psql, pgjdbc, DBeaver, Metabase, SQLAlchemy, psycopg,
// node-postgres and Grafana send) replayed byte for byte — same protocol style, statement and portal
// names, parameter types and formats — against keapgres over the sandbox and against a real PostgreSQL
// loaded by `keapgres export` from the same Keap account. Answers must be equal; the differences allowed
// are listed, each with its reason, in test/replay/differences.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../src/schema/load.js';
import { loadCorpus, type CorpusConnection, type CorpusEntry } from './replay/corpus.js';
import { RawClient, decodeDataRow, type BackendMessage } from './replay/raw-client.js';
import { CAPTURE_OBJECTS_SQL, rewriteSteps, type ServerOids } from './replay/rewrite.js';
import { buildOutcome, lastColumns, type Column, type OidSymbols, type Outcome } from './replay/outcome.js';
import { allowedDifferences } from './replay/differences.js';
import { judge, type Verdict } from './replay/judge.js';
import { startComparedServers, type ComparedServers } from './replay/servers.js';
import { findPostgresBin } from './support/postgres.js';

const skip = findPostgresBin() === undefined ? 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql' : false;
const corpusDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'corpus');
const keapTables = [...loadCatalog().tables.keys()];
const userObjectNames = new Set([...keapTables, 'big_orders', 'add_one', 'public', 'keap']);
const differences = allowedDifferences(userObjectNames);

let servers: ComparedServers;

before(async () => {
  if (skip) return;
  servers = await startComparedServers({ contacts: 100, seed: 6, setupSql: CAPTURE_OBJECTS_SQL });
});

after(async () => {
  await servers?.stop();
});

const SYMBOLS_SQL = `SELECT oid::text, 'class:' || relname FROM pg_class WHERE relnamespace = 'public'::regnamespace
UNION ALL SELECT oid::text, 'type:' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
UNION ALL SELECT oid::text, 'constraint:' || conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT oid::text, 'proc:' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
UNION ALL SELECT r.oid::text, 'rewrite:' || c.relname FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = 'public'::regnamespace
UNION ALL SELECT reltoastrelid::text, 'toast:' || relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND reltoastrelid <> 0
UNION ALL SELECT oid::text, 'database:' || datname FROM pg_database WHERE datname = current_database()`;

async function rows(client: RawClient, sql: string): Promise<string[][]> {
  const messages = await client.run([{ kind: 'query', sql }]);
  const error = messages.find((m) => m.type === 'E');
  if (error) throw new Error(`${sql.slice(0, 60)}: ${error.body.toString('utf8')}`);
  return messages.filter((m) => m.type === 'D').map((m) => decodeDataRow(m.body).map((v) => v?.toString('utf8') ?? ''));
}

interface Side {
  client: RawClient;
  symbols: OidSymbols;
  oids: ServerOids;
  /** major version of the engine: the client would pick its catalog SQL by it */
  major: number;
  columns?: Column[];
}

async function openSide(port: number, startup: Record<string, string>, prelude: string[]): Promise<Side> {
  const client = await RawClient.connect(port, { ...startup, user: 'postgres', database: 'keap' });
  for (const sql of prelude) await rows(client, sql);
  const symbols: OidSymbols = new Map((await rows(client, SYMBOLS_SQL)).map(([oid, name]) => [oid!, name!]));
  const find = (name: string) => Number([...symbols].find(([, n]) => n === name)?.[0] ?? 0);
  const major = Number((await rows(client, 'SHOW server_version_num'))[0]![0]!) / 10000;
  return { client, symbols, major: Math.floor(major), oids: { database: find('database:keap'), contacts: find('class:contacts'), orders: find('class:orders'), bigOrders: find('class:big_orders') } };
}

async function runOn(side: Side, entry: CorpusEntry): Promise<Outcome> {
  let messages: BackendMessage[];
  try {
    messages = await side.client.run(rewriteSteps(entry.steps, entry.sql, side.oids, side.major), 60_000);
  } catch (err) {
    return [{ kind: 'message', text: `CONNECTION FAILED: ${(err as Error).message}` }];
  }
  const outcome = buildOutcome(messages, side.symbols, side.columns, /\b(pg_catalog|information_schema|pg_[a-z_]+)\b/i.test(entry.sql ?? ''));
  side.columns = lastColumns(outcome) ?? side.columns;
  return outcome;
}

async function replayConnection(conn: CorpusConnection): Promise<Verdict[]> {
  const startup: Record<string, string> = { ...conn.startup };
  // the capture's own database name and application are not what the replay connects to
  delete startup.user;
  delete startup.database;
  const [k, p] = await Promise.all([openSide(servers.keapgres.port, startup, CAPTURE_OBJECTS_SQL), openSide(servers.postgres.port, startup, [])]);
  const verdicts: Verdict[] = [];
  try {
    for (const entry of conn.entries) {
      const [ko, po] = await Promise.all([runOn(k, entry), runOn(p, entry)]);
      verdicts.push(judge(entry, ko, po, differences));
    }
  } finally {
    await Promise.all([k.client.end(), p.client.end()]);
  }
  return verdicts;
}

function describeOutcome(o: Outcome | undefined): string {
  return JSON.stringify(o, (_k, v: unknown) => (Array.isArray(v) && v.length > 6 && Array.isArray(v[0]) ? [...v.slice(0, 6), `… ${v.length} rows`] : v)).slice(0, 1500);
}

test('every corpus statement gets the answer PostgreSQL gives, except the listed inherent differences', { skip, timeout: 170_000 }, async () => {
  const connections = loadCorpus(corpusDir);
  const verdicts: Verdict[] = [];
  for (const conn of connections) verdicts.push(...(await replayConnection(conn)));

  const files = [...new Set(verdicts.map((v) => v.entry.file))];
  const table = files.map((f) => {
    const vs = verdicts.filter((v) => v.entry.file === f);
    return `${f.padEnd(16)} replayed ${String(vs.length).padStart(4)}  matched ${String(vs.filter((v) => v.result === 'match').length).padStart(4)}  allowed ${String(vs.filter((v) => v.result === 'allowed').length).padStart(4)}  different ${String(vs.filter((v) => v.result === 'mismatch').length).padStart(4)}`;
  });
  const bothFailedList = verdicts.filter((v) => v.result === 'match' && v.keapgresError);
  const bothFailed = `${bothFailedList.length} (${bothFailedList.map((v) => `${v.entry.file}:${v.entry.line}`).join(', ')})`;
  const byRule = new Map<string, number>();
  for (const v of verdicts) if (v.result === 'allowed') byRule.set(v.rules.at(-1)!, (byRule.get(v.rules.at(-1)!) ?? 0) + 1);
  console.log(`replay summary\n${table.join('\n')}\nmatched by failing the same way on both (same SQLSTATE): ${bothFailed}\nallowed differences: ${[...byRule].map(([r, n]) => `${r} ${n}`).join(', ')}`);

  const mismatches = verdicts.filter((v) => v.result === 'mismatch');
  // REPLAY_DUMP=file.json writes the full outcomes of every difference, to study them
  if (process.env.REPLAY_DUMP) writeFileSync(process.env.REPLAY_DUMP, JSON.stringify(mismatches.map((v) => ({ at: `${v.entry.file}:${v.entry.line}`, sql: v.entry.sql, rules: v.rules, keapgres: v.normalised?.[0], postgres: v.normalised?.[1] })), null, 1));
  assert.ok(verdicts.length > 400, `only ${verdicts.length} statements replayed`);
  assert.equal(
    mismatches.length,
    0,
    mismatches
      .map((v) => `${v.entry.file}:${v.entry.line} ${v.entry.purpose}\n  sql: ${(v.entry.sql ?? '(re-used statement)').slice(0, 200)}\n  keapgres: ${describeOutcome(v.keapgres)}\n  postgres: ${describeOutcome(v.postgres)}`)
      .join('\n\n'),
  );
});

// The replay suite's judgement on its own: allowed differences excuse only what they name, and a
// difference in Keap data is never excused. (The suite itself: replay.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCorpusFile } from './replay/corpus.js';
import { allowedDifferences } from './replay/differences.js';
import { judge } from './replay/judge.js';
import type { Outcome } from './replay/outcome.js';
import { rewriteSteps } from './replay/rewrite.js';

const rules = allowedDifferences(new Set(['contacts', 'orders', 'public', 'keap']));

function entry(sql: string) {
  return { file: 't.sql', line: 1, purpose: 't', sql, protocolLine: '-- protocol: simple Query', steps: [{ kind: 'query' as const, sql }] };
}

function answer(columns: Array<[string, number]>, rows: Array<Array<string | null>>): Outcome {
  return [
    { kind: 'columns', columns: columns.map(([name, type]) => ({ name, type, format: 0 })) },
    { kind: 'rows', rows },
    { kind: 'message', text: `CommandComplete SELECT ${rows.length}` },
    { kind: 'message', text: 'ReadyForQuery I' },
  ];
}

test('a different value in a Keap data statement is a mismatch, whatever the rules', () => {
  const sql = 'SELECT id, given_name FROM contacts';
  const v = judge(entry(sql), answer([['id', 20], ['given_name', 25]], [['1', 'Ann']]), answer([['id', 20], ['given_name', 25]], [['1', 'Anne']]), rules);
  assert.equal(v.result, 'mismatch');
  assert.deepEqual(v.rules, []);
});

test('equal answers match', () => {
  const cols: Array<[string, number]> = [['id', 20]];
  const v = judge(entry('SELECT id FROM contacts'), answer(cols, [['1'], ['2']]), answer(cols, [['1'], ['2']]), rules);
  assert.equal(v.result, 'match');
});

test('built-in catalog rows that differ between versions are allowed; rows about a Keap table are not', () => {
  const sql = 'SELECT relname, relkind FROM pg_catalog.pg_class';
  const cols: Array<[string, number]> = [['relname', 19], ['relkind', 18]];
  const builtIn = judge(entry(sql), answer(cols, [['contacts', 'r'], ['pg_aios', 'v']]), answer(cols, [['contacts', 'r']]), rules);
  assert.equal(builtIn.result, 'allowed');
  assert.equal(builtIn.rules.at(-1), 'catalog shape of PostgreSQL 15 vs 18');
  const keap = judge(entry(sql), answer(cols, [['contacts', 'v']]), answer(cols, [['contacts', 'r']]), rules);
  assert.equal(keap.result, 'mismatch');
});

test('a different SQLSTATE is a mismatch; the same one matches', () => {
  const err = (code: string): Outcome => [{ kind: 'message', text: `ERROR ${code}` }, { kind: 'message', text: 'ReadyForQuery I' }];
  assert.equal(judge(entry('SELECT nope FROM contacts'), err('42703'), err('42703'), rules).result, 'match');
  assert.equal(judge(entry('SELECT nope FROM pg_class'), err('42703'), err('42P01'), rules).result, 'mismatch');
});

test('the corpus format: protocol lines become the exact messages, capture oids become each server\'s', () => {
  const [conn] = parseCorpusFile(
    'x.sql',
    [
      "-- [connection c1] StartupMessage protocol=3.0 params={'user': 'postgres', 'database': 'crm'}",
      '',
      '-- purpose: one',
      "-- protocol: extended: Parse(stmt='S_1', paramtypes=[20, 1043]) Bind(portal='C_1' stmt='S_1' paramformats=[1, 0] params=[0x0000000000004001, 'x'] resultformats=[1, 0]) Describe(portal 'C_1') Execute(portal='C_1' maxrows=2) Sync",
      "SELECT * FROM pg_class WHERE oid = $1 AND relname <> $2 AND oid <> '16395';",
      '',
      '-- purpose: two',
      "-- protocol: Execute(portal='C_1' maxrows=2) Sync",
      '-- (no SQL text: re-uses a previously parsed statement)',
    ].join('\n'),
  );
  assert.deepEqual(conn!.startup, { user: 'postgres', database: 'crm' });
  assert.equal(conn!.entries.length, 2);
  const steps = rewriteSteps(conn!.entries[0]!.steps, conn!.entries[0]!.sql, { database: 5, contacts: 70001, orders: 70002, bigOrders: 70003 });
  assert.deepEqual(steps.map((s) => s.kind), ['parse', 'bind', 'describe', 'execute', 'sync']);
  const parse = steps[0] as Extract<(typeof steps)[number], { kind: 'parse' }>;
  assert.equal(parse.name, 'S_1');
  assert.deepEqual(parse.types, [20, 1043]);
  assert.match(parse.sql, /oid <> '70002'/);
  const bind = steps[1] as Extract<(typeof steps)[number], { kind: 'bind' }>;
  assert.equal(bind.portal, 'C_1');
  assert.deepEqual(bind.paramFormats, [1, 0]);
  assert.equal(bind.params.length, 2);
  assert.equal(bind.params[1]!.toString(), 'x');
  assert.equal(bind.params[0]!.readBigInt64BE(), 70001n);
  assert.deepEqual(bind.resultFormats, [1, 0]);
  assert.deepEqual(steps[3], { kind: 'execute', portal: 'C_1', maxRows: 2 });
  assert.equal(conn!.entries[1]!.sql, undefined);
  assert.deepEqual(conn!.entries[1]!.steps, [{ kind: 'execute', portal: 'C_1', maxRows: 2 }, { kind: 'sync' }]);
});

// The planner's one promise, checked against a real PostgreSQL (PGlite): for every statement, loading only
// the rows its fetch plans select (as an API that evaluates the pushed conditions exactly would return
// them) gives the same result as loading every row. Tricky shapes are listed; random ones add breadth.
import { before, after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { catalogOf } from '../src/schema/load.js';
import type { ColumnSchema, FilterOp, TableSchema } from '../src/schema/types.js';
import { planSql, type FetchPlan, type PlannerContext, type PushedCondition } from '../src/planner/index.js';

function table(name: string, columns: Array<[string, ColumnSchema['type'], boolean?]>, filters: Array<[string, FilterOp[]]>, sort: string[], count = false): TableSchema {
  return {
    name,
    description: name,
    source: { version: 2, path: `/v2/${name}`, listKey: name, pageSizeMax: 1000, ...(count ? { count: { version: 1, path: `/v1/${name}`, key: 'count' } } : {}) },
    primaryKey: ['id'],
    foreignKeys: [],
    columns: columns.map(([n, type, notNull]) => ({ name: n, type, path: n, description: n, ...(notNull ? { notNull } : {}) })),
    filters: filters.map(([column, ops]) => ({ column, ops, param: column })),
    sort: sort.map((column) => ({ column, param: column })),
  };
}

const catalog = catalogOf([
  table(
    'contacts',
    [['id', 'bigint', true], ['email', 'text'], ['given_name', 'text'], ['owner_id', 'bigint'], ['update_time', 'timestamptz']],
    [['id', ['=', 'in', '<', '<=', '>', '>=']], ['email', ['=', 'prefix']], ['given_name', ['=', 'prefix']], ['owner_id', ['=']], ['update_time', ['>', '>=', '<', '<=']]],
    ['id', 'update_time'],
  ),
  table(
    'orders',
    [['id', 'bigint', true], ['contact_id', 'bigint'], ['title', 'text'], ['total', 'numeric']],
    [['id', ['=', 'in', '>=', '<=']], ['contact_id', ['=']], ['title', ['=', 'prefix']]],
    ['id'],
  ),
  table('tasks', [['id', 'bigint', true], ['contact_id', 'bigint'], ['priority', 'text'], ['completed', 'boolean']], [['contact_id', ['=']], ['priority', ['=', 'isnull']], ['completed', ['=']]], ['id'], true),
]);

type Row = Record<string, string | number | boolean | null>;

/** Deterministic data with the awkward cases: NULLs, case differences, dangling references, equal times. */
function data(): Record<string, Row[]> {
  const names = ['Ann', 'ann', 'Bob', 'Bab', 'B_b', 'Cy', null];
  const contacts: Row[] = [];
  for (let i = 1; i <= 30; i++) {
    contacts.push({
      id: i,
      email: i % 7 === 0 ? null : `${['Ann', 'ann', 'an_', 'bob', 'Bo%'][i % 5]}${i}@x.com`,
      given_name: names[i % names.length]!,
      owner_id: i % 4 === 0 ? null : i % 3,
      update_time: i % 6 === 0 ? null : new Date(Date.UTC(2024, 0, 1 + (i % 15), (i * 5) % 24)).toISOString(),
    });
  }
  const orders: Row[] = [];
  for (let i = 1; i <= 40; i++) {
    orders.push({ id: 100 + i, contact_id: i % 9 === 0 ? null : (i * 7) % 34, title: `${['Or', 'or', 'Re'][i % 3]}der ${i}`, total: (i * 13) % 100 });
  }
  const tasks: Row[] = [];
  for (let i = 1; i <= 25; i++) {
    tasks.push({ id: 200 + i, contact_id: (i * 5) % 32, priority: [null, 'HIGH', 'LOW', 'high'][i % 4]!, completed: i % 3 === 0 });
  }
  return { contacts, orders, tasks };
}

/** An API that evaluates pushed conditions exactly (case-sensitive, no leniency): the strictest model. */
function matches(row: Row, c: PushedCondition, type: ColumnSchema['type']): boolean {
  const v = row[c.column] ?? null;
  if (c.op === 'isnull') return v === null;
  if (v === null) return false;
  const norm = (x: unknown): number | string | boolean =>
    type === 'timestamptz' ? Date.parse(String(x)) : type === 'bigint' || type === 'numeric' ? Number(x) : (x as string | boolean);
  const a = norm(v);
  switch (c.op) {
    case '=':
      return a === norm(c.value);
    case 'in':
      return (c.values ?? []).some((x) => norm(x) === a);
    case 'prefix':
      return String(a).startsWith(String(c.value));
    case '<':
      return a < norm(c.value);
    case '<=':
      return a <= norm(c.value);
    case '>':
      return a > norm(c.value);
    case '>=':
      return a >= norm(c.value);
  }
}

function fetchRows(all: Row[], plan: FetchPlan, schema: TableSchema): Row[] {
  const type = (col: string): ColumnSchema['type'] => schema.columns.find((c) => c.name === col)!.type;
  let rows = all.filter((r) => plan.conditions.every((c) => matches(r, c, type(c.column))));
  if (plan.orderBy) {
    const { column, direction } = plan.orderBy;
    rows = [...rows].sort((x, y) => (Number(x[column]) - Number(y[column])) * (direction === 'asc' ? 1 : -1));
  }
  if (plan.limit !== undefined) rows = rows.slice(0, plan.limit);
  return rows;
}

let db: PGlite;
const rows = data();

async function load(tables: Record<string, Row[]>): Promise<void> {
  for (const name of Object.keys(rows)) {
    await db.exec(`TRUNCATE ${name}`);
    const list = tables[name] ?? [];
    if (list.length > 0) await db.query(`INSERT INTO ${name} SELECT * FROM json_populate_recordset(NULL::${name}, $1)`, [JSON.stringify(list)]);
  }
}

async function result(sql: string, params?: string[]): Promise<string[]> {
  const r = await db.query<Record<string, unknown>>(sql, params);
  return r.rows.map((row) => JSON.stringify(row)).sort();
}

const ctx: PlannerContext = { catalog, searchPath: ['public'] }; // TimeZone unknown to the planner: widened bounds

async function assertSound(sql: string, params?: string[]): Promise<void> {
  await load(rows);
  const expected = await result(sql, params);
  const plan = await planSql(sql, params, ctx);
  assert.equal(plan.rejection, undefined);
  const fetched: Record<string, Row[]> = {};
  const seen: Record<string, Set<number>> = {};
  for (const f of plan.fetches) {
    const schema = catalog.tables.get(f.table)!;
    fetched[f.table] ??= [];
    seen[f.table] ??= new Set();
    for (const r of fetchRows(rows[f.table]!, f, schema)) {
      if (!seen[f.table]!.has(r.id as number)) fetched[f.table]!.push(r);
      seen[f.table]!.add(r.id as number);
    }
  }
  await load(fetched);
  const actual = await result(sql, params);
  assert.deepEqual(actual, expected, `${sql}\nplan: ${JSON.stringify(plan.fetches)}`);
}

const TRICKY = [
  "SELECT * FROM contacts WHERE email LIKE 'an%'",
  "SELECT * FROM contacts WHERE email LIKE 'an\\_%'",
  "SELECT * FROM contacts WHERE given_name LIKE 'B_b'",
  "SELECT * FROM contacts WHERE update_time > '2024-01-05' AND update_time <= '2024-01-09 10:00'",
  "SELECT * FROM contacts WHERE update_time BETWEEN '2024-01-03T00:00:00Z' AND '2024-01-04 05:00:00+05'",
  "SELECT * FROM contacts WHERE update_time = '2024-01-03 10:00:00+00'",
  "SELECT * FROM contacts WHERE update_time < '2024-01-09 17:00'",
  "SELECT * FROM contacts WHERE update_time >= '2024-01-09 16:00'::timestamp",
  'SELECT * FROM contacts WHERE id IN (1, 2, NULL) OR id = 9',
  "SELECT * FROM contacts WHERE id > 2.5 AND id <= '7'",
  'SELECT * FROM orders WHERE id > 110 AND id < 120',
  'SELECT * FROM contacts c LEFT JOIN tasks t ON t.contact_id = c.id WHERE t.priority IS NULL',
  'SELECT * FROM contacts c LEFT JOIN tasks t ON t.contact_id = c.id AND t.priority IS NULL',
  'SELECT * FROM contacts c LEFT JOIN orders o ON o.contact_id = c.id WHERE o.contact_id IS NULL',
  'SELECT * FROM contacts c LEFT JOIN orders o ON o.contact_id = c.id AND c.id = 5',
  'SELECT * FROM contacts c LEFT JOIN orders o ON o.contact_id = c.id WHERE c.id IN (3, 5, 7)',
  'SELECT * FROM contacts c RIGHT JOIN orders o ON o.contact_id = c.id AND o.id = 105 WHERE c.owner_id = 1',
  'SELECT * FROM contacts c FULL JOIN orders o ON o.contact_id = c.id AND c.id = 5 AND o.id = 107',
  'SELECT * FROM contacts c JOIN orders o ON o.contact_id = c.id WHERE o.contact_id IN (1, 2, 7)',
  'SELECT * FROM orders o LEFT JOIN (contacts c LEFT JOIN tasks t ON t.contact_id = c.id) ON c.id = o.contact_id AND t.priority IS NULL',
  'SELECT * FROM (SELECT * FROM contacts WHERE owner_id = 1) s WHERE s.id > 5',
  'SELECT * FROM orders o LEFT JOIN (SELECT * FROM tasks) t ON t.contact_id = o.contact_id WHERE t.priority IS NULL',
  'WITH s AS (SELECT id, email FROM contacts) SELECT * FROM s WHERE s.id = 3',
  'WITH s AS (SELECT id FROM contacts) SELECT * FROM s a, s b WHERE a.id = 1 AND b.id = 2',
  'SELECT * FROM contacts WHERE id = (SELECT max(contact_id) FROM orders WHERE title LIKE \'Or%\')',
  'SELECT * FROM contacts c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.contact_id = c.id AND o.title = \'Order 3\')',
  'SELECT * FROM contacts ORDER BY id DESC LIMIT 3 OFFSET 2',
  'SELECT * FROM contacts WHERE id > 3 ORDER BY id LIMIT 4',
  "SELECT * FROM contacts WHERE email LIKE 'a%' ORDER BY id LIMIT 2",
  'SELECT id FROM contacts UNION SELECT contact_id FROM orders WHERE contact_id = 4',
  'SELECT count(*) FROM tasks WHERE contact_id = 5',
  'SELECT * FROM tasks WHERE completed AND priority IS NOT DISTINCT FROM NULL',
  'SELECT * FROM contacts c, orders o WHERE o.contact_id = c.id AND c.id = ANY(ARRAY[2, 3])',
  'SELECT * FROM contacts a JOIN contacts b ON b.owner_id = a.id WHERE a.id < 4',
];

const WITH_PARAMS: Array<[string, string[]]> = [
  ['SELECT * FROM contacts WHERE id > $1 AND email LIKE $2', ['3', 'an%']],
  ['SELECT * FROM contacts WHERE update_time < $1', ['2024-01-09T17:00:00.000-05:00']],
  ['SELECT * FROM contacts WHERE id = ANY($1::bigint[]) ORDER BY id LIMIT $2', ['{2,4,6,NULL}', '2']],
  ['SELECT * FROM orders o JOIN contacts c ON c.id = o.contact_id WHERE o.contact_id = $1', ['7']],
];

describe('planner soundness against PostgreSQL', () => {
  before(async () => {
    db = new PGlite();
    await db.waitReady;
    await db.exec(`SET TimeZone = 'America/New_York';
      CREATE TABLE contacts (id bigint PRIMARY KEY, email text, given_name text, owner_id bigint, update_time timestamptz);
      CREATE TABLE orders (id bigint PRIMARY KEY, contact_id bigint, title text, total numeric);
      CREATE TABLE tasks (id bigint PRIMARY KEY, contact_id bigint, priority text, completed boolean);`);
  });
  after(async () => {
    await db.close();
  });

  for (const sql of TRICKY) it(sql, () => assertSound(sql));
  for (const [sql, params] of WITH_PARAMS) it(`${sql} with ${JSON.stringify(params)}`, () => assertSound(sql, params));

  it('random statements over joins, derived tables and conditions', async () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;
    const k = (): number => rnd(12);
    const conds: Record<string, Array<(a: string) => string>> = {
      contacts: [
        (a) => `${a}.id = ${k()}`, (a) => `${a}.id IN (${k()}, ${k()}, NULL)`, (a) => `${a}.id > ${k()}`, (a) => `${a}.id BETWEEN ${k()} AND ${k() + 5}`,
        (a) => `${a}.email LIKE '${pick(['an', 'An', 'an\\_', 'b', 'Bo%'])}%'`, (a) => `${a}.email IS NULL`, (a) => `${a}.given_name = '${pick(['Ann', 'ann', 'Bob'])}'`,
        (a) => `${a}.given_name LIKE 'B_b%'`, (a) => `${a}.update_time > '2024-01-0${1 + rnd(9)}'`, (a) => `${a}.update_time <= '2024-01-${10 + rnd(6)} 12:00+02'`,
        (a) => `${a}.owner_id = ${rnd(3)}`, (a) => `(${a}.id = ${k()} OR ${a}.id = ${k()})`, (a) => `NOT (${a}.id = ${k()})`, (a) => `${a}.update_time IS NULL`,
        (a) => `${a}.email IS NOT NULL`,
      ],
      orders: [
        (a) => `${a}.contact_id = ${k()}`, (a) => `${a}.contact_id IN (${k()}, ${k()})`, (a) => `${a}.title LIKE '${pick(['Or', 'or', 'Re'])}%'`,
        (a) => `${a}.id >= ${100 + rnd(40)}`, (a) => `${a}.contact_id IS NULL`, (a) => `${a}.total > ${rnd(100)}`,
      ],
      tasks: [
        (a) => `${a}.priority IS NULL`, (a) => `${a}.priority = '${pick(['HIGH', 'high', 'LOW'])}'`, (a) => `${a}.completed`, (a) => `NOT ${a}.completed`,
        (a) => `${a}.contact_id = ${k()}`,
      ],
    };
    const link: Record<string, string> = { contacts: 'id', orders: 'contact_id', tasks: 'contact_id' };
    const item = (t: string, alias: string): string => {
      switch (rnd(4)) {
        case 0:
          return `(SELECT * FROM ${t} x WHERE ${pick(conds[t]!)('x')}) ${alias}`;
        case 1:
          return `(SELECT * FROM ${t}) ${alias}`;
        default:
          return `${t} ${alias}`;
      }
    };
    const joins = ['JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN'];
    for (let i = 0; i < 120; i++) {
      const tables = Array.from({ length: 1 + rnd(3) }, () => pick(Object.keys(conds)));
      const aliases = tables.map((_, j) => `a${j}`);
      let from = item(tables[0]!, aliases[0]!);
      for (let j = 1; j < tables.length; j++) {
        const on = [`${aliases[j]}.${link[tables[j]!]} = ${aliases[j - 1]}.${link[tables[j - 1]!]}`];
        if (rnd(2)) on.push(pick(conds[tables[j]!]!)(aliases[j]!));
        if (rnd(3) === 0) on.push(pick(conds[tables[j - 1]!]!)(aliases[j - 1]!));
        from += ` ${pick(joins)} ${item(tables[j]!, aliases[j]!)} ON ${on.join(' AND ')}`;
      }
      const where = Array.from({ length: rnd(4) }, () => {
        const j = rnd(tables.length);
        return pick(conds[tables[j]!]!)(aliases[j]!);
      });
      if (rnd(4) === 0) {
        const t = pick(Object.keys(conds));
        where.push(`${rnd(2) ? '' : 'NOT '}EXISTS (SELECT 1 FROM ${t} z WHERE z.${link[t]} = ${aliases[0]}.${link[tables[0]!]} AND ${pick(conds[t]!)('z')})`);
      }
      let sql = `SELECT * FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
      if (rnd(4) === 0) sql = `WITH w AS (${sql}) SELECT * FROM w`;
      await assertSound(sql);
      // one table, ordered and limited: the API's order and limit must give the engine's first rows
      const t = pick(Object.keys(conds));
      const single = `SELECT * FROM ${t} s${rnd(2) ? ` WHERE ${pick(conds[t]!)('s')}` : ''} ORDER BY id${rnd(2) ? ' DESC' : ''} LIMIT ${1 + rnd(5)}${rnd(2) ? ` OFFSET ${rnd(3)}` : ''}`;
      await assertSound(single);
      if (rnd(3) === 0) {
        await assertSound(`SELECT * FROM (SELECT ${link[t]} AS k, count(*) AS n FROM ${t} GROUP BY ${link[t]}) g WHERE g.k = ${k()}`);
      }
    }
  });
});

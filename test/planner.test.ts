// The planner, as a specification: SQL (+ bound parameters) → which Keap rows must be fetched.
// Every case asserts the complete plan, so a condition pushed where it is not implied fails the test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../src/schema/load.js';
import {
  applySessionDefinitions,
  loadParser,
  mergeBatchPlans,
  planSql,
  planSqlSync,
  sessionDefinitions,
  type BatchPlan,
  type FetchPlan,
  type PlannerContext,
} from '../src/planner/index.js';

const catalog = loadCatalog();
const base: PlannerContext = { catalog, searchPath: ['"$user"', 'public'], timeZone: 'UTC' };

interface Case {
  name: string;
  sql: string;
  params?: Array<string | null | undefined>;
  ctx?: Partial<PlannerContext>;
  fetches: FetchPlan[];
}

const all = (table: string): FetchPlan => ({ table, conditions: [] });
const eq = (column: string, value: FetchPlan['conditions'][number]['value']) => ({ column, op: '=' as const, value });

function check(cases: Case[]): void {
  for (const c of cases) {
    it(c.name, async () => {
      const plan = await planSql(c.sql, c.params, { ...base, ...c.ctx });
      assert.equal(plan.rejection, undefined, `unexpected rejection: ${plan.rejection?.message}`);
      assert.deepEqual(plan.fetches, c.fetches);
    });
  }
}

describe('planner: which Keap tables a statement reads', () => {
  check([
    { name: 'a catalog query fetches nothing', sql: 'SELECT relname FROM pg_catalog.pg_class WHERE relname = $1', params: ['contacts'], fetches: [] },
    { name: 'a statement without tables fetches nothing', sql: 'SELECT 1', fetches: [] },
    { name: 'an unqualified Keap table with no condition is fetched in full', sql: 'SELECT * FROM contacts', fetches: [all('contacts')] },
    { name: 'a schema-qualified Keap table', sql: 'SELECT * FROM public.contacts', fetches: [all('contacts')] },
    { name: 'a table in another schema named like a Keap table is not one', sql: 'SELECT * FROM crm.contacts', fetches: [] },
    { name: 'a CTE named like a Keap table shadows it', sql: 'WITH contacts AS (SELECT 1 AS id) SELECT * FROM contacts WHERE id = 1', fetches: [] },
    {
      name: 'inside its own non-recursive definition a CTE name still means the table',
      sql: 'WITH contacts AS (SELECT * FROM contacts WHERE id = 3) SELECT * FROM contacts',
      fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '=', value: 3 }] }],
    },
    { name: 'a CTE shadows only unqualified names', sql: 'WITH contacts AS (SELECT 1) SELECT * FROM public.contacts', fetches: [all('contacts')] },
    { name: 'search_path without public hides the Keap tables', sql: 'SELECT * FROM contacts', ctx: { searchPath: ['crm'] }, fetches: [] },
    { name: 'a known temporary table shadows a Keap table', sql: 'SELECT * FROM contacts', ctx: { tempRelations: new Set(['contacts']) }, fetches: [] },
    { name: 'pg_temp after public does not shadow', sql: 'SELECT * FROM contacts', ctx: { searchPath: ['public', 'pg_temp'], tempRelations: new Set(['contacts']) }, fetches: [all('contacts')] },
    { name: 'SET search_path earlier in the batch applies to later statements', sql: 'SET search_path = crm; SELECT * FROM contacts', fetches: [] },
    { name: 'RESET search_path restores the default', sql: 'SET search_path = crm; RESET search_path; SELECT * FROM contacts', fetches: [all('contacts')] },
    { name: 'a search_path string with commas may name public', sql: "SET search_path = 'crm, public'; SELECT * FROM contacts", fetches: [all('contacts')] },
    { name: 'two statements in one simple query', sql: 'SELECT 1; SELECT * FROM tags', fetches: [all('tags')] },
    {
      name: 'the same table twice gives two plans',
      sql: 'SELECT * FROM contacts a, contacts b WHERE a.id = 1 AND b.id = 2',
      fetches: [
        { table: 'contacts', conditions: [{ column: 'id', op: '=', value: 1 }] },
        { table: 'contacts', conditions: [{ column: 'id', op: '=', value: 2 }] },
      ],
    },
    {
      name: 'a full fetch of a table makes its filtered plans redundant',
      sql: 'SELECT * FROM contacts a, contacts b WHERE a.id = 1',
      fetches: [all('contacts')],
    },
    {
      name: 'subqueries, unions and EXISTS are all found, each with its own conditions',
      sql: `SELECT id FROM contacts WHERE id = 1
            UNION SELECT contact_id FROM orders WHERE EXISTS (SELECT 1 FROM tags WHERE tags.id = 9)`,
      fetches: [
        { table: 'contacts', conditions: [{ column: 'id', op: '=', value: 1 }] },
        all('orders'),
        { table: 'tags', conditions: [{ column: 'id', op: '=', value: 9 }] },
      ],
    },
    { name: 'a subquery in FROM', sql: "SELECT * FROM (SELECT * FROM tags WHERE name = 'vip') t", fetches: [{ table: 'tags', conditions: [{ column: 'name', op: '=', value: 'vip' }] }] },
    { name: 'an outer condition on a pass-through column reaches the table below', sql: "SELECT * FROM (SELECT * FROM tags) t WHERE t.name = 'vip'", fetches: [{ table: 'tags', conditions: [eq('name', 'vip')] }] },
    { name: 'through a renamed output column', sql: "SELECT * FROM (SELECT email AS mail FROM contacts) s WHERE mail = 'x'", fetches: [{ table: 'contacts', conditions: [eq('email', 'x')] }] },
    { name: 'through nested derived tables', sql: 'SELECT * FROM (SELECT * FROM (SELECT * FROM tags) a) b WHERE b.id = 3', fetches: [{ table: 'tags', conditions: [eq('id', 3)] }] },
    {
      name: 'Superset virtual dataset: the outer filter joins the inner one',
      sql: "SELECT email FROM (SELECT * FROM contacts WHERE owner_id = 1 AND given_name = 'A') AS virtual_table WHERE virtual_table.id > 100 LIMIT 1000",
      fetches: [{ table: 'contacts', conditions: [eq('given_name', 'A'), { column: 'id', op: '>', value: 100 }] }],
    },
    { name: 'a CTE used once passes conditions through', sql: "WITH s AS (SELECT id, email FROM contacts) SELECT * FROM s WHERE s.email = 'x'", fetches: [{ table: 'contacts', conditions: [eq('email', 'x')] }] },
    { name: 'a CTE used twice does not', sql: 'WITH s AS (SELECT id FROM contacts) SELECT * FROM s a, s b WHERE a.id = 1 AND b.id = 2', fetches: [all('contacts')] },
    { name: 'a CTE used once by a later CTE', sql: 'WITH a AS (SELECT * FROM tags), b AS (SELECT * FROM a WHERE id = 4) SELECT * FROM b', fetches: [{ table: 'tags', conditions: [eq('id', 4)] }] },
    { name: 'a recursive CTE does not', sql: 'WITH RECURSIVE s AS (SELECT id FROM contacts UNION ALL SELECT id + 1 FROM s WHERE id < 3) SELECT * FROM s WHERE id = 1', fetches: [all('contacts')] },
    { name: 'not through LIMIT', sql: "SELECT * FROM (SELECT * FROM tags LIMIT 10) t WHERE t.name = 'vip'", fetches: [{ table: 'tags', conditions: [], limit: 10 }] },
    { name: 'not through GROUP BY', sql: 'SELECT * FROM (SELECT contact_id, count(*) AS n FROM orders GROUP BY contact_id) s WHERE s.contact_id = 5', fetches: [all('orders')] },
    { name: 'not through DISTINCT', sql: 'SELECT * FROM (SELECT DISTINCT contact_id FROM orders) s WHERE s.contact_id = 5', fetches: [all('orders')] },
    { name: 'not through a computed column', sql: 'SELECT * FROM (SELECT id + 0 AS id FROM contacts) s WHERE s.id = 5', fetches: [all('contacts')] },
    { name: 'not through UNION', sql: 'SELECT * FROM (SELECT id FROM contacts UNION SELECT id FROM orders) u WHERE id = 1', fetches: [all('contacts'), all('orders')] },
    { name: 'not through renamed derived columns', sql: 'SELECT * FROM (SELECT id FROM contacts) s(x) WHERE x = 1', fetches: [all('contacts')] },
    { name: 'a duplicated output name is not resolved', sql: "SELECT * FROM (SELECT * FROM contacts c JOIN orders o ON o.contact_id = c.id) s WHERE s.email = 'x' AND s.id = 1", fetches: [{ table: 'contacts', conditions: [eq('email', 'x')] }, all('orders')] },
    {
      name: 'IS NULL through a derived table on the nullable side is not pushed',
      sql: 'SELECT * FROM orders o LEFT JOIN (SELECT * FROM tasks) t ON t.contact_id = o.contact_id WHERE t.priority IS NULL',
      fetches: [all('orders'), all('tasks')],
    },
    {
      name: 'ON conditions reach a derived table on the filtered side',
      sql: 'SELECT * FROM orders o LEFT JOIN (SELECT * FROM tasks) t ON t.contact_id = o.contact_id AND t.id = 9',
      fetches: [all('orders'), { table: 'tasks', conditions: [eq('id', 9)] }],
    },
    {
      name: 'a view passes conditions through like a derived table',
      sql: "SELECT * FROM v WHERE email = 'x'",
      ctx: { views: new Map([['v', 'CREATE VIEW v AS SELECT id, email FROM contacts WHERE id > 1']]) },
      fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '>', value: 1 }, eq('email', 'x')] }],
    },
    { name: 'a view with its own column names does not', sql: "SELECT * FROM v WHERE a = 'x'", ctx: { views: new Map([['v', 'CREATE VIEW v (a) AS SELECT email FROM contacts']]) }, fetches: [all('contacts')] },
    {
      name: "a correlated subquery's outer reference is not a constant",
      sql: 'SELECT * FROM contacts c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.contact_id = c.id)',
      fetches: [all('contacts'), all('orders')],
    },
    { name: 'EXPLAIN', sql: 'EXPLAIN SELECT * FROM contacts WHERE id = 5', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '=', value: 5 }] }] },
    { name: 'EXPLAIN ANALYZE', sql: 'EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM tags', fetches: [all('tags')] },
    { name: 'COPY (SELECT …) TO', sql: 'COPY (SELECT * FROM contacts WHERE id < 10) TO STDOUT', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '<', value: 10 }] }] },
    { name: 'COPY table TO reads it all', sql: 'COPY contacts TO STDOUT (FORMAT csv)', fetches: [all('contacts')] },
    { name: 'DECLARE CURSOR', sql: 'DECLARE "c1" CURSOR WITHOUT HOLD FOR SELECT * FROM contacts WHERE id = $1', params: ['7'], fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '=', value: 7 }] }] },
    { name: 'PREPARE alone runs nothing', sql: 'PREPARE p(bigint) AS SELECT * FROM contacts WHERE id = $1', fetches: [] },
    {
      name: 'PREPARE then EXECUTE in one batch uses the arguments',
      sql: "PREPARE p(bigint) AS SELECT * FROM contacts WHERE id = $1; EXECUTE p('12')",
      fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '=', value: 12 }] }],
    },
    {
      name: 'EXECUTE of a statement prepared earlier in the session',
      sql: 'EXECUTE byname(1, $1)',
      params: ['Ann%'],
      ctx: { preparedStatements: new Map([['byname', 'PREPARE byname(int, text) AS SELECT * FROM contacts WHERE id > $1 AND given_name LIKE $2']]) },
      fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '>', value: 1 }, { column: 'given_name', op: 'prefix', value: 'Ann' }] }],
    },
    { name: 'EXECUTE of an unknown statement fetches nothing', sql: 'EXECUTE nope(1)', fetches: [] },
    { name: 'CREATE TABLE AS reads Keap tables', sql: 'CREATE TEMP TABLE mine AS SELECT * FROM contacts WHERE id = 1', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '=', value: 1 }] }] },
    { name: 'CREATE TABLE AS … WITH NO DATA reads nothing', sql: 'CREATE TABLE mine AS SELECT * FROM contacts WITH NO DATA', fetches: [] },
    { name: 'SELECT INTO reads Keap tables', sql: 'SELECT * INTO mine FROM tags', fetches: [all('tags')] },
    { name: 'INSERT INTO scratch SELECT FROM a Keap table', sql: 'INSERT INTO mine SELECT id FROM contacts WHERE id >= 100', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '>=', value: 100 }] }] },
    { name: 'UPDATE scratch FROM a Keap table', sql: "UPDATE mine m SET email = c.email FROM contacts c WHERE c.id = m.id AND c.email = 'a@b.c'", fetches: [{ table: 'contacts', conditions: [{ column: 'email', op: '=', value: 'a@b.c' }] }] },
    { name: 'DELETE FROM scratch USING a Keap table', sql: 'DELETE FROM mine USING tags t WHERE t.id = mine.tag_id', fetches: [all('tags')] },
    { name: 'a data-modifying CTE on a scratch table', sql: 'WITH d AS (DELETE FROM mine RETURNING id) SELECT * FROM d JOIN tags ON tags.id = d.id', fetches: [all('tags')] },
    { name: 'a DO block mentioning a Keap table loads it', sql: "DO $$ BEGIN PERFORM count(*) FROM contacts; END $$", fetches: [all('contacts')] },
    {
      name: 'a call to a user function loads the Keap tables its definition mentions',
      sql: 'SELECT * FROM recent_orders(7)',
      ctx: { functions: new Map([['recent_orders', "CREATE FUNCTION recent_orders(n int) RETURNS SETOF orders LANGUAGE sql AS 'SELECT * FROM orders o JOIN helper() h ON true'"], ['helper', 'CREATE FUNCTION helper() RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM tags $$']]) },
      fetches: [all('orders'), all('tags')],
    },
    { name: 'a function created earlier in the batch', sql: "CREATE FUNCTION f() RETURNS bigint LANGUAGE sql AS 'SELECT max(id) FROM contacts'; SELECT f()", fetches: [all('contacts')] },
    { name: 'a parse error plans nothing', sql: 'SELEC * FROM contacts', fetches: [] },
    { name: 'a view created earlier in the batch is expanded', sql: 'CREATE VIEW v AS SELECT * FROM contacts WHERE id > 10; SELECT * FROM v', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '>', value: 10 }] }] },
    {
      name: 'a view created earlier in the session is expanded, views on views too',
      sql: 'SELECT * FROM w',
      ctx: { views: new Map([['v', 'CREATE VIEW v AS SELECT * FROM tags'], ['w', 'CREATE VIEW w AS SELECT * FROM v JOIN orders o ON o.id = 3']]) },
      fetches: [all('tags'), { table: 'orders', conditions: [{ column: 'id', op: '=', value: 3 }] }],
    },
    { name: 'a cyclic view definition terminates', sql: 'SELECT * FROM v', ctx: { views: new Map([['v', 'CREATE VIEW v AS SELECT * FROM v, tags']]) }, fetches: [all('tags')] },
    { name: 'REFRESH MATERIALIZED VIEW reads its query', sql: 'REFRESH MATERIALIZED VIEW mv', ctx: { views: new Map([['mv', 'CREATE MATERIALIZED VIEW mv AS SELECT * FROM tags']]) }, fetches: [all('tags')] },
    { name: 'TABLESAMPLE gets no pushdown', sql: 'SELECT * FROM contacts TABLESAMPLE BERNOULLI (10) WHERE id = 1', fetches: [all('contacts')] },
    { name: 'renamed columns get no pushdown', sql: 'SELECT * FROM contacts AS c(a, b) WHERE a = 1', fetches: [all('contacts')] },
  ]);
});

describe('planner: which conditions are implied for a reference', () => {
  check([
    { name: 'integer equality', sql: 'SELECT * FROM contacts WHERE id = 42', fetches: [{ table: 'contacts', conditions: [eq('id', 42)] }] },
    { name: 'a string literal on a bigint column is read as the integer', sql: "SELECT * FROM contacts WHERE id = '42'", fetches: [{ table: 'contacts', conditions: [eq('id', 42)] }] },
    { name: 'a non-integer string on a bigint column is an SQL error: nothing pushed', sql: "SELECT * FROM contacts WHERE id = 'abc'", fetches: [all('contacts')] },
    { name: 'constant on the left', sql: 'SELECT * FROM contacts WHERE 10 < id', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '>', value: 10 }] }] },
    { name: 'a decimal bound on an integer column rounds outwards', sql: 'SELECT * FROM contacts WHERE id > 2.5 AND id < 7.5', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '>', value: 2 }, { column: 'id', op: '<', value: 8 }] }] },
    { name: 'ids beyond 2^53 stay exact as text', sql: 'SELECT * FROM contacts WHERE id = 9007199254740993', fetches: [{ table: 'contacts', conditions: [eq('id', '9007199254740993')] }] },
    { name: 'an id beyond bigint is not pushed', sql: 'SELECT * FROM contacts WHERE id = 99999999999999999999', fetches: [all('contacts')] },
    { name: 'text equality', sql: "SELECT * FROM contacts WHERE email = 'ann@example.com'", fetches: [{ table: 'contacts', conditions: [eq('email', 'ann@example.com')] }] },
    { name: 'a bound text parameter', sql: 'SELECT * FROM contacts WHERE email = $1', params: ['ann@example.com'], fetches: [{ table: 'contacts', conditions: [eq('email', 'ann@example.com')] }] },
    { name: 'a parameter with an explicit cast', sql: 'SELECT * FROM contacts WHERE id = $1::int8', params: ['5'], fetches: [{ table: 'contacts', conditions: [eq('id', 5)] }] },
    { name: 'an unknown parameter value is not pushed', sql: 'SELECT * FROM contacts WHERE id = $1', params: [undefined], fetches: [all('contacts')] },
    { name: 'parameters without Bind values are not pushed', sql: 'SELECT * FROM contacts WHERE id = $1', fetches: [all('contacts')] },
    { name: 'a NULL parameter is not pushed', sql: 'SELECT * FROM contacts WHERE id = $1', params: [null], fetches: [all('contacts')] },
    { name: '= NULL is never true: nothing pushed', sql: 'SELECT * FROM contacts WHERE id = NULL', fetches: [all('contacts')] },
    { name: 'a cast on the column side is not pushable', sql: "SELECT * FROM contacts WHERE id::text = '1'", fetches: [all('contacts')] },
    { name: 'a function of the column is not pushable', sql: "SELECT * FROM contacts WHERE lower(email) = 'x'", fetches: [all('contacts')] },
    { name: 'a typmod cast on the value may truncate it: not pushed', sql: "SELECT * FROM contacts WHERE email = 'abcdef'::varchar(3)", fetches: [all('contacts')] },
    { name: 'a number compared with a text column is an SQL error: not pushed', sql: 'SELECT * FROM contacts WHERE email = 42', fetches: [all('contacts')] },
    { name: 'IN list, NULLs dropped, duplicates merged', sql: "SELECT * FROM contacts WHERE id IN (1, '2', NULL, 1)", fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: 'in', values: [1, 2] }] }] },
    { name: 'IN with only NULL is not pushed', sql: 'SELECT * FROM contacts WHERE id IN (NULL)', fetches: [all('contacts')] },
    { name: 'IN with one value becomes equality', sql: 'SELECT * FROM contacts WHERE email IN ($1)', params: ['x@y.z'], fetches: [{ table: 'contacts', conditions: [eq('email', 'x@y.z')] }] },
    {
      name: 'IN on a column with only = becomes one fetch per value',
      sql: "SELECT * FROM orders WHERE contact_id IN (1, 2, 3) AND title = 'x'",
      fetches: [1, 2, 3].map((v) => ({ table: 'orders', conditions: [eq('title', 'x'), eq('contact_id', v)] })),
    },
    {
      name: 'OR of equalities on an =-only column also splits',
      sql: "SELECT * FROM contacts WHERE email = 'a@b.c' OR email = 'd@e.f'",
      fetches: [{ table: 'contacts', conditions: [eq('email', 'a@b.c')] }, { table: 'contacts', conditions: [eq('email', 'd@e.f')] }],
    },
    { name: 'a long IN list on an =-only column is not split', sql: `SELECT * FROM orders WHERE contact_id IN (${Array.from({ length: 11 }, (_, i) => i + 1).join(',')})`, fetches: [all('orders')] },
    { name: 'a split plan gets no LIMIT', sql: 'SELECT * FROM orders WHERE contact_id IN (1, 2) LIMIT 1', fetches: [{ table: 'orders', conditions: [eq('contact_id', 1)] }, { table: 'orders', conditions: [eq('contact_id', 2)] }] },
    { name: 'NOT IN is not pushed', sql: 'SELECT * FROM contacts WHERE id NOT IN (1, 2)', fetches: [all('contacts')] },
    { name: '= ANY(ARRAY[…])', sql: 'SELECT * FROM contacts WHERE id = ANY(ARRAY[3, 4])', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: 'in', values: [3, 4] }] }] },
    { name: '= ANY($1) with an array parameter', sql: 'SELECT * FROM contacts WHERE id = ANY($1)', params: ['{5,6,NULL}'], fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: 'in', values: [5, 6] }] }] },
    { name: "= ANY('{…}'::int8[])", sql: "SELECT * FROM contacts WHERE id = ANY('{1,2}'::int8[])", fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: 'in', values: [1, 2] }] }] },
    { name: '= ANY($1::text[]) with one element', sql: 'SELECT * FROM contacts WHERE email = ANY($1::text[])', params: ['{"a,b@c.d"}'], fetches: [{ table: 'contacts', conditions: [eq('email', 'a,b@c.d')] }] },
    { name: '= ANY of a text array on a bigint column is an SQL error: not pushed', sql: "SELECT * FROM contacts WHERE id = ANY('{1,2}'::text[])", fetches: [all('contacts')] },
    { name: 'an IN list longer than the API takes is not pushed', sql: `SELECT * FROM opportunities WHERE id IN (${Array.from({ length: 101 }, (_, i) => i + 1).join(',')})`, fetches: [all('opportunities')] },
    { name: 'OR of equalities on one column becomes IN', sql: 'SELECT * FROM contacts WHERE id = 1 OR id = 2 OR id IN (3)', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: 'in', values: [1, 2, 3] }] }] },
    { name: 'OR across columns is not pushed', sql: "SELECT * FROM contacts WHERE id = 1 OR email = 'x'", fetches: [all('contacts')] },
    { name: 'NOT of a comparison is not pushed', sql: 'SELECT * FROM contacts WHERE NOT (id = 1)', fetches: [all('contacts')] },
    { name: 'BETWEEN', sql: 'SELECT * FROM contacts WHERE id BETWEEN 10 AND 20', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '>=', value: 10 }, { column: 'id', op: '<=', value: 20 }] }] },
    { name: 'NOT BETWEEN is not pushed', sql: 'SELECT * FROM contacts WHERE id NOT BETWEEN 10 AND 20', fetches: [all('contacts')] },
    { name: 'LIKE prefix', sql: "SELECT * FROM contacts WHERE email LIKE 'ann%'", fetches: [{ table: 'contacts', conditions: [{ column: 'email', op: 'prefix', value: 'ann' }] }] },
    { name: 'LIKE with _ pushes only the part before it', sql: "SELECT * FROM contacts WHERE email LIKE 'a_c%'", fetches: [{ table: 'contacts', conditions: [{ column: 'email', op: 'prefix', value: 'a' }] }] },
    { name: 'LIKE with an escaped wildcard keeps it literal', sql: "SELECT * FROM contacts WHERE email LIKE 'a\\_b%'", fetches: [{ table: 'contacts', conditions: [{ column: 'email', op: 'prefix', value: 'a_b' }] }] },
    { name: 'LIKE with a leading wildcard is not pushed', sql: "SELECT * FROM contacts WHERE email LIKE '%@x.com'", fetches: [all('contacts')] },
    { name: 'LIKE with an ESCAPE clause is not pushed', sql: "SELECT * FROM contacts WHERE email LIKE 'a!%%' ESCAPE '!'", fetches: [all('contacts')] },
    { name: 'LIKE without wildcards is equality', sql: "SELECT * FROM contacts WHERE email LIKE 'a@b.c'", fetches: [{ table: 'contacts', conditions: [eq('email', 'a@b.c')] }] },
    { name: 'ILIKE and NOT LIKE are not pushed', sql: "SELECT * FROM contacts WHERE email ILIKE 'a%' AND given_name NOT LIKE 'b%'", fetches: [all('contacts')] },
    { name: 'IS NULL', sql: 'SELECT * FROM tasks WHERE priority IS NULL', fetches: [{ table: 'tasks', conditions: [{ column: 'priority', op: 'isnull' }] }] },
    { name: 'IS NOT DISTINCT FROM a value is equality', sql: 'SELECT * FROM contacts WHERE id IS NOT DISTINCT FROM 3', fetches: [{ table: 'contacts', conditions: [eq('id', 3)] }] },
    { name: 'IS NOT DISTINCT FROM NULL is IS NULL', sql: 'SELECT * FROM tasks WHERE priority IS NOT DISTINCT FROM NULL', fetches: [{ table: 'tasks', conditions: [{ column: 'priority', op: 'isnull' }] }] },
    { name: 'IS DISTINCT FROM is not pushed', sql: 'SELECT * FROM contacts WHERE id IS DISTINCT FROM 3', fetches: [all('contacts')] },
    { name: 'IS NOT NULL is not pushed', sql: 'SELECT * FROM tasks WHERE priority IS NOT NULL', fetches: [all('tasks')] },
    { name: 'a boolean column as a condition', sql: 'SELECT * FROM tasks WHERE completed AND NOT (completed IS FALSE)', fetches: [{ table: 'tasks', conditions: [eq('completed', true)] }] },
    { name: 'NOT boolean column', sql: 'SELECT * FROM tasks WHERE NOT completed', fetches: [{ table: 'tasks', conditions: [eq('completed', false)] }] },
    { name: "boolean words: 'yes'", sql: "SELECT * FROM tasks WHERE completed = 'yes'", fetches: [{ table: 'tasks', conditions: [eq('completed', true)] }] },
    { name: 'a column the API cannot filter is left to the engine', sql: "SELECT * FROM contacts WHERE job_title = 'CEO' AND id = 1", fetches: [{ table: 'contacts', conditions: [eq('id', 1)] }] },
    { name: 'an operator the API lacks falls back to a wider one', sql: "SELECT * FROM contacts WHERE update_time > '2024-05-01T10:00:00Z'", fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '>', value: '2024-05-01T10:00:00.000Z' }] }] },
    { name: 'one equality per column; other conditions on it stay with the engine', sql: 'SELECT * FROM contacts WHERE id = 1 AND id = 2 AND id > 0', fetches: [{ table: 'contacts', conditions: [eq('id', 1)] }] },
    {
      name: 'Metabase-style fully qualified column names',
      sql: 'SELECT "public"."contacts"."id" FROM "public"."contacts" WHERE "public"."contacts"."email" = \'m@b.com\'',
      fetches: [{ table: 'contacts', conditions: [eq('email', 'm@b.com')] }],
    },
    { name: 'a table name hidden by its alias does not qualify', sql: 'SELECT * FROM contacts c WHERE contacts.id = 1', fetches: [all('contacts')] },
    { name: 'unqualified columns in a USING join are not matched', sql: 'SELECT * FROM contacts JOIN orders USING (id) WHERE id = 1', fetches: [all('contacts'), all('orders')] },
    { name: 'an unqualified column found in two Keap tables is ambiguous', sql: 'SELECT * FROM contacts, orders WHERE id = 1', fetches: [all('contacts'), all('orders')] },
    { name: 'an unqualified column found in one Keap table is that table’s', sql: "SELECT * FROM contacts, orders WHERE email = 'q@r.s' AND title = 't'", fetches: [{ table: 'contacts', conditions: [eq('email', 'q@r.s')] }, { table: 'orders', conditions: [eq('title', 't')] }] },
  ]);
});

describe('planner: values the API filter syntax cannot carry are the connector’s to refuse, the SQL meaning is kept', () => {
  check([
    { name: 'quotes and separators stay inside one value', sql: "SELECT * FROM contacts WHERE email = 'a'';email==b;id==1'", fetches: [{ table: 'contacts', conditions: [eq('email', "a';email==b;id==1")] }] },
    { name: 'a parameter with SQL in it is a value, not SQL', sql: 'SELECT * FROM contacts WHERE given_name = $1', params: ["x' OR 1=1 --"], fetches: [{ table: 'contacts', conditions: [eq('given_name', "x' OR 1=1 --")] }] },
    { name: 'a prefix ending in a wildcard-like character', sql: "SELECT * FROM contacts WHERE given_name LIKE 'a*%'", fetches: [{ table: 'contacts', conditions: [{ column: 'given_name', op: 'prefix', value: 'a*' }] }] },
    { name: 'an id parameter with a filter separator is not an integer', sql: 'SELECT * FROM contacts WHERE id = $1', params: ['1;email==x'], fetches: [all('contacts')] },
    { name: 'hex integers (valid in PostgreSQL 16+) are not guessed at', sql: "SELECT * FROM contacts WHERE id = '0x10'", fetches: [all('contacts')] },
  ]);
});

describe('planner: timestamps', () => {
  check([
    { name: 'a literal with an offset is converted to UTC', sql: "SELECT * FROM contacts WHERE update_time >= '2024-01-01 10:00:00+02'", fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '>=', value: '2024-01-01T08:00:00.000Z' }] }] },
    { name: 'a date-only literal in a UTC session', sql: "SELECT * FROM contacts WHERE update_time < '2024-01-01'", fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '<', value: '2024-01-01T00:00:00.000Z' }] }] },
    { name: 'without an offset in another time zone, bounds widen by 14 hours', sql: "SELECT * FROM contacts WHERE update_time > '2024-01-01' AND update_time < '2024-02-01'", ctx: { timeZone: 'America/New_York' }, fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '>', value: '2023-12-31T10:00:00.000Z' }, { column: 'update_time', op: '<', value: '2024-02-01T14:00:00.000Z' }] }] },
    { name: 'an unknown time zone is treated like a non-UTC one', sql: "SELECT * FROM contacts WHERE update_time > '2024-01-01'", ctx: { timeZone: undefined }, fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '>', value: '2023-12-31T10:00:00.000Z' }] }] },
    { name: '::timestamp ignores a written offset', sql: "SELECT * FROM contacts WHERE update_time > '2024-01-01 00:00+05'::timestamp", fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '>', value: '2024-01-01T00:00:00.000Z' }] }] },
    { name: 'a Bind parameter in ISO form (node-postgres)', sql: 'SELECT * FROM contacts WHERE update_time < $1', params: ['2030-01-01T00:00:00.000+00:00'], ctx: { timeZone: 'Europe/Paris' }, fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '<', value: '2030-01-01T00:00:00.000Z' }] }] },
    { name: "special values like 'now' are not pushed", sql: "SELECT * FROM contacts WHERE update_time > 'now'", fetches: [all('contacts')] },
    { name: 'DateStyle-dependent formats are not pushed', sql: "SELECT * FROM contacts WHERE update_time > '01/02/2024'", fetches: [all('contacts')] },
    { name: 'an impossible date is not pushed', sql: "SELECT * FROM contacts WHERE update_time > '2024-02-30'", fetches: [all('contacts')] },
    { name: 'microseconds round outwards', sql: "SELECT * FROM contacts WHERE update_time < '2024-01-01T00:00:00.000001Z'", fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '<', value: '2024-01-01T00:00:00.001Z' }] }] },
    { name: 'now() is not a constant', sql: "SELECT * FROM contacts WHERE update_time > now() - interval '1 day'", fetches: [all('contacts')] },
    {
      name: "Superset's TO_TIMESTAMP(literal, format) reads like a literal without offset",
      sql: "SELECT count(*) FROM contacts WHERE update_time >= TO_TIMESTAMP('2024-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US') AND update_time < TO_TIMESTAMP('2024-04-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')",
      ctx: { timeZone: 'Europe/Berlin' },
      fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '>=', value: '2023-12-31T10:00:00.000Z' }, { column: 'update_time', op: '<', value: '2024-04-01T14:00:00.000Z' }] }],
    },
    { name: 'TO_TIMESTAMP with another format is not pushed', sql: "SELECT * FROM contacts WHERE update_time >= TO_TIMESTAMP('01/02/2024', 'MM/DD/YYYY')", fetches: [all('contacts')] },
    {
      name: "Metabase's timestamp with time zone literals",
      sql: `SELECT "public"."contacts"."id" FROM "public"."contacts" WHERE ("public"."contacts"."update_time" >= timestamp with time zone '2024-01-01 00:00:00.000Z') AND ("public"."contacts"."update_time" < timestamp with time zone '2024-02-01 00:00:00.000Z') LIMIT 2000`,
      fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '>=', value: '2024-01-01T00:00:00.000Z' }, { column: 'update_time', op: '<', value: '2024-02-01T00:00:00.000Z' }] }],
    },
    { name: 'Grafana time filter (BETWEEN with ISO literals)', sql: "SELECT update_time AS time FROM contacts WHERE update_time BETWEEN '2024-03-01T00:00:00Z' AND '2024-03-02T00:00:00Z'", fetches: [{ table: 'contacts', conditions: [{ column: 'update_time', op: '>=', value: '2024-03-01T00:00:00.000Z' }, { column: 'update_time', op: '<=', value: '2024-03-02T00:00:00.000Z' }] }] },
  ]);
});

describe('planner: joins', () => {
  check([
    {
      name: 'inner join: ON and WHERE conditions apply to both sides',
      sql: "SELECT * FROM contacts c JOIN orders o ON o.contact_id = c.id AND o.title = 'x' WHERE c.id = 5",
      fetches: [{ table: 'contacts', conditions: [eq('id', 5)] }, { table: 'orders', conditions: [eq('title', 'x'), eq('contact_id', 5)] }],
    },
    {
      name: 'LEFT JOIN: an ON condition on the nullable side is pushed (its other rows never match)',
      sql: "SELECT * FROM orders o LEFT JOIN contacts c ON c.id = o.contact_id AND c.email = 'x'",
      fetches: [all('orders'), { table: 'contacts', conditions: [eq('email', 'x')] }],
    },
    {
      name: 'LEFT JOIN: an ON condition on the preserved side is not pushed',
      sql: 'SELECT * FROM orders o LEFT JOIN contacts c ON c.id = o.contact_id AND o.id = 1',
      fetches: [all('orders'), all('contacts')],
    },
    {
      name: 'LEFT JOIN: a strict WHERE condition on the nullable side is pushed',
      sql: "SELECT * FROM orders o LEFT JOIN contacts c ON c.id = o.contact_id WHERE c.email = 'x' AND o.id = 2",
      fetches: [{ table: 'orders', conditions: [eq('id', 2)] }, { table: 'contacts', conditions: [eq('email', 'x')] }],
    },
    {
      name: 'LEFT JOIN: IS NULL in WHERE on the nullable side is an anti-join, not pushed',
      sql: 'SELECT * FROM contacts c LEFT JOIN tasks t ON t.contact_id = c.id WHERE t.priority IS NULL',
      fetches: [all('contacts'), all('tasks')],
    },
    {
      name: 'LEFT JOIN: IS NULL in ON on the nullable side is pushed',
      sql: 'SELECT * FROM contacts c LEFT JOIN tasks t ON t.contact_id = c.id AND t.priority IS NULL',
      fetches: [all('contacts'), { table: 'tasks', conditions: [{ column: 'priority', op: 'isnull' }] }],
    },
    {
      name: 'RIGHT JOIN mirrors LEFT JOIN',
      sql: 'SELECT * FROM tasks t RIGHT JOIN contacts c ON t.contact_id = c.id AND t.id = 4 AND c.id = 5',
      fetches: [{ table: 'tasks', conditions: [eq('id', 4), eq('contact_id', 5)] }, all('contacts')],
    },
    {
      name: 'FULL JOIN: ON conditions are pushed to neither side',
      sql: 'SELECT * FROM tasks t FULL JOIN contacts c ON t.contact_id = c.id AND t.id = 4 AND c.id = 5',
      fetches: [all('tasks'), all('contacts')],
    },
    {
      name: 'a nested outer join inside an ON keeps IS NULL out',
      sql: 'SELECT * FROM orders o LEFT JOIN (contacts c LEFT JOIN tasks t ON t.contact_id = c.id) ON c.id = o.contact_id AND t.priority IS NULL',
      fetches: [all('orders'), all('contacts'), all('tasks')],
    },
    {
      name: 'an equality carries a condition across an inner join',
      sql: 'SELECT * FROM contacts c JOIN orders o ON o.contact_id = c.id WHERE c.id = 5',
      fetches: [{ table: 'contacts', conditions: [eq('id', 5)] }, { table: 'orders', conditions: [eq('contact_id', 5)] }],
    },
    {
      name: 'a WHERE equality carries an IN list both ways',
      sql: 'SELECT * FROM contacts c, orders o WHERE o.contact_id = c.id AND o.contact_id IN (1, 2)',
      fetches: [
        { table: 'contacts', conditions: [{ column: 'id', op: 'in', values: [1, 2] }] },
        { table: 'orders', conditions: [eq('contact_id', 1)] },
        { table: 'orders', conditions: [eq('contact_id', 2)] },
      ],
    },
    {
      name: "a LEFT JOIN's ON equality carries nothing to the preserved side",
      sql: 'SELECT * FROM contacts c LEFT JOIN orders o ON o.contact_id = c.id AND o.contact_id = 5',
      fetches: [all('contacts'), { table: 'orders', conditions: [eq('contact_id', 5)] }],
    },
    {
      name: "a LEFT JOIN's ON equality carries WHERE conditions of the preserved side to the nullable side",
      sql: 'SELECT * FROM contacts c LEFT JOIN orders o ON o.contact_id = c.id WHERE c.id = 5',
      fetches: [{ table: 'contacts', conditions: [eq('id', 5)] }, { table: 'orders', conditions: [eq('contact_id', 5)] }],
    },
    {
      name: "… and conditions on the preserved side from the same ON",
      sql: 'SELECT * FROM contacts c LEFT JOIN orders o ON o.contact_id = c.id AND c.id IN (5, 6)',
      fetches: [all('contacts'), { table: 'orders', conditions: [eq('contact_id', 5)] }, { table: 'orders', conditions: [eq('contact_id', 6)] }],
    },
    {
      name: 'RIGHT JOIN: from the preserved right side to the left',
      sql: 'SELECT * FROM orders o RIGHT JOIN contacts c ON o.contact_id = c.id WHERE c.id = 5',
      fetches: [{ table: 'orders', conditions: [eq('contact_id', 5)] }, { table: 'contacts', conditions: [eq('id', 5)] }],
    },
    {
      name: 'FULL JOIN equalities carry nothing',
      sql: 'SELECT * FROM contacts c FULL JOIN orders o ON o.contact_id = c.id AND c.id = 5',
      fetches: [all('contacts'), all('orders')],
    },
    {
      name: 'an equality between columns of different types carries nothing',
      sql: "SELECT * FROM contacts c JOIN orders o ON o.title = c.id::text WHERE c.id = 5",
      fetches: [{ table: 'contacts', conditions: [eq('id', 5)] }, all('orders')],
    },
    {
      name: 'a join alias hides the inner names',
      sql: 'SELECT * FROM (contacts c JOIN orders o ON o.contact_id = c.id) AS j WHERE c.id = 1',
      fetches: [all('contacts'), all('orders')],
    },
  ]);
});

describe('planner: LIMIT, ORDER BY and count(*)', () => {
  check([
    { name: 'LIMIT on a single table with nothing left for the engine', sql: 'SELECT * FROM contacts LIMIT 10', fetches: [{ table: 'contacts', conditions: [], limit: 10 }] },
    { name: 'LIMIT with OFFSET pushes limit+offset', sql: 'SELECT * FROM contacts LIMIT 10 OFFSET 5', fetches: [{ table: 'contacts', conditions: [], limit: 15 }] },
    { name: 'FETCH FIRST n ROWS ONLY', sql: 'SELECT * FROM contacts FETCH FIRST 3 ROWS ONLY', fetches: [{ table: 'contacts', conditions: [], limit: 3 }] },
    { name: 'FETCH FIRST … WITH TIES is not pushed', sql: 'SELECT * FROM contacts ORDER BY id FETCH FIRST 3 ROWS WITH TIES', fetches: [all('contacts')] },
    { name: 'LIMIT as a bound parameter', sql: 'SELECT * FROM contacts WHERE id > $1 ORDER BY id LIMIT $2', params: ['100', '20'], fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: '>', value: 100 }], orderBy: { column: 'id', direction: 'asc' }, limit: 20 }] },
    { name: 'ORDER BY a non-null sortable column', sql: 'SELECT * FROM contacts ORDER BY id DESC LIMIT 5', fetches: [{ table: 'contacts', conditions: [], orderBy: { column: 'id', direction: 'desc' }, limit: 5 }] },
    { name: 'ORDER BY a text column (collations differ) is not pushed', sql: 'SELECT * FROM contacts ORDER BY email LIMIT 5', fetches: [all('contacts')] },
    { name: 'ORDER BY a nullable column is not pushed (NULLS ordering differs)', sql: 'SELECT * FROM contacts ORDER BY update_time LIMIT 5', fetches: [all('contacts')] },
    { name: 'ORDER BY an output column that shadows a table column is not pushed', sql: 'SELECT id::text FROM contacts ORDER BY id LIMIT 5', fetches: [all('contacts')] },
    { name: 'ORDER BY an alias of another expression is not pushed', sql: 'SELECT email AS id FROM contacts ORDER BY id LIMIT 5', fetches: [all('contacts')] },
    { name: 'ORDER BY a qualified column ignores output names', sql: 'SELECT id::text FROM contacts c ORDER BY c.id LIMIT 5', fetches: [{ table: 'contacts', conditions: [], orderBy: { column: 'id', direction: 'asc' }, limit: 5 }] },
    { name: 'ORDER BY two columns is not pushed', sql: 'SELECT * FROM contacts ORDER BY id, email LIMIT 5', fetches: [all('contacts')] },
    { name: 'ORDER BY a column the API cannot sort by is not pushed', sql: 'SELECT * FROM appointments ORDER BY id LIMIT 5', fetches: [all('appointments')] },
    { name: 'a condition left for the engine prevents LIMIT', sql: "SELECT * FROM contacts WHERE job_title = 'x' LIMIT 5", fetches: [all('contacts')] },
    { name: 'an inexact pushed condition (text) prevents LIMIT', sql: "SELECT * FROM contacts WHERE email = 'x' LIMIT 5", fetches: [{ table: 'contacts', conditions: [eq('email', 'x')] }] },
    { name: 'an exact integer condition allows LIMIT', sql: 'SELECT * FROM contacts WHERE id IN (1, 2, 3) LIMIT 2', fetches: [{ table: 'contacts', conditions: [{ column: 'id', op: 'in', values: [1, 2, 3] }], limit: 2 }] },
    { name: 'aggregates prevent LIMIT', sql: 'SELECT max(id) FROM contacts LIMIT 1', fetches: [all('contacts')] },
    { name: 'DISTINCT prevents LIMIT', sql: 'SELECT DISTINCT given_name FROM contacts LIMIT 5', fetches: [all('contacts')] },
    { name: 'window functions prevent LIMIT', sql: 'SELECT row_number() OVER () FROM contacts LIMIT 5', fetches: [all('contacts')] },
    { name: 'set-returning functions prevent LIMIT', sql: 'SELECT unnest(tag_ids) FROM contacts LIMIT 5', fetches: [all('contacts')] },
    { name: 'scalar functions keep LIMIT', sql: 'SELECT lower(email), id + 1 FROM contacts LIMIT 5', fetches: [{ table: 'contacts', conditions: [], limit: 5 }] },
    { name: 'a join prevents LIMIT', sql: 'SELECT * FROM contacts c JOIN orders o ON o.contact_id = c.id LIMIT 5', fetches: [all('contacts'), all('orders')] },
    { name: 'GROUP BY prevents LIMIT', sql: 'SELECT given_name FROM contacts GROUP BY given_name LIMIT 5', fetches: [all('contacts')] },
    { name: 'a LIMIT inside a subquery applies to that reference', sql: 'SELECT * FROM (SELECT * FROM tags LIMIT 3) t JOIN orders o ON true', fetches: [{ table: 'tags', conditions: [], limit: 3 }, all('orders')] },
    { name: 'LIMIT ALL is no limit', sql: 'SELECT * FROM contacts LIMIT ALL', fetches: [all('contacts')] },
    { name: 'Metabase row sample', sql: 'SELECT "public"."contacts"."id" AS "id" FROM "public"."contacts" LIMIT 10000', fetches: [{ table: 'contacts', conditions: [], limit: 10000 }] },
    { name: 'count(*) with only pushed conditions uses the API count', sql: 'SELECT count(*) FROM appointments WHERE contact_id = 7', fetches: [{ table: 'appointments', conditions: [eq('contact_id', 7)], countOnly: true }] },
    { name: 'count(*) of a whole table', sql: 'SELECT COUNT(*) FROM public.transactions', fetches: [{ table: 'transactions', conditions: [], countOnly: true }] },
    { name: 'count(*) where the API cannot count', sql: 'SELECT count(*) FROM users', fetches: [all('users')] },
    { name: 'count(*) with a condition left for the engine', sql: "SELECT count(*) FROM appointments WHERE title = 'x'", fetches: [all('appointments')] },
    { name: 'count(*) with GROUP BY', sql: 'SELECT contact_id, count(*) FROM appointments GROUP BY contact_id', fetches: [all('appointments')] },
    { name: 'count(*) in a subquery is not count-only', sql: 'SELECT (SELECT count(*) FROM appointments)', fetches: [all('appointments')] },
    { name: 'count-only beside another reference to the table loads rows', sql: 'SELECT count(*) FROM appointments; SELECT * FROM appointments WHERE contact_id = 1', fetches: [all('appointments'), { table: 'appointments', conditions: [eq('contact_id', 1)] }] },
  ]);
});

describe('planner: writes to Keap tables are refused', () => {
  const rejected = [
    ["INSERT INTO users (email) VALUES ('x')", 'INSERT'],
    ['UPDATE users SET email = NULL', 'UPDATE'],
    ['DELETE FROM public.users WHERE id = 1', 'DELETE'],
    ['DELETE FROM payments', 'DELETE'],
    ['INSERT INTO contact_tags (contact_id, tag_id) VALUES (1, 2) ON CONFLICT (contact_id, tag_id) DO UPDATE SET tag_id = 2', 'INSERT'],
    ['TRUNCATE contacts', 'TRUNCATE'],
    ['MERGE INTO contacts c USING mine m ON m.id = c.id WHEN MATCHED THEN DELETE', 'MERGE'],
    ['ALTER TABLE contacts ADD COLUMN x int', 'ALTER TABLE'],
    ['ALTER TABLE contacts RENAME TO people', 'RENAME'],
    ['DROP TABLE IF EXISTS mine, contacts', 'DROP'],
    ['CREATE INDEX ON contacts (email)', 'CREATE INDEX'],
    ["COMMENT ON TABLE contacts IS 'x'", 'COMMENT'],
    ["COMMENT ON COLUMN public.contacts.email IS 'x'", 'COMMENT'],
    ['GRANT SELECT ON contacts TO someone', 'GRANT'],
    ['COPY contacts FROM STDIN', 'COPY'],
    ['WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d', 'DELETE'],
    ['SELECT 1; UPDATE campaigns SET name = 1', 'UPDATE'],
    ['EXPLAIN ANALYZE DELETE FROM users', 'DELETE'],
    ['PREPARE w AS DELETE FROM users', 'DELETE'],
    ['CREATE TRIGGER t BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION f()', 'TRIGGER'],
    ["DO $$ BEGIN DELETE FROM contacts; END $$", 'DO'],
    ['DROP SCHEMA public CASCADE', 'DROP SCHEMA'],
  ] as const;
  for (const [sql, action] of rejected) {
    it(`refuses: ${sql}`, async () => {
      const plan = await planSql(sql, undefined, base);
      assert.ok(plan.rejection, 'expected a rejection');
      assert.equal(plan.rejection.sqlstate, '0A000');
      if (/ON CONFLICT/.test(sql)) assert.match(plan.rejection.message, /ON CONFLICT DO UPDATE/);
      else {
        assert.match(plan.rejection.message, /^Keap table "\w+" is read-only$/);
        assert.ok(plan.rejection.detail?.includes(action), plan.rejection.detail);
      }
      assert.ok(plan.rejection.hint);
      assert.deepEqual(plan.fetches, []);
    });
  }
  const allowed = [
    'CREATE TEMP TABLE mine (id bigint)',
    'INSERT INTO mine VALUES (1)',
    'UPDATE mine SET id = 2',
    'DELETE FROM crm.contacts',
    'TRUNCATE mine',
    'DROP TABLE mine',
    'CREATE INDEX ON mine (id)',
    'EXPLAIN DELETE FROM contacts',
    'VACUUM contacts',
    'ANALYZE contacts',
    'LOCK TABLE contacts IN ACCESS SHARE MODE',
    'CREATE VIEW v AS SELECT * FROM contacts',
    'SET search_path = crm; DELETE FROM contacts',
  ];
  for (const sql of allowed) {
    it(`allows: ${sql}`, async () => {
      const plan = await planSql(sql, undefined, base);
      assert.equal(plan.rejection, undefined);
    });
  }
  it('a write through a view on a Keap table is refused', async () => {
    const plan = await planSql("UPDATE v SET email = 'x'", undefined, { ...base, views: new Map([['v', 'CREATE VIEW v AS SELECT * FROM contacts']]) });
    assert.equal(plan.rejection?.sqlstate, '0A000');
    assert.equal(plan.rejection?.message, 'Keap table "contacts" is read-only');
  });
  it('a call to a user function that writes to a Keap table is refused', async () => {
    const functions = new Map([['purge', 'CREATE FUNCTION purge() RETURNS void LANGUAGE sql AS $$ DELETE FROM public.tags $$']]);
    const plan = await planSql('SELECT purge()', undefined, { ...base, functions });
    assert.equal(plan.rejection?.message, 'Keap table "tags" is read-only');
  });
  it('a write Keap takes is planned as a write, its target fetched with the WHERE clause pushed down', async () => {
    const plan = await planSql('UPDATE contacts SET given_name = $1 WHERE id = $2', ['Ann', '5'], base);
    assert.equal(plan.rejection, undefined);
    assert.deepEqual(plan.writes, [{ table: 'contacts', op: 'update' }]);
    assert.deepEqual(plan.fetches, [{ table: 'contacts', conditions: [eq('id', 5)] }]);
    const del = await planSql('DELETE FROM notes n WHERE n.contact_id = 7', undefined, base);
    assert.deepEqual(del.writes, [{ table: 'notes', op: 'delete' }]);
    assert.deepEqual(del.fetches, [{ table: 'notes', conditions: [eq('contact_id', 7)] }]);
    const ins = await planSql('INSERT INTO contact_tags (contact_id, tag_id) SELECT id, 4 FROM contacts WHERE id < 10 ON CONFLICT DO NOTHING', undefined, base);
    assert.deepEqual(ins.writes, [{ table: 'contact_tags', op: 'insert', onConflictNothing: true }]);
    assert.deepEqual(ins.fetches.map((f) => f.table), ['contacts']);
    const prepared = await planSql("PREPARE w AS UPDATE tags SET name = 'x' WHERE id = 1", undefined, base);
    assert.equal(prepared.writes, undefined, 'PREPARE writes nothing');
    assert.equal(prepared.rejection, undefined);
  });
  it('a write to a column Keap cannot take is refused naming the column', async () => {
    const plan = await planSql('UPDATE contacts SET create_time = now() WHERE id = 1', undefined, base);
    assert.equal(plan.rejection?.sqlstate, '0A000');
    assert.equal(plan.rejection?.message, 'column "create_time" of Keap table "contacts" cannot be written by UPDATE');
    const insertOnly = await planSql("UPDATE contacts SET email = 'a@b.cd' WHERE id = 1", undefined, base);
    assert.match(insertOnly.rejection?.message ?? '', /column "email"/);
  });
  it('a temporary table shadowing a Keap table is writable', async () => {
    const plan = await planSql('INSERT INTO contacts VALUES (1)', undefined, { ...base, tempRelations: new Set(['contacts']) });
    assert.equal(plan.rejection, undefined);
  });
});

describe('planner: session definitions', () => {
  it('PREPARE, views and DEALLOCATE are reported in order and apply to the session state', async () => {
    await loadParser();
    const sql = `PREPARE q(int) AS SELECT * FROM contacts WHERE id = $1;
      CREATE OR REPLACE VIEW crm.v AS SELECT * FROM tags;
      CREATE MATERIALIZED VIEW mv AS SELECT * FROM orders;
      DEALLOCATE old; DROP VIEW crm.v`;
    const defs = sessionDefinitions(sql);
    assert.deepEqual(
      defs.map((d) => [d.kind, 'name' in d ? d.name : undefined]),
      [['prepare', 'q'], ['view', 'crm.v'], ['view', 'mv'], ['deallocate', 'old'], ['drop-view', 'crm.v']],
    );
    const state = { preparedStatements: new Map([['old', 'PREPARE old AS SELECT 1']]), views: new Map<string, string>() };
    applySessionDefinitions(state, defs);
    assert.deepEqual([...state.preparedStatements.keys()], ['q']);
    assert.deepEqual([...state.views.keys()], ['mv']);
    const plan = await planSql("EXECUTE q('8'); SELECT * FROM mv", undefined, { ...base, ...state });
    assert.deepEqual(plan.fetches, [{ table: 'contacts', conditions: [eq('id', 8)] }, all('orders')]);
    applySessionDefinitions(state, sessionDefinitions('DISCARD ALL'));
    assert.equal(state.preparedStatements.size, 0);
  });

  it('mergeBatchPlans unions executions and keeps a rejection', () => {
    const a: BatchPlan = { fetches: [{ table: 'contacts', conditions: [eq('id', 1)] }] };
    const b: BatchPlan = { fetches: [{ table: 'contacts', conditions: [eq('id', 1)] }, all('tags')] };
    assert.deepEqual(mergeBatchPlans([a, b]).fetches, [{ table: 'contacts', conditions: [eq('id', 1)] }, all('tags')]);
    const r: BatchPlan = { fetches: [], rejection: { sqlstate: '0A000', message: 'x' } };
    assert.equal(mergeBatchPlans([a, r]).rejection?.sqlstate, '0A000');
  });
});

describe('planner: speed', () => {
  it('plans a typical BI query well under a millisecond once parsed', async () => {
    await loadParser();
    const sql = `SELECT c.id, c.email, count(o.id) AS orders FROM contacts c LEFT JOIN orders o ON o.contact_id = c.id
      WHERE c.update_time >= $1 AND c.email LIKE 'a%' GROUP BY c.id, c.email ORDER BY 3 DESC LIMIT 100`;
    const params = ['2024-01-01T00:00:00Z'];
    for (let i = 0; i < 500; i++) planSqlSync(sql, params, base); // let the JIT settle
    const n = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) planSqlSync(sql, params, base);
    const perPlanMs = Number(process.hrtime.bigint() - t0) / 1e6 / n;
    // measured 0.02–0.08 ms (0.2 ms with the machine's 2 cores fully loaded); the bound is the requirement
    assert.ok(perPlanMs < 1, `${perPlanMs} ms per plan`);
  });
});

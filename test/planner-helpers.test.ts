// The planner's small pieces on their own: LIKE prefixes, array literals, search paths, the parse cache,
// value coercion by column type, and the scan of procedural bodies for writes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { likePrefix } from '../src/planner/filter-pushdown.js';
import { parseArrayLiteral } from '../src/planner/conjunct-analysis.js';
import { normaliseSearchPath } from '../src/planner/context.js';
import { LruCache, loadParser, parseSqlCached } from '../src/planner/parse-cache.js';
import { coerceValue, type ValueExpr } from '../src/planner/value-coercion.js';
import { bodyMentions, bodyWrites } from '../src/planner/write-guard.js';
import { fallbackPlan } from '../src/planner/plan-sql.js';
import { loadCatalog } from '../src/schema/load.js';
import type { ColumnSchema } from '../src/schema/types.js';

describe('planner helpers', () => {
  it('likePrefix: text before the first wildcard, escapes honoured', () => {
    assert.deepEqual(likePrefix('abc%'), { text: 'abc', wildcard: true });
    assert.deepEqual(likePrefix('ab_c%'), { text: 'ab', wildcard: true });
    assert.deepEqual(likePrefix('a\\%b%'), { text: 'a%b', wildcard: true });
    assert.deepEqual(likePrefix('exact'), { text: 'exact', wildcard: false });
    assert.equal(likePrefix('%x'), undefined);
    assert.equal(likePrefix('_x'), undefined);
    assert.equal(likePrefix('abc\\'), undefined); // a trailing escape is an error in PostgreSQL
  });

  it('parseArrayLiteral: simple one-dimensional literals only', () => {
    assert.deepEqual(parseArrayLiteral('{1,2,3}'), ['1', '2', '3']);
    assert.deepEqual(parseArrayLiteral('{}'), []);
    assert.deepEqual(parseArrayLiteral('{a, NULL ,"b,c","d\\"e"}'), ['a', null, 'b,c', 'd"e']);
    assert.deepEqual(parseArrayLiteral('{"NULL"}'), ['NULL']);
    assert.equal(parseArrayLiteral('{{1,2},{3,4}}'), undefined);
    assert.equal(parseArrayLiteral('[1:2]={1,2}'), undefined);
    assert.equal(parseArrayLiteral('{1,,2}'), undefined);
    assert.equal(parseArrayLiteral('{"open}'), undefined);
  });

  it('normaliseSearchPath: quotes, case folding, comma lists', () => {
    assert.deepEqual(normaliseSearchPath(['"$user"', 'public']), ['$user', 'public']);
    assert.deepEqual(normaliseSearchPath(['"$user", Public, "My ""S"""']), ['$user', 'public', 'My "S"']);
  });

  it('LruCache evicts the least recently used entry', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    assert.equal(c.get('a'), 1);
    c.set('c', 3);
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('a'), 1);
    assert.equal(c.get('c'), 3);
    assert.equal(c.size, 2);
  });

  it('LruCache also evicts by total weight, keeping the newest entry', () => {
    const c = new LruCache<string, number>(10, 100);
    c.set('a', 1, 60);
    c.set('b', 2, 30);
    c.set('c', 3, 30);
    assert.equal(c.get('a'), undefined);
    assert.equal(c.get('b'), 2);
    c.set('huge', 4, 500);
    assert.equal(c.size, 1);
    assert.equal(c.get('huge'), 4);
  });

  it('parseSqlCached: statements with their own text; a syntax error is undefined, and cached as such', async () => {
    await loadParser();
    const parsed = parseSqlCached("SELECT 'é'; -- x\nSELECT 2");
    assert.deepEqual(parsed?.map((p) => p.text), ["SELECT 'é'", 'SELECT 2']);
    assert.equal(parseSqlCached('SELEC 1'), undefined);
    assert.equal(parseSqlCached('SELEC 1'), undefined);
    assert.equal(parseSqlCached('SELECT 1'), parseSqlCached('SELECT 1'), 'same text, same cached tree');
  });

  const col = (type: ColumnSchema['type']): ColumnSchema => ({ name: 'c', type, path: 'c', description: '' });
  const str = (text: string, cast?: string): ValueExpr => ({ raw: { kind: 'string', text }, cast });
  const utc = { utc: true };

  it('coerceValue follows PostgreSQL input rules per column type', () => {
    assert.deepEqual(coerceValue(str(' 42 '), col('bigint'), 'exact', utc), { value: 42, widened: false });
    assert.equal(coerceValue(str('2147483648'), col('integer'), 'exact', utc), undefined, 'beyond int4');
    assert.deepEqual(coerceValue(str('2147483648'), col('bigint'), 'exact', utc), { value: 2147483648, widened: false });
    assert.equal(coerceValue(str('1e3'), col('bigint'), 'exact', utc), undefined);
    assert.equal(coerceValue(str('1_000'), col('bigint'), 'exact', utc), undefined);
    assert.deepEqual(coerceValue({ raw: { kind: 'decimal', text: '-2.5' } }, col('bigint'), 'lower', utc), { value: -3, widened: false });
    assert.deepEqual(coerceValue({ raw: { kind: 'decimal', text: '-2.5' } }, col('bigint'), 'upper', utc), { value: -2, widened: false });
    assert.deepEqual(coerceValue({ raw: { kind: 'decimal', text: '3.000' } }, col('bigint'), 'exact', utc), { value: 3, widened: false });
    assert.deepEqual(coerceValue(str('0.1'), col('numeric'), 'exact', utc), { value: 0.1, widened: false });
    assert.deepEqual(coerceValue(str('12345678901234567890.5'), col('numeric'), 'exact', utc), { value: '12345678901234567890.5', widened: false });
    assert.equal(coerceValue(str('NaN'), col('double precision'), 'exact', utc), undefined);
    assert.deepEqual(coerceValue(str('OFF'), col('boolean'), 'exact', utc), { value: false, widened: false });
    assert.equal(coerceValue(str('maybe'), col('boolean'), 'exact', utc), undefined);
    assert.deepEqual(coerceValue(str('x', 'varchar'), col('text'), 'exact', utc), { value: 'x', widened: false });
    assert.equal(coerceValue({ raw: { kind: 'integer', text: '1' } }, col('text'), 'exact', utc), undefined);
    assert.equal(coerceValue(str('x', 'bpchar'), col('text'), 'exact', utc), undefined);
    assert.deepEqual(coerceValue(str('2024-02-29'), col('date'), 'exact', utc), { value: '2024-02-29', widened: false });
    assert.equal(coerceValue(str('2023-02-29'), col('date'), 'exact', utc), undefined);
    assert.equal(coerceValue(str('2024-01-01 10:00'), col('timestamptz'), 'exact', { utc: false }), undefined, 'exact needs a zone');
    assert.deepEqual(coerceValue(str('2024-01-01 10:00:00.5-03:30'), col('timestamptz'), 'exact', { utc: false }), { value: '2024-01-01T13:30:00.500Z', widened: false });
    assert.equal(coerceValue(str('2024-01-01 24:00'), col('timestamptz'), 'lower', utc), undefined);
    assert.equal(coerceValue(str('infinity'), col('timestamptz'), 'lower', utc), undefined);
    assert.equal(coerceValue(str('x'), col('jsonb'), 'exact', utc), undefined);
  });

  it('fallbackPlan loads every Keap table the text names, in full', async () => {
    await loadParser();
    const ctx = { catalog: loadCatalog(), searchPath: ['public'] };
    assert.deepEqual(fallbackPlan('SELECT * FROM "contacts" c JOIN Orders o ON true WHERE c.email = \'tags\'', ctx).fetches, [
      { table: 'contacts', conditions: [] },
      { table: 'orders', conditions: [] },
    ]);
  });

  it('bodyWrites / bodyMentions find Keap tables in procedural code', () => {
    const tables = ['contacts', 'tags'];
    assert.equal(bodyWrites('BEGIN DELETE FROM public.contacts WHERE id = 1; END', tables), 'contacts');
    assert.equal(bodyWrites('begin update "tags" set name = 1; end', tables), 'tags');
    assert.equal(bodyWrites('BEGIN INSERT INTO my_contacts SELECT * FROM contacts; END', tables), undefined);
    assert.deepEqual(bodyMentions('SELECT * FROM contacts_x, tags', tables), ['tags']);
  });
});

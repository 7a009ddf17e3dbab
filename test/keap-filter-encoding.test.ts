import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFilter, encodeOrder } from '../src/keap/filter-encoding.js';
import type { PushedCondition } from '../src/planner/types.js';
import type { TableSchema } from '../src/schema/types.js';

const contactsV2: TableSchema = {
  name: 'contacts',
  description: '',
  source: { version: 2, path: '/v2/contacts', listKey: 'contacts', pageSizeMax: 1000 },
  primaryKey: ['id'],
  foreignKeys: [],
  columns: [
    { name: 'id', type: 'bigint', path: 'id', description: '' },
    { name: 'email', type: 'text', path: 'email', description: '' },
  ],
  filters: [
    { column: 'id', ops: ['=', 'in', '<', '<=', '>', '>='], param: 'ids', params: { '<': 'contact_id', '<=': 'contact_id', '>': 'contact_id', '>=': 'contact_id' }, format: 'id', maxList: 3 },
    { column: 'email', ops: ['=', 'prefix', 'isnull'], param: 'email' },
    { column: 'given_name', ops: ['='], param: 'given_name' },
    { column: 'update_time', ops: ['>', '>=', '<', '<='], param: 'start_update_time', params: { '<': 'end_update_time', '<=': 'end_update_time' }, wireOps: { '>': '==', '>=': '==', '<': '==', '<=': '==' }, format: 'iso_timestamp' },
    { column: 'birth_date', ops: ['='], param: 'birth_date', format: 'date' },
    { column: 'active', ops: ['='], param: 'active', format: 'boolean' },
  ],
  sort: [{ column: 'id', param: 'id' }],
};

const contactsV1: TableSchema = {
  ...contactsV2,
  source: { version: 1, path: '/v1/contacts', listKey: 'contacts', pageSizeMax: 1000 },
  filters: [
    { column: 'email', ops: ['='], param: 'email' },
    { column: 'update_time', ops: ['>=', '<='], param: 'since', params: { '<=': 'until' }, format: 'iso_timestamp' },
  ],
  sort: [{ column: 'id', param: 'id' }],
};

const eq = (column: string, value: PushedCondition['value']): PushedCondition => ({ column, op: '=', value });

test('v2 equality, ranges and lists become one filter= expression joined by ;', () => {
  const enc = encodeFilter(contactsV2, [
    eq('email', 'ann@example.com'),
    { column: 'id', op: '>=', value: '100' },
    { column: 'id', op: '<', value: 200 },
  ]);
  assert.deepEqual(enc.query, { filter: 'email==ann@example.com;contact_id>=100;contact_id<200' });
  assert.equal(enc.dropped.length, 0);
});

test('v2 IN on ids is one ids== list; duplicates collapse; NULLs are left out', () => {
  const enc = encodeFilter(contactsV2, [{ column: 'id', op: 'in', values: ['3', 1, null, '3'] }]);
  assert.deepEqual(enc.query, { filter: 'ids==3,1' });
});

test('v2 IN longer than maxList is not pushed', () => {
  const enc = encodeFilter(contactsV2, [{ column: 'id', op: 'in', values: ['1', '2', '3', '4'] }]);
  assert.deepEqual(enc.query, {});
  assert.equal(enc.dropped.length, 1);
});

test('v2 prefix gets a trailing *, IS NULL becomes NONE', () => {
  assert.deepEqual(encodeFilter(contactsV2, [{ column: 'email', op: 'prefix', value: 'ann' }]).query, { filter: 'email==ann*' });
  assert.deepEqual(encodeFilter(contactsV2, [{ column: 'email', op: 'isnull' }]).query, { filter: 'email==NONE' });
});

test('hostile v2 values are never pushed: ; == * , < > ! NONE, spaces at the ends, control characters', () => {
  const hostile = ['a;b', 'a==b', 'a=b', 'ann*', 'a,b', 'a<b', 'a>b', 'a!b', 'NONE', 'none', ' ann', 'ann ', 'a\nb', 'a\u0000', '', 'x'.repeat(600), 'a%b', 'a\\b', '\ud800'];
  for (const v of hostile) {
    const enc = encodeFilter(contactsV2, [eq('email', v)]);
    assert.deepEqual(enc.query, {}, `value ${JSON.stringify(v)} must not be pushed`);
    assert.deepEqual(enc.dropped, [eq('email', v)]);
  }
  // a hostile member spoils the whole list
  assert.deepEqual(encodeFilter(contactsV2, [{ column: 'id', op: 'in', values: ['1', '2;ids==3'] }]).query, {});
});

test('quotes and unicode are pushed as they are (URL encoding keeps them intact)', () => {
  for (const v of ["o'brien@example.com", '"quoted"', 'zoë@exämple.com', '山田', '😀']) {
    assert.deepEqual(encodeFilter(contactsV2, [eq('email', v)]).query, { filter: `email==${v}` });
  }
});

test('ids must be plain non-negative integers', () => {
  for (const v of ['12', 12, '0']) assert.equal(encodeFilter(contactsV2, [eq('id', v)]).dropped.length, 0, String(v));
  for (const v of ['012', '-1', '1.5', 1.5, 'abc', '1e3', '99999999999999999999', true]) {
    assert.equal(encodeFilter(contactsV2, [eq('id', v)]).dropped.length, 1, String(v));
  }
});

test('timestamps: written as ISO with millis in UTC; window parameters carry the bound with ==', () => {
  const enc = encodeFilter(contactsV2, [
    { column: 'update_time', op: '>=', value: '2024-01-02 03:04:05.678+02' },
    { column: 'update_time', op: '<', value: '2024-02-01T00:00:00Z' },
  ]);
  assert.deepEqual(enc.query, { filter: 'start_update_time==2024-01-02T01:04:05.678Z;end_update_time==2024-02-01T00:00:00.000Z' });
});

test('timestamps without an offset or with microseconds under = are not pushed; bounds round outward', () => {
  assert.equal(encodeFilter(contactsV2, [{ column: 'update_time', op: '>=', value: '2024-01-02 03:04:05' }]).dropped.length, 1);
  assert.equal(encodeFilter(contactsV2, [{ column: 'update_time', op: '>=', value: '2024-02-30 00:00:00+00' }]).dropped.length, 1);
  assert.deepEqual(encodeFilter(contactsV2, [{ column: 'update_time', op: '<=', value: '2024-01-01 00:00:00.0001+00' }]).query, {
    filter: 'end_update_time==2024-01-01T00:00:00.001Z',
  });
  assert.deepEqual(encodeFilter(contactsV2, [{ column: 'update_time', op: '>', value: '2024-01-01 00:00:00.0009+00' }]).query, {
    filter: 'start_update_time==2024-01-01T00:00:00.000Z',
  });
});

test('dates and booleans are validated', () => {
  assert.deepEqual(encodeFilter(contactsV2, [eq('birth_date', '2000-02-29')]).query, { filter: 'birth_date==2000-02-29' });
  assert.equal(encodeFilter(contactsV2, [eq('birth_date', '2001-02-29')]).dropped.length, 1);
  assert.deepEqual(encodeFilter(contactsV2, [eq('active', 't')]).query, { filter: 'active==true' });
  assert.equal(encodeFilter(contactsV2, [eq('active', 'maybe')]).dropped.length, 1);
});

test('a second condition on the same parameter and operator is left to the engine', () => {
  const enc = encodeFilter(contactsV2, [eq('email', 'a@x.com'), eq('email', 'b@x.com')]);
  assert.deepEqual(enc.query, { filter: 'email==a@x.com' });
  assert.deepEqual(enc.dropped, [eq('email', 'b@x.com')]);
});

test('conditions on columns or operators the schema does not list are not pushed', () => {
  const enc = encodeFilter(contactsV2, [eq('family_name', 'x'), { column: 'given_name', op: 'prefix', value: 'a' }]);
  assert.deepEqual(enc.query, {});
  assert.equal(enc.dropped.length, 2);
});

test('v1: each condition is its own query parameter; ranges only through named bound parameters', () => {
  const enc = encodeFilter(contactsV1, [
    eq('email', 'a;b==c@x.com'),
    { column: 'update_time', op: '>=', value: '2024-01-01 00:00:00+00' },
    { column: 'update_time', op: '<=', value: '2024-06-01 00:00:00+00' },
  ]);
  // v1 values cannot break the syntax: ; and == travel inside one URL-encoded parameter
  assert.deepEqual(enc.query, { email: 'a;b==c@x.com', since: '2024-01-01T00:00:00.000Z', until: '2024-06-01T00:00:00.000Z' });
  assert.equal(encodeFilter(contactsV1, [eq('email', 'ann*')]).dropped.length, 1);
});

test('ORDER BY maps to order_by (v2) or order/order_direction (v1); unknown columns are not orderable', () => {
  assert.deepEqual(encodeOrder(contactsV2, { column: 'id', direction: 'desc' }), { order_by: 'id desc' });
  assert.deepEqual(encodeOrder(contactsV1, { column: 'id', direction: 'asc' }), { order: 'id', order_direction: 'ASCENDING' });
  assert.equal(encodeOrder(contactsV2, { column: 'email', direction: 'asc' }), undefined);
  assert.deepEqual(encodeOrder(contactsV2, undefined), {});
});

test('baseFilter clauses are always sent', () => {
  const users: TableSchema = { ...contactsV2, source: { ...contactsV2.source, baseFilter: ['include_inactive==true'] } };
  assert.deepEqual(encodeFilter(users, []).query, { filter: 'include_inactive==true' });
  assert.deepEqual(encodeFilter(users, [eq('email', 'a@x.com')]).query, { filter: 'include_inactive==true;email==a@x.com' });
});

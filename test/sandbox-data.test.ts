// The data: the same seed gives the same data byte for byte, it is internally consistent, and writes change it
// under a running client as Keap's write endpoints do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { createStore } from '../src/sandbox/store.js';
import { authed, NO_LIMITS } from './openapi/sandbox-client.js';

type Rec = Record<string, unknown>;

async function dump(sb: Sandbox): Promise<string> {
  const get = authed(sb);
  const paths = ['/v2/contacts?page_size=1000&fields=custom_fields,tag_ids,addresses,email_addresses,phone_numbers,company,create_time,update_time,source_type,birth_date', '/v1/contacts?limit=1000&optional_properties=custom_fields',
    '/v2/companies?fields=address,custom_fields', '/v2/tags', '/v2/orders?page_size=1000', '/v2/subscriptions', '/v2/opportunities?fields=custom_fields', '/v2/tasks?page_size=1000',
    '/v2/notes?page_size=1000', '/v2/emails?page_size=1000', '/v2/users', '/v2/files', '/v2/affiliates', '/v2/products', '/v1/appointments', '/v2/sales/transactions?page_size=1000', '/v2/contacts/model'];
  let out = '';
  for (const p of paths) out += (await get(p)).text.replace(/http:\/\/127\.0\.0\.1:\d+/g, 'URL') + '\n';
  return out;
}

test('the same seed and size give the same data byte for byte; another seed gives other data', async () => {
  const [a, b, c] = await Promise.all([startSandbox({ contacts: 400, seed: 11, limits: NO_LIMITS }), startSandbox({ contacts: 400, seed: 11, limits: NO_LIMITS }), startSandbox({ contacts: 400, seed: 12, limits: NO_LIMITS })]);
  try {
    const [da, db, dc] = [await dump(a), await dump(b), await dump(c)];
    assert.ok(da.length > 500_000);
    assert.equal(da, db);
    assert.notEqual(da, dc);
  } finally { await Promise.all([a.close(), b.close(), c.close()]); }
});

test('a record does not depend on the order records are asked for or on what was asked before', () => {
  const small = createStore(5, 1000); const big = createStore(5, 1000);
  const late = JSON.stringify(big.contacts.get(777)); JSON.stringify(big.contacts.get(3));
  assert.equal(JSON.stringify(small.contacts.get(777)), late);
});

test('generated records are consistent: references resolve, times fall in five years, custom fields cover Keap\'s types', () => {
  const s = createStore(1, 2000);
  const start = Date.UTC(2021, 0, 1) - 86_400_000 * 2; const end = Date.UTC(2026, 9, 2);
  for (const c of s.contacts.scan()) {
    assert.ok(c.createdAt >= start && c.updatedAt <= end && c.updatedAt >= c.createdAt, `contact ${c.id} times`);
    assert.ok(c.emails.length >= 1 && c.emails.length <= 3);
    if (c.companyId !== null) assert.ok(s.companies.has(c.companyId));
    if (c.ownerId !== null) assert.ok(s.users.has(c.ownerId));
    if (c.leadSourceId !== null) assert.ok(s.leadSources.has(c.leadSourceId));
    for (const t of s.contactTags(c.id)) { assert.ok(s.tags.has(t.tagId)); assert.ok(t.appliedAt >= c.createdAt); }
  }
  for (const o of s.orders.scan()) {
    assert.ok(s.contacts.has(o.contactId));
    assert.equal(o.totalCents, o.items.reduce((a, i) => a + i.priceCents * i.quantity - i.discountCents, 0));
    assert.equal(s.orderPayments(o.id).reduce((a, p) => a + p.amountCents, 0), o.paidCents);
    for (const i of o.items) assert.ok(s.products.has(i.productId));
  }
  for (const o of s.opportunities.scan()) { assert.ok(s.stages.has(o.stageId)); assert.ok(s.contacts.has(o.contactId)); }
  const years = new Set([...s.contacts.scan()].map((c) => new Date(c.createdAt).getUTCFullYear()));
  assert.ok(years.size >= 5, [...years].join(','));
  const types = new Set(s.customFields('CONTACT').map((f) => f.type));
  for (const t of ['Text', 'WholeNumber', 'DecimalNumber', 'Currency', 'Percent', 'Date', 'DateTime', 'Dropdown', 'ListBox', 'YesNo'] as const) assert.ok(types.has(t), t);
  for (const rt of ['COMPANY', 'ORDER', 'OPPORTUNITY'] as const) assert.ok(s.customFields(rt).length > 0);
  assert.deepEqual(Object.keys(s.sizes).length > 10, true);
  assert.equal(s.sizes.orders, 1200); assert.equal(s.sizes.companies, 200);
});

let sb: Sandbox;
let api: ReturnType<typeof authed>;
before(async () => { sb = await startSandbox({ contacts: 100, limits: NO_LIMITS }); api = authed(sb); });
after(() => sb.close());
const body = (b: unknown): RequestInit => ({ body: JSON.stringify(b) });

test('v2 contact create, patch with update_mask, delete — seen by lists and gets of both versions', async () => {
  const created = await api('/v2/contacts', { method: 'POST', ...body({ given_name: 'Ada', family_name: 'Lovelace', email_addresses: [{ email: 'ada@example.com', field: 'EMAIL1' }], custom_fields: [{ id: '8', content: 12 }] }) });
  assert.equal(created.status, 201, created.text);
  const id = (created.json as Rec).id as string;
  assert.equal(id, '101');
  const found = (await api(`/v2/contacts?filter=${encodeURIComponent('email==ada@example.com')}`)).json as { contacts: Rec[] };
  assert.deepEqual(found.contacts.map((c) => c.id), [id]);
  const beforeUpdate = Date.parse(String(((await api(`/v2/contacts/${id}`)).json as Rec).update_time));
  sb.advanceClock(5000);
  const patched = await api(`/v2/contacts/${id}?update_mask=family_name`, { method: 'PATCH', ...body({ family_name: 'Byron', given_name: 'ignored' }) });
  assert.equal(patched.status, 200, patched.text);
  assert.equal((patched.json as Rec).family_name, 'Byron'); assert.equal((patched.json as Rec).given_name, 'Ada');
  assert.ok(Date.parse(String((patched.json as Rec).update_time)) > beforeUpdate);
  const v1 = (await api(`/v1/contacts/${id}?optional_properties=custom_fields`)).json as Rec;
  assert.equal(v1.family_name, 'Byron');
  assert.equal((v1.custom_fields as { id: number; content: unknown }[]).find((f) => f.id === 8)!.content, 12);
  const since = (await api(`/v2/contacts?filter=${encodeURIComponent(`start_update_time==${new Date(beforeUpdate + 1).toISOString()}`)}`)).json as { contacts: Rec[] };
  assert.ok(since.contacts.some((c) => c.id === id), 'an updated contact shows up in an update-time sync');
  assert.equal((await api(`/v2/contacts/${id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await api(`/v2/contacts/${id}`)).status, 404);
  assert.equal((await api(`/v2/contacts/${id}`, { method: 'DELETE' })).status, 404);
  const v2missing = await api('/v2/contacts', { method: 'POST', ...body({ given_name: 'Nobody' }) });
  assert.equal(v2missing.status, 400);
});

test('v1 contact create needs an email or phone, answers 201; patch and delete; a deleted generated contact leaves every list', async () => {
  const bad = await api('/v1/contacts', { method: 'POST', ...body({ given_name: 'X' }) });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json, { message: 'Contact must contain an e-mail address or phone number' });
  const ok = await api('/v1/contacts', { method: 'POST', ...body({ given_name: 'Grace', phone_numbers: [{ number: '(480) 555-0101', field: 'PHONE1' }] }) });
  assert.equal(ok.status, 201);
  assert.equal(typeof (ok.json as Rec).id, 'number');
  const before = ((await api('/v1/contacts?limit=1')).json as Rec).count as number;
  assert.equal((await api('/v1/contacts/50', { method: 'DELETE' })).status, 204);
  const afterCount = ((await api('/v1/contacts?limit=1')).json as Rec).count as number;
  assert.equal(afterCount, before - 1);
  const v2ids = ((await api('/v2/contacts?page_size=1000')).json as { contacts: Rec[] }).contacts.map((c) => c.id);
  assert.ok(!v2ids.includes('50') && v2ids.includes('51'));
  const missing = await api('/v1/contacts/50', { method: 'DELETE' });
  assert.deepEqual(missing.json, { message: 'Unable to find this Contact' });
});

test('tags applied and removed through v1 and v2 show in every direction with applied times', async () => {
  const cid = 7; const tagId = [...sb.store.tags.scanIds()].find((t) => !sb.store.contactTags(cid).some((a) => a.tagId === t))!;
  const v2 = await api(`/v2/tags/${tagId}/contacts:applyTags`, { method: 'POST', ...body({ contact_ids: [String(cid), '99999'] }) });
  assert.equal(v2.status, 200);
  assert.deepEqual(v2.json, { results: { [cid]: 'SUCCESS', 99999: 'CONTACT_NOT_FOUND' } });
  const again = await api(`/v1/contacts/${cid}/tags`, { method: 'POST', ...body({ tagIds: [tagId] }) });
  assert.deepEqual(again.json, { [tagId]: 'DUPLICATE' });
  const tagged = ((await api(`/v2/tags/${tagId}/contacts`)).json as { contacts: Rec[] }).contacts;
  assert.ok(tagged.some((c) => c.id === String(cid)));
  assert.ok((((await api(`/v2/contacts/${cid}?fields=tag_ids`)).json as Rec).tag_ids as string[]).includes(String(tagId)));
  assert.equal((await api(`/v1/contacts/${cid}/tags/${tagId}`, { method: 'DELETE' })).status, 204);
  assert.ok(!(((await api(`/v2/contacts/${cid}?fields=tag_ids`)).json as Rec).tag_ids as string[]).includes(String(tagId)));
  assert.ok(!((await api(`/v1/tags/${tagId}/contacts`)).json as { contacts: { contact: { id: number } }[] }).contacts.some((c) => c.contact.id === cid));
});

test('tasks, notes and orders: create, update and delete in both versions', async () => {
  const t1 = await api('/v1/tasks', { method: 'POST', ...body({ title: 'Call Ada', due_date: '2026-12-01T10:00:00.000Z', contact: { id: 3 } }) });
  assert.equal(t1.status, 200, t1.text);
  const tid = (t1.json as Rec).id as number;
  const t2 = await api(`/v2/tasks/${tid}`, { method: 'PATCH', ...body({ completed: true, priority: 'CRITICAL' }) });
  assert.equal((t2.json as Rec).completed, true); assert.equal((t2.json as Rec).priority, 'CRITICAL');
  assert.equal(((await api(`/v1/tasks/${tid}`)).json as Rec).priority, 3);
  const t3 = await api('/v2/tasks', { method: 'POST', ...body({ title: 'Email Ada', contact_id: '3', due_time: '2026-12-02T10:00:00Z' }) });
  assert.equal(t3.status, 201);
  assert.equal((await api(`/v1/tasks/${tid}`, { method: 'DELETE' })).status, 204);
  assert.equal((await api(`/v2/tasks/${tid}`)).status, 404);

  const n1 = await api('/v2/contacts/3/notes', { method: 'POST', ...body({ title: 'Met at expo', text: 'Wants a demo', type: 'Call' }) });
  assert.equal(n1.status, 201, n1.text);
  const nid = (n1.json as Rec).id as string;
  const listed = ((await api(`/v2/contacts/3/notes`)).json as { notes: Rec[] }).notes;
  assert.ok(listed.some((n) => n.id === nid));
  assert.equal(((await api(`/v2/contacts/3/notes/${nid}`, { method: 'PATCH', ...body({ text: 'Demo booked' }) })).json as Rec).text, 'Demo booked');
  assert.equal(((await api(`/v1/notes/${nid}`)).json as Rec).body, 'Demo booked');
  assert.equal((await api('/v1/notes', { method: 'POST', ...body({ contact_id: 3 }) })).status, 400);
  assert.equal((await api(`/v2/contacts/3/notes/${nid}`, { method: 'DELETE' })).status, 204);

  const o1 = await api('/v1/orders', { method: 'POST', ...body({ contact_id: 3, order_date: '2026-11-01T00:00:00.000Z', order_title: 'Manual order', order_type: 'Offline', order_items: [{ product_id: 2, quantity: 2 }] }) });
  assert.equal(o1.status, 201, o1.text);
  const oid = (o1.json as Rec).id as number;
  const o2 = (await api(`/v2/orders/${oid}`)).json as Rec;
  assert.equal(o2.title, 'Manual order'); assert.equal(o2.order_type, 'OFFLINE');
  assert.equal((o2.total as { amount: number }).amount, sb.store.products.get(2)!.priceCents * 2);
  const byContact = ((await api(`/v1/orders?contact_id=3&limit=1000`)).json as { orders: Rec[] }).orders;
  assert.ok(byContact.some((o) => o.id === oid));
  assert.equal((await api(`/v2/orders/${oid}`, { method: 'DELETE' })).status, 204);
  assert.equal((await api(`/v1/orders/${oid}`)).status, 404);
});

test('the direct v2 contact writer produces exactly the bytes of JSON.stringify on the contact object, for any field set', async () => {
  const { contactV2, contactV2Json, CONTACT_FIELDS, CONTACT_DEFAULT_FIELDS } = await import('../src/sandbox/serialize-v2.js');
  const s = createStore(9, 3000);
  const sets = [new Set(CONTACT_FIELDS), new Set(CONTACT_DEFAULT_FIELDS), new Set(['id', 'custom_fields', 'origin']), new Set(['tag_ids', 'company', 'fax_numbers', 'social_accounts']), new Set<string>()];
  for (const c of s.contacts.scan()) for (const f of sets) assert.equal(contactV2Json(s, c, f), JSON.stringify(contactV2(s, c, f)), `contact ${c.id}`);
});

test('upserts: PUT /v1/contacts and POST /v2/contacts?duplicate_option update the matching contact instead of creating one', async () => {
  const email = sb.store.contacts.get(20)!.emails[0]!.email;
  const before = sb.store.contacts.size;
  const v1 = await api('/v1/contacts', { method: 'PUT', ...body({ duplicate_option: 'Email', email_addresses: [{ email, field: 'EMAIL1' }], job_title: 'Upserted' }) });
  assert.equal(v1.status, 200, v1.text);
  assert.equal((v1.json as Rec).id, 20); assert.equal((v1.json as Rec).job_title, 'Upserted');
  assert.equal(sb.store.contacts.size, before);
  const v2 = await api('/v2/contacts?duplicate_option=Email', { method: 'POST', ...body({ email_addresses: [{ email: email.toUpperCase(), field: 'EMAIL1' }], job_title: 'Again' }) });
  assert.equal(v2.status, 200); assert.equal((v2.json as Rec).id, '20');
  const fresh = await api('/v2/contacts?duplicate_option=Email', { method: 'POST', ...body({ email_addresses: [{ email: 'brand.new@example.com', field: 'EMAIL1' }] }) });
  assert.equal(fresh.status, 201);
  assert.equal(sb.store.contacts.size, before + 1);
  assert.equal((await api('/v2/contacts?duplicate_option=Phone', { method: 'POST', ...body({ email_addresses: [{ email, field: 'EMAIL1' }] }) })).status, 400);
});

test('a prewarmed sandbox serves the same bytes as a cold one, from its cache', async () => {
  const cold = await startSandbox({ contacts: 500, seed: 21, limits: NO_LIMITS });
  const warm = await startSandbox({ contacts: 500, seed: 21, limits: NO_LIMITS, prewarm: true });
  try {
    await warm.warmed();
    assert.ok(warm.store.contactJson.sizeBytes > 500 * 500, 'both field sets are cached');
    for (const q of ['/v2/contacts?page_size=200', '/v2/contacts?page_size=200&fields=' + ['addresses', 'custom_fields', 'tag_ids', 'company', 'origin'].join(',')]) {
      assert.equal((await authed(warm)(q)).text, (await authed(cold)(q)).text, q);
    }
    // a write drops the cached copy: the next page shows the change
    warm.store.setContactTags(3, []);
    const page = (await authed(warm)('/v2/contacts?page_size=5')).json as { contacts: Rec[] };
    assert.deepEqual(page.contacts.find((c) => c.id === '3')!.tag_ids, []);
  } finally { await Promise.all([cold.close(), warm.close()]); }
});

test('time formats equal the Date-based ones for any instant', async () => {
  const { v1Time, v2Time, isoDay } = await import('../src/sandbox/formats.js');
  let x = 12345;
  for (let i = 0; i < 20000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const ms = Date.UTC(2000, 0, 1) + (x * 977) % (40 * 365 * 86_400_000) + (i % 3 === 0 ? 0 : x % 1000);
    const iso = new Date(ms).toISOString();
    assert.equal(v1Time(ms), iso.slice(0, 23) + '+0000');
    assert.equal(v2Time(ms), iso.endsWith('.000Z') ? iso.slice(0, 19) + 'Z' : iso);
    assert.equal(isoDay(ms), iso.slice(0, 10));
  }
});

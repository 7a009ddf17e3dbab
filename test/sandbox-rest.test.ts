// REST behaviour as the reference documents it: v2 filters, paging, ordering, fields; v1 limit/offset/count/links,
// parameters, ordering, optional_properties; each version's date and id formats; the error bodies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { authed, NO_LIMITS } from './openapi/sandbox-client.js';

const N = 1200;
let sb: Sandbox;
let get: ReturnType<typeof authed>;
type Rec = Record<string, unknown>;

before(async () => {
  sb = await startSandbox({ contacts: N, seed: 3, limits: NO_LIMITS });
  get = authed(sb);
});
after(() => sb.close());

async function allV2(path: string, envelope: string): Promise<{ items: Rec[]; pages: number }> {
  const items: Rec[] = []; let token = ''; let pages = 0;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await get(`${path}${token ? `${sep}page_token=${encodeURIComponent(token)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    const body = r.json as Rec;
    items.push(...(body[envelope] as Rec[])); pages++;
    token = body.next_page_token as string;
    if (!token) break;
    assert.ok(pages < 10_000);
  }
  return { items, pages };
}
const v2err = async (path: string): Promise<Rec> => { const r = await get(path); assert.equal(r.status, 400, `${path} → ${r.status} ${r.text}`); return r.json as Rec; };

test('v2 paging with page_token reaches the end: every contact once, in id order, the last page without a token', async () => {
  const { items, pages } = await allV2('/v2/contacts?page_size=250', 'contacts');
  assert.equal(items.length, N);
  assert.equal(pages, Math.ceil(N / 250));
  assert.deepEqual(items.map((c) => Number(c.id)), Array.from({ length: N }, (_, i) => i + 1));
  assert.ok(items.every((c) => typeof c.id === 'string'), 'v2 ids are strings');
});

test('v2 page_size limits: above 1000 (100 for users) is a 400 in the v2 Error shape', async () => {
  const e = await v2err('/v2/contacts?page_size=1001');
  assert.equal(e.code, 400); assert.equal(e.status, 'Bad Request'); assert.match(String(e.message), /page_size/); assert.ok(Array.isArray(e.details));
  await v2err('/v2/users?page_size=101');
  assert.equal((await get('/v2/users?page_size=100')).status, 200);
  assert.equal(((await get('/v2/contacts?page_size=1000')).json as { contacts: unknown[] }).contacts.length, 1000);
});

test('v2 contact_id ranges split a scan without overlap, and ids== lists fetch exactly those records', async () => {
  const a = await allV2('/v2/contacts?page_size=300&filter=' + encodeURIComponent('contact_id>=1;contact_id<601'), 'contacts');
  const b = await allV2('/v2/contacts?page_size=300&filter=' + encodeURIComponent('contact_id>=601;contact_id<1201'), 'contacts');
  assert.equal(a.items.length, 600); assert.equal(b.items.length, 600);
  assert.equal(a.pages, 2, 'a range scan costs pages of its own size, not of the table');
  assert.equal(Number(a.items.at(-1)!.id), 600); assert.equal(Number(b.items[0]!.id), 601);
  const gt = await allV2('/v2/contacts?filter=' + encodeURIComponent('contact_id>1195'), 'contacts');
  assert.deepEqual(gt.items.map((c) => c.id), ['1196', '1197', '1198', '1199', '1200']);
  const le = await allV2('/v2/contacts?filter=' + encodeURIComponent('contact_id<=3'), 'contacts');
  assert.deepEqual(le.items.map((c) => c.id), ['1', '2', '3']);
  const ids = await allV2('/v2/contacts?filter=' + encodeURIComponent('ids==42,7,1100,99999'), 'contacts');
  assert.deepEqual(ids.items.map((c) => c.id), ['7', '42', '1100']);
});

test('v2 equality and prefix filters match what the store holds; prefix is case-insensitive', async () => {
  const c9 = sb.store.contacts.get(9)!;
  const byName = await allV2(`/v2/contacts?filter=${encodeURIComponent(`given_name==${c9.givenName};family_name==${c9.familyName}`)}`, 'contacts');
  const expected = [...sb.store.contacts.scan()].filter((c) => c.givenName === c9.givenName && c.familyName === c9.familyName).map((c) => String(c.id));
  assert.deepEqual(byName.items.map((c) => c.id), expected);
  assert.ok(expected.includes('9'));
  const prefix = c9.familyName.slice(0, 3).toUpperCase();
  const pre = await allV2(`/v2/contacts?filter=${encodeURIComponent(`family_name==${prefix}*`)}`, 'contacts');
  const want = [...sb.store.contacts.scan()].filter((c) => c.familyName.toLowerCase().startsWith(prefix.toLowerCase())).map((c) => String(c.id));
  assert.deepEqual(pre.items.map((c) => c.id), want);
  const email = c9.emails[0]!.email;
  const byEmail = await allV2(`/v2/contacts?filter=${encodeURIComponent(`email==${email}`)}`, 'contacts');
  assert.deepEqual(byEmail.items.map((c) => c.id), ['9']);
});

test('v2 time filters: start_update_time/end_update_time bound update_time inclusively', async () => {
  const t = sb.store.contacts.get(100)!.updatedAt;
  const iso = new Date(t).toISOString();
  const since = await allV2(`/v2/contacts?fields=update_time&filter=${encodeURIComponent(`start_update_time==${iso}`)}`, 'contacts');
  assert.ok(since.items.length > 0 && since.items.every((c) => Date.parse(String(c.update_time)) >= t));
  assert.equal(since.items.length, [...sb.store.contacts.scan()].filter((c) => c.updatedAt >= t).length);
  const until = await allV2(`/v2/contacts?fields=update_time&filter=${encodeURIComponent(`end_update_time==${iso}`)}`, 'contacts');
  assert.equal(since.items.length + until.items.length, N + [...sb.store.contacts.scan()].filter((c) => c.updatedAt === t).length);
});

test('v2 custom fields filter by field_name: numbers compare, text prefixes, unknown names are 400', async () => {
  const visits = sb.store.customFields('CONTACT').find((f) => f.fieldName === 'Visits')!;
  const r = await allV2(`/v2/contacts?fields=custom_fields&filter=${encodeURIComponent('Visits>=400')}`, 'contacts');
  const want = [...sb.store.contacts.scan()].filter((c) => { const v = sb.store.contactCustomFields(c)[visits.id]; return typeof v === 'number' && v >= 400; }).map((c) => String(c.id));
  assert.ok(want.length > 0);
  assert.deepEqual(r.items.map((c) => c.id), want);
  for (const c of r.items) {
    const cf = (c.custom_fields as { id: string; content: unknown }[]).find((x) => x.id === String(visits.id))!;
    assert.ok((cf.content as number) >= 400);
  }
  const none = await allV2(`/v2/contacts?filter=${encodeURIComponent('FavoriteColor==NONE')}`, 'contacts');
  const fav = sb.store.customFields('CONTACT').find((f) => f.fieldName === 'FavoriteColor')!;
  assert.equal(none.items.length, [...sb.store.contacts.scan()].filter((c) => sb.store.contactCustomFields(c)[fav.id] === null).length);
});

test('v2 filter errors: unknown field, operator not allowed for the field, malformed clause, bad page_token → 400', async () => {
  assert.match(String((await v2err('/v2/contacts?filter=' + encodeURIComponent('shoe_size==9'))).message), /shoe_size/);
  assert.match(String((await v2err('/v2/contacts?filter=' + encodeURIComponent('given_name>Bob'))).message), /operator/);
  await v2err('/v2/contacts?filter=' + encodeURIComponent('given_name'));
  await v2err('/v2/contacts?filter=' + encodeURIComponent('given_name==*ob'));
  await v2err('/v2/contacts?page_token=not-a-token');
  await v2err('/v2/contacts?order_by=' + encodeURIComponent('shoe_size desc'));
  await v2err('/v2/contacts?fields=shoe_size');
});

test('v2 tag categories filter: category_id==NONE is accepted where documented, and unknown query parameters are ignored', async () => {
  assert.equal((await get('/v2/tags?filter=' + encodeURIComponent('category_id==NONE'))).status, 200);
  const all = (await get('/v2/tags?email=nobody@example.com')).json as { tags: unknown[] };
  assert.equal(all.tags.length, sb.store.tags.size);
});

test('v2 order_by sorts across pages (desc, then by id), and the order survives paging', async () => {
  const { items } = await allV2('/v2/contacts?page_size=333&fields=create_time&order_by=' + encodeURIComponent('create_time desc'), 'contacts');
  assert.equal(items.length, N);
  const times = items.map((c) => Date.parse(String(c.create_time)));
  assert.ok(times.every((t, i) => i === 0 || times[i - 1]! >= t), 'descending create_time');
  assert.equal(new Set(items.map((c) => c.id)).size, N);
  const email = await allV2('/v2/contacts?page_size=500&order_by=email', 'contacts');
  const emails = email.items.map((c) => String((c.email_addresses as { email: string }[])[0]!.email).toLowerCase());
  assert.deepEqual(emails, [...emails].sort());
});

test('v2 fields: optional properties are absent unless requested; id always comes back', async () => {
  const plain = ((await get('/v2/contacts/5')).json as Rec);
  assert.equal(plain.custom_fields, undefined); assert.equal(plain.source_type, undefined);
  assert.ok(plain.given_name && plain.email_addresses);
  const some = ((await get('/v2/contacts/5?fields=custom_fields,source_type')).json as Rec);
  assert.deepEqual(Object.keys(some).sort(), ['custom_fields', 'id', 'source_type']);
  assert.equal((some.custom_fields as unknown[]).length, sb.store.customFields('CONTACT').length);
  const repeated = ((await get('/v2/contacts/5?fields=source_type&fields=job_title')).json as Rec);
  assert.ok('source_type' in repeated);
  const company = ((await get('/v2/companies?page_size=1')).json as { companies: Rec[] }).companies[0]!;
  for (const k of ['notes', 'fax_number', 'address', 'email_address', 'phone_number', 'update_time', 'create_time', 'custom_fields']) assert.ok(!(k in company), `${k} absent by default`);
  const full = ((await get('/v2/companies?page_size=1&fields=address,create_time')).json as { companies: Rec[] }).companies[0]!;
  assert.ok('create_time' in full);
});

test('date formats: v1 yyyy-MM-ddTHH:mm:ss.SSS+0000, v2 ISO-8601 with Z; the same instant', async () => {
  const v1 = (await get('/v1/contacts/12')).json as Rec;
  const v2 = (await get('/v2/contacts/12')).json as Rec;
  assert.match(String(v1.date_created), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
  assert.match(String(v2.create_time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
  assert.equal(Date.parse(String(v1.date_created).replace('+0000', 'Z')), Date.parse(String(v2.create_time)));
  assert.equal(v1.id, 12); assert.equal(v2.id, '12');
  assert.equal(v1.last_updated_utc_millis, sb.store.contacts.get(12)!.updatedAt);
});

test('v1 paging: limit/offset, count is the total matching, next/previous are absolute URLs repeating the query', async () => {
  const r = (await get('/v1/contacts?limit=100&offset=200&order=id')).json as Rec;
  assert.equal(r.count, N);
  const ids = (r.contacts as Rec[]).map((c) => c.id);
  assert.deepEqual(ids, Array.from({ length: 100 }, (_, i) => 201 + i));
  const next = new URL(String(r.next)); const prev = new URL(String(r.previous));
  assert.equal(next.origin + next.pathname, `${sb.apiBase}/v1/contacts/`);
  assert.equal(next.searchParams.get('offset'), '300'); assert.equal(next.searchParams.get('limit'), '100'); assert.equal(next.searchParams.get('order'), 'id');
  assert.equal(prev.searchParams.get('offset'), '100');
  const followed = (await get(next.pathname.replace('/crm/rest', '') + next.search)).json as Rec;
  assert.equal((followed.contacts as Rec[])[0]!.id, 301);
  const past = (await get(`/v1/contacts?limit=100&offset=${N}`)).json as Rec;
  assert.deepEqual(past.contacts, []); assert.equal(past.count, N); assert.ok(past.next, 'next is sent even past the end');
  const dflt = (await get('/v1/contacts')).json as Rec;
  assert.equal((dflt.contacts as unknown[]).length, 1000, 'default and maximum limit 1000');
  assert.equal(((await get('/v1/contacts?limit=5000')).json as { contacts: unknown[] }).contacts.length, 1000);
});

test('v1 parameters filter and count what they match; order/order_direction sort; optional_properties add fields', async () => {
  const c = sb.store.contacts.get(33)!;
  const byName = (await get(`/v1/contacts?given_name=${encodeURIComponent(c.givenName)}&family_name=${encodeURIComponent(c.familyName)}`)).json as Rec;
  const want = [...sb.store.contacts.scan()].filter((x) => x.givenName === c.givenName && x.familyName === c.familyName).map((x) => x.id);
  assert.deepEqual((byName.contacts as Rec[]).map((x) => x.id), want);
  assert.equal(byName.count, want.length);
  const byEmail = (await get(`/v1/contacts?email=${encodeURIComponent(c.emails[0]!.email)}`)).json as Rec;
  assert.deepEqual((byEmail.contacts as Rec[]).map((x) => x.id), [33]);
  const desc = (await get('/v1/contacts?limit=50&order=date_created&order_direction=DESCENDING')).json as Rec;
  const created = (desc.contacts as Rec[]).map((x) => Date.parse(String(x.date_created).replace('+0000', 'Z')));
  assert.ok(created.every((t, i) => i === 0 || created[i - 1]! >= t));
  const plain = ((await get('/v1/contacts?limit=1')).json as { contacts: Rec[] }).contacts[0]!;
  assert.ok(!('custom_fields' in plain) && !('job_title' in plain) && !('lead_source_id' in plain));
  assert.ok('tag_ids' in plain && 'email_status' in plain && 'ScoreValue' in plain);
  const extra = ((await get('/v1/contacts?limit=1&optional_properties=custom_fields,job_title')).json as { contacts: Rec[] }).contacts[0]!;
  assert.ok('custom_fields' in extra && 'job_title' in extra);
  const since = (await get(`/v1/contacts?since=${encodeURIComponent(new Date(c.updatedAt).toISOString())}`)).json as Rec;
  assert.equal(since.count, [...sb.store.contacts.scan()].filter((x) => x.updatedAt >= c.updatedAt).length);
  assert.equal((await get('/v1/contacts?order=shoe_size')).status, 400);
});

test('contact↔tag applications agree in all four directions and carry applied times', async () => {
  const tagged = [...sb.store.contacts.scanIds()].find((id) => sb.store.contactTags(id).length > 0)!;
  const tagId = sb.store.contactTags(tagged)[0]!.tagId;
  const v2 = await allV2(`/v2/tags/${tagId}/contacts?page_size=100`, 'contacts');
  const want = [...sb.store.contacts.scanIds()].filter((id) => sb.store.contactTags(id).some((t) => t.tagId === tagId)).map(String);
  assert.deepEqual(v2.items.map((x) => x.id), want);
  assert.ok(v2.items.every((x) => typeof x.applied_time === 'string'));
  const v1 = (await get(`/v1/tags/${tagId}/contacts?limit=1000`)).json as Rec;
  assert.equal(v1.count, want.length);
  assert.deepEqual((v1.contacts as { contact: { id: number } }[]).map((x) => String(x.contact.id)), want);
  const cid = Number(want[0]);
  const ofContact2 = (await get(`/v2/contacts/${cid}/tags`)).json as { tags: { tag: { id: string } }[] };
  const ofContact1 = (await get(`/v1/contacts/${cid}/tags`)).json as { tags: { tag: { id: number } }[] };
  assert.ok(ofContact2.tags.some((t) => t.tag.id === String(tagId)));
  assert.ok(ofContact1.tags.some((t) => t.tag.id === tagId));
  const ids = ((await get(`/v2/contacts/${cid}?fields=tag_ids`)).json as { tag_ids: string[] }).tag_ids;
  assert.deepEqual(ids, ofContact2.tags.map((t) => t.tag.id));
});

test('missing records: v1 {"message"} and v2 Error bodies with 404; unknown URLs are the HTML page; wrong method 405', async () => {
  const v1 = await get('/v1/contacts/999999');
  assert.equal(v1.status, 404); assert.deepEqual(v1.json, { message: 'Unable to find this Contact' });
  const v2 = await get('/v2/contacts/999999');
  assert.equal(v2.status, 404); assert.equal((v2.json as Rec).code, 404); assert.equal((v2.json as Rec).status, 'Not Found');
  const unknown = await get('/v2/no/such/thing');
  assert.equal(unknown.status, 404); assert.match(unknown.text, /Keap - Page Not Found/);
  assert.equal((await get('/v2/tags', { method: 'DELETE' })).status, 405);
});

test('the order of names in fields does not change the bytes of a record', async () => {
  const a = (await get('/v2/contacts?page_size=50&fields=tag_ids,given_name,custom_fields')).text;
  const b = (await get('/v2/contacts?page_size=50&fields=custom_fields,tag_ids,given_name')).text;
  assert.equal(a, b);
});

test('name and email filters read written contacts from the overlay, not from the generated columns', async () => {
  const c = sb.store.contacts.get(77)!;
  sb.store.contacts.put({ ...c, givenName: 'Zebedee', emails: [{ ...c.emails[0]!, email: 'zebedee@example.com' }] });
  const v2 = (await get(`/v2/contacts?filter=${encodeURIComponent('given_name==zebedee')}`)).json as { contacts: Rec[] };
  assert.deepEqual(v2.contacts.map((x) => x.id), ['77']);
  const old = (await get(`/v2/contacts?filter=${encodeURIComponent(`email==${c.emails[0]!.email}`)}`)).json as { contacts: Rec[] };
  assert.ok(!old.contacts.some((x) => x.id === '77'), 'the old address no longer matches');
  const v1 = (await get('/v1/contacts?email=ZEBEDEE@example.com')).json as Rec;
  assert.deepEqual((v1.contacts as Rec[]).map((x) => x.id), [77]);
  sb.store.contacts.put(c);
});

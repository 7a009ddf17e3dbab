// Every GET endpoint of both versions: lists, single records, custom-field models and userinfo (reference §4, App. A/B).
import { ApiError } from './http-errors.js';
import { listV1, listV2, fieldSet, v1Eq, v1Bool, v1Since, v1Until, type Source, type V1List, type V2List, listParam } from './listing.js';
import type { FilterSpec } from './filters.js';
import { parseTime, v1Time as V1time, v2Time as V2time } from './formats.js';
import { json, type Route, type RouteEnv, type RequestContext } from './routes.js';
import * as V2 from './serialize-v2.js';
import * as V1 from './serialize-v1.js';
import { LEAD_SOURCES } from './words.js';
import { coverageData } from './coverage-data.js';
import type { Contact, Tag, Payment, CustomRecordType, Note, Task, Order, Opportunity, Company } from './model.js';

const REST = '/crm/rest';
const idParam = (c: RequestContext, name: string): number => {
  const raw = c.params[name]!; const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new ApiError(404, `Invalid id: ${raw}`);
  return n;
};
const notFound = (kind: string): never => { throw new ApiError(404, `Unable to find this ${kind}`); };

export function readRoutes(env: RouteEnv): Route[] {
  const s = env.store;
  const routes: Route[] = [];
  const v2 = (pattern: string, handle: Route['handle']): void => { routes.push({ method: 'GET', pattern: `${REST}/v2${pattern}`, version: 'v2', handle }); };
  const v1 = (pattern: string, handle: Route['handle']): void => { routes.push({ method: 'GET', pattern: `${REST}/v1${pattern}`, version: 'v1', handle }); };
  const list2 = <T extends { id: number }>(pattern: string, source: (c: RequestContext) => Source<T>, spec: V2List<T>): void =>
    v2(pattern, (c) => json(200, listV2(source(c), spec, c.query)));
  const list1 = <T extends { id: number }>(pattern: string, source: (c: RequestContext) => Source<T>, spec: V1List<T>): void =>
    v1(pattern, (c) => json(200, listV1(source(c), spec, c.query, c.selfUrl + '/')));
  const get2 = <T>(pattern: string, param: string, coll: (c: RequestContext) => { get(id: number): T | undefined }, kind: string, ser: (r: T, c: RequestContext) => unknown): void =>
    v2(pattern, (c) => json(200, ser(coll(c).get(idParam(c, param)) ?? notFound(kind), c)));
  const get1 = <T>(pattern: string, param: string, coll: (c: RequestContext) => { get(id: number): T | undefined }, kind: string, ser: (r: T, c: RequestContext) => unknown): void =>
    v1(pattern, (c) => json(200, ser(coll(c).get(idParam(c, param)) ?? notFound(kind), c)));
  const t = (x: string): number | undefined => parseTime(x);
  // custom-field values of records that do not carry their own (subscriptions, tasks, notes, affiliates)
  const cov = coverageData(s);
  const customOf = <T extends { id: number }>(type: CustomRecordType, kind: Parameters<typeof cov.customValues>[1]) =>
    ({ defs: s.customFields(type), values: (r: T) => cov.customValues(type, kind, r.id) });
  const withCustom = (o: unknown, type: CustomRecordType, values: Record<number, import('./model.js').CustomValue>): unknown => ({ ...(o as object), custom_fields: V2.customFieldsV2(s, type, values) });

  // ---------------- contacts ----------------
  const addr = (field: string, part: 'line1' | 'locality' | 'region' | 'postalCode' | 'countryCode') => (c: Contact) => c.addresses.find((a) => a.field === field)?.[part] ?? null;
  const contactFilters: FilterSpec<Contact> = {
    email: { type: 'string', prefix: true, none: true, get: (c) => c.emails.map((e) => e.email), cheap: s.contactColumn('emails') },
    given_name: { type: 'string', prefix: true, get: (c) => c.givenName, cheap: s.contactColumn('given_name') },
    family_name: { type: 'string', prefix: true, get: (c) => c.familyName, cheap: s.contactColumn('family_name') },
    middle_name: { type: 'string', prefix: true, get: (c) => c.middleName, cheap: s.contactColumn('middle_name') },
    company_id: { type: 'set', none: true, get: (c) => c.companyId },
    contact_ids: { type: 'set', isId: true, get: (c) => c.id },
    ids: { type: 'set', isId: true, get: (c) => c.id },
    start_update_time: { type: 'time', bound: 'since', get: (c) => c.updatedAt, cheap: (id) => s.contactUpdatedAt(id) },
    end_update_time: { type: 'time', bound: 'until', get: (c) => c.updatedAt, cheap: (id) => s.contactUpdatedAt(id) },
    phone_number: { type: 'string', get: (c) => c.phones.flatMap((p) => [p.number, p.e164]) },
    phone_fields: { type: 'set', get: (c) => c.phones.map((p) => p.field) as never },
    city: { type: 'string', prefix: true, get: (c) => c.addresses.map((a) => a.locality) },
    state: { type: 'string', prefix: true, get: (c) => c.addresses.flatMap((a) => [a.region, a.regionCode]) },
    website: { type: 'string', prefix: true, none: true, get: (c) => c.website },
    lead_source_name: { type: 'string', prefix: true, none: true, get: (c) => (c.leadSourceId ? LEAD_SOURCES[c.leadSourceId - 1] : null) },
    contact_id: { type: 'id', isId: true, ops: ['>', '>=', '<', '<='], get: (c) => c.id },
  };
  for (const field of ['billing', 'shipping', 'other'] as const) {
    const F = field.toUpperCase();
    contactFilters[`${field}_address_line1`] = { type: 'string', get: addr(F, 'line1') };
    contactFilters[`${field}_address_locality`] = { type: 'string', get: addr(F, 'locality') };
    contactFilters[`${field}_address_region`] = { type: 'string', get: addr(F, 'region') };
    contactFilters[`${field}_address_postal_code`] = { type: 'string', get: addr(F, 'postalCode') };
    contactFilters[`${field}_address_country_code`] = { type: 'string', get: addr(F, 'countryCode') };
  }
  const contactsV2: V2List<Contact> = {
    envelope: 'contacts', maxPageSize: 1000, filters: contactFilters,
    custom: { defs: s.customFields('CONTACT'), values: (c) => s.contactCustomFields(c) },
    orderBy: { id: (c) => c.id, create_time: (c) => c.createdAt, update_time: (c) => c.updatedAt, email: (c) => c.emails[0]?.email },
    fields: { all: V2.CONTACT_FIELDS, defaults: V2.CONTACT_DEFAULT_FIELDS },
    serialize: (c, f) => V2.contactV2(s, c, f),
    serializeJson: (c, f) => V2.contactV2Json(s, c, f),
    cache: s.contactJson,
  };
  list2('/contacts', () => s.contacts, contactsV2);
  get2('/contacts/{contact_id}', 'contact_id', () => s.contacts, 'Contact', (c, ctx) => V2.contactV2(s, c, fieldSet(ctx.query, contactsV2.fields)));
  const v1Props = (q: URLSearchParams, defaults: readonly string[], optional: readonly string[]): Set<string> => {
    const extra = listParam(q, 'optional_properties') ?? [];
    return new Set([...defaults, ...extra.filter((p) => optional.includes(p))]);
  };
  list1('/contacts', () => s.contacts, {
    envelope: 'contacts',
    params: {
      email: v1Eq((c: Contact) => c.emails.map((e) => e.email)), given_name: v1Eq((c: Contact) => c.givenName), family_name: v1Eq((c: Contact) => c.familyName),
      since: v1Since((c: Contact) => c.updatedAt, t), until: v1Until((c: Contact) => c.updatedAt, t),
    },
    idParams: {
      email: (raw) => { const w = raw.toLowerCase(); const col = s.contactColumn('emails'); return (id) => ((col(id) as string[] | null) ?? []).some((e) => e.toLowerCase() === w); },
      given_name: (raw) => { const w = raw.toLowerCase(); const col = s.contactColumn('given_name'); return (id) => String(col(id) ?? '').toLowerCase() === w; },
      family_name: (raw) => { const w = raw.toLowerCase(); const col = s.contactColumn('family_name'); return (id) => String(col(id) ?? '').toLowerCase() === w; },
      since: (raw) => { const at = t(raw); if (at === undefined) throw new ApiError(400, `Invalid date: '${raw}'`); return (id) => s.contactUpdatedAt(id) >= at; },
      until: (raw) => { const at = t(raw); if (at === undefined) throw new ApiError(400, `Invalid date: '${raw}'`); return (id) => s.contactUpdatedAt(id) <= at; },
    },
    order: { id: (c) => c.id, date_created: (c) => c.createdAt, last_updated: (c) => c.updatedAt, name: (c) => `${c.familyName} ${c.givenName}`, firstName: (c) => c.givenName, email: (c) => c.emails[0]?.email },
    serialize: (c, q) => V1.contactV1(s, c, v1Props(q, V1.CONTACT_DEFAULT_PROPERTIES, V1.CONTACT_OPTIONAL_PROPERTIES)),
  });
  get1('/contacts/{id}', 'id', () => s.contacts, 'Contact', (c, ctx) => V1.contactV1(s, c, v1Props(ctx.query, [...V1.CONTACT_DEFAULT_PROPERTIES, 'opt_in_reason', 'preferred_locale', 'website', 'prefix', 'suffix', 'source_type', 'time_zone', 'lead_source_id', 'social_accounts', 'fax_numbers', 'spouse_name', 'contact_type', 'company_name', 'job_title', 'anniversary', 'preferred_name', 'birthday', 'origin', 'relationships'], V1.CONTACT_OPTIONAL_PROPERTIES)));

  // ---------------- contact ↔ tag ----------------
  interface TaggedContact { id: number; contact: Contact; appliedAt: number }
  const taggedContacts = (tagId: number): Source<TaggedContact> => {
    if (!s.tags.has(tagId)) notFound('Tag');
    return {
      get(id) { const a = s.contactTags(id).find((x) => x.tagId === tagId); const c = a && s.contacts.get(id); return c && a ? { id, contact: c, appliedAt: a.appliedAt } : undefined; },
      *scanIds(after) { for (const id of s.contacts.scanIds(after)) if (s.contactTags(id).some((x) => x.tagId === tagId)) yield id; },
    };
  };
  list2('/tags/{tag_id}/contacts', (c) => taggedContacts(idParam(c, 'tag_id')), {
    envelope: 'contacts', maxPageSize: 1000,
    filters: {
      given_name: { type: 'string', get: (r) => r.contact.givenName }, family_name: { type: 'string', get: (r) => r.contact.familyName },
      email: { type: 'string', get: (r) => r.contact.emails.map((e) => e.email) },
      since_applied_time: { type: 'time', bound: 'since', get: (r) => r.appliedAt }, until_applied_time: { type: 'time', bound: 'until', get: (r) => r.appliedAt },
    },
    orderBy: { id: (r) => r.id, given_name: (r) => r.contact.givenName, family_name: (r) => r.contact.familyName, email: (r) => r.contact.emails[0]?.email, applied_time: (r) => r.appliedAt },
    serialize: (r) => ({ id: String(r.id), email: r.contact.emails[0]?.email, given_name: r.contact.givenName, family_name: r.contact.familyName, applied_time: V2time(r.appliedAt) }),
  });
  list1('/tags/{tagId}/contacts', (c) => taggedContacts(idParam(c, 'tagId')), {
    envelope: 'contacts', params: {}, order: {},
    serialize: (r) => ({ contact: { id: r.id, email: r.contact.emails[0]?.email ?? null, first_name: r.contact.givenName, last_name: r.contact.familyName }, date_applied: V1time(r.appliedAt) }),
  });
  interface AppliedTag { id: number; tag: Tag; appliedAt: number }
  const contactTagSource = (contactId: number): Source<AppliedTag> => {
    if (!s.contacts.has(contactId)) notFound('Contact');
    const rows = s.contactTags(contactId).map((a) => ({ id: a.tagId, tag: s.tags.get(a.tagId)!, appliedAt: a.appliedAt })).filter((r) => r.tag);
    return { get: (id) => rows.find((r) => r.id === id), *scanIds(after) { for (const r of rows) if (r.id > after) yield r.id; }, size: rows.length, nthId: (k) => rows[k]?.id };
  };
  list2('/contacts/{contact_id}/tags', (c) => contactTagSource(idParam(c, 'contact_id')), {
    envelope: 'tags', maxPageSize: 1000,
    filters: {
      name: { type: 'string', get: (r) => r.tag.name }, description: { type: 'string', get: (r) => r.tag.description },
      category_id: { type: 'set', none: true, get: (r) => r.tag.categoryId },
      since_applied_time: { type: 'time', bound: 'since', get: (r) => r.appliedAt }, until_applied_time: { type: 'time', bound: 'until', get: (r) => r.appliedAt },
      since_create_time: { type: 'time', bound: 'since', get: (r) => r.tag.createdAt }, until_create_time: { type: 'time', bound: 'until', get: (r) => r.tag.createdAt },
      since_update_time: { type: 'time', bound: 'since', get: (r) => r.tag.updatedAt }, until_update_time: { type: 'time', bound: 'until', get: (r) => r.tag.updatedAt },
    },
    orderBy: { id: (r) => r.id, name: (r) => r.tag.name, create_time: (r) => r.tag.createdAt, update_time: (r) => r.tag.updatedAt, applied_time: (r) => r.appliedAt, category_id: (r) => r.tag.categoryId },
    serialize: (r) => ({ tag: V2.tagV2(r.tag), applied_time: V2time(r.appliedAt) }),
  });
  list1('/contacts/{contactId}/tags', (c) => contactTagSource(idParam(c, 'contactId')), {
    envelope: 'tags', params: {}, order: {},
    serialize: (r) => { const cat = s.tagCategories.get(r.tag.categoryId); return { tag: { id: r.tag.id, name: r.tag.name, category: cat?.name ?? null }, date_applied: V1time(r.appliedAt) }; },
  });

  // ---------------- companies ----------------
  const companiesV2: V2List<Company> = {
    envelope: 'companies', maxPageSize: 1000,
    filters: {
      company_name: { type: 'string', get: (c) => c.name }, name: { type: 'string', prefix: true, get: (c) => c.name },
      email: { type: 'string', none: true, get: (c) => c.email }, city: { type: 'string', prefix: true, get: (c) => c.address?.locality },
      state: { type: 'string', prefix: true, get: (c) => (c.address ? [c.address.region, c.address.regionCode] : null) },
      since_time: { type: 'time', bound: 'since', get: (c) => c.updatedAt }, until_time: { type: 'time', bound: 'until', get: (c) => c.updatedAt },
      // the reference lists company_id (Number) with >=, <=, >, < besides ==
      company_id: { type: 'id', isId: true, ops: ['>', '>=', '<', '<='], get: (c) => c.id },
    },
    custom: { defs: s.customFields('COMPANY'), values: (c) => c.customFields },
    orderBy: { id: (c) => c.id, create_time: (c) => c.createdAt, name: (c) => c.name, email: (c) => c.email },
    fields: { all: V2.COMPANY_FIELDS, defaults: V2.COMPANY_DEFAULT_FIELDS },
    serialize: (c, f) => V2.companyV2(s, c, f),
  };
  list2('/companies', () => s.companies, companiesV2);
  get2('/companies/{company_id}', 'company_id', () => s.companies, 'Company', (c, ctx) => V2.companyV2(s, c, fieldSet(ctx.query, companiesV2.fields)));
  const companyProps = (q: URLSearchParams): Set<string> => new Set(listParam(q, 'optional_properties') ?? []);
  list1('/companies', () => s.companies, {
    envelope: 'companies', params: { company_name: v1Eq((c: Company) => c.name) },
    order: { id: (c) => c.id, date_created: (c) => c.createdAt, name: (c) => c.name, email: (c) => c.email },
    serialize: (c, q) => V1.companyV1(s, c, companyProps(q)),
  });
  get1('/companies/{companyId}', 'companyId', () => s.companies, 'Company', (c, ctx) => V1.companyV1(s, c, new Set(['fax_number', 'notes', ...companyProps(ctx.query)])));

  // ---------------- tags and categories ----------------
  const tagTimes = { since_create_time: { type: 'time', bound: 'since', get: (r: { createdAt: number }) => r.createdAt }, until_create_time: { type: 'time', bound: 'until', get: (r: { createdAt: number }) => r.createdAt }, since_update_time: { type: 'time', bound: 'since', get: (r: { updatedAt: number }) => r.updatedAt }, until_update_time: { type: 'time', bound: 'until', get: (r: { updatedAt: number }) => r.updatedAt } } as const;
  list2('/tags', () => s.tags, {
    envelope: 'tags', maxPageSize: 1000,
    filters: { name: { type: 'string', prefix: true, get: (r) => r.name }, description: { type: 'string', get: (r) => r.description }, category_id: { type: 'set', none: true, get: (r) => r.categoryId }, tag_ids: { type: 'set', isId: true, get: (r) => r.id }, ...tagTimes },
    orderBy: { id: (r) => r.id, name: (r) => r.name, create_time: (r) => r.createdAt, update_time: (r) => r.updatedAt },
    serialize: (r) => V2.tagV2(r),
  });
  get2('/tags/{tag_id}', 'tag_id', () => s.tags, 'Tag', (r) => V2.tagV2(r));
  list2('/tags/categories', () => s.tagCategories, {
    envelope: 'tag_categories', maxPageSize: 1000,
    filters: { name: { type: 'string', get: (r) => r.name }, description: { type: 'string', get: (r) => r.description }, ...tagTimes },
    orderBy: { id: (r) => r.id, name: (r) => r.name, create_time: (r) => r.createdAt, update_time: (r) => r.updatedAt },
    serialize: (r) => V2.tagCategoryV2(r),
  });
  get2('/tags/categories/{tag_category_id}', 'tag_category_id', () => s.tagCategories, 'Tag Category', (r) => V2.tagCategoryV2(r));
  list1('/tags', () => s.tags, {
    envelope: 'tags', params: { category: v1Eq((r: Tag) => r.categoryId), name: v1Eq((r: Tag) => r.name) }, order: {},
    serialize: (r) => V1.tagV1(s, r),
  });
  get1('/tags/{id}', 'id', () => s.tags, 'Tag', (r) => V1.tagV1(s, r));

  // ---------------- products ----------------
  list2('/products', () => s.products, {
    envelope: 'products', maxPageSize: 1000,
    filters: {
      name: { type: 'string', prefix: true, get: (p) => p.name }, sku: { type: 'string', prefix: true, get: (p) => p.sku },
      description: { type: 'string', prefix: true, get: (p) => p.description }, short_description: { type: 'string', prefix: true, get: (p) => p.shortDescription },
      product_id: { type: 'id', isId: true, ops: ['>', '>=', '<', '<='], get: (p) => p.id },
    },
    orderBy: { id: (p) => p.id, name: (p) => p.name, sku: (p) => p.sku, last_updated_time: (p) => p.updatedAt },
    serialize: (p) => V2.productV2(p),
  });
  get2('/products/{product_id}', 'product_id', () => s.products, 'Product', (p) => V2.productV2(p));
  v2('/products/{product_id}/subscriptions', (c) => {
    const p = s.products.get(idParam(c, 'product_id')) ?? notFound('Product');
    return json(200, { subscriptions: (V2.productV2(p).subscription_plans as unknown[]) });
  });
  list1('/products', () => s.products, {
    envelope: 'products', params: { active: v1Bool((p) => p.active) }, order: {}, syncToken: true,
    serialize: (p) => V1.productV1(p),
  });
  get1('/products/{productId}', 'productId', () => s.products, 'Product', (p) => { const o = V1.productV1(p); delete o.status; return { ...o, active: p.active }; });

  // ---------------- orders, payments, transactions ----------------
  const orderFilters: FilterSpec<Order> = {
    id: { type: 'id', isId: true, ops: ['!=', '>', '>=', '<', '<='], get: (o) => o.id },
    product_id: { type: 'set', get: (o) => o.items.map((i) => i.productId) as never }, contact_id: { type: 'set', get: (o) => o.contactId },
    invoice_id: { type: 'set', get: (o) => o.id }, paid: { type: 'bool', get: (o) => o.status === 'PAID' },
    created_since_time: { type: 'time', bound: 'since', get: (o) => o.createdAt }, created_until_time: { type: 'time', bound: 'until', get: (o) => o.createdAt },
    modified_since_time: { type: 'time', bound: 'since', get: (o) => o.updatedAt }, modified_until_time: { type: 'time', bound: 'until', get: (o) => o.updatedAt },
    title: { type: 'string', prefix: true, get: (o) => o.title }, order_type: { type: 'string', get: (o) => o.orderType },
  };
  const ordersV2: V2List<Order> = {
    envelope: 'orders', maxPageSize: 1000, filters: orderFilters, custom: { defs: s.customFields('ORDER'), values: (o) => o.customFields },
    orderBy: { id: (o) => o.id, order_time: (o) => o.orderedAt, modification_time: (o) => o.updatedAt },
    fields: { all: ['custom_fields'], defaults: [] },
    serialize: (o, f) => V2.orderV2(s, o, f.has('custom_fields')),
  };
  list2('/orders', () => s.orders, ordersV2);
  get2('/orders/{order_id}', 'order_id', () => s.orders, 'Order', (o) => V2.orderV2(s, o, true));
  const paymentsOf = (orderId: number): Source<Payment> => {
    if (!s.orders.has(orderId)) notFound('Order');
    const rows = s.orderPayments(orderId);
    return { get: (id) => rows.find((r) => r.id === id), *scanIds(after) { for (const r of rows) if (r.id > after) yield r.id; }, size: rows.length, nthId: (k) => rows[k]?.id };
  };
  list2('/orders/{order_id}/payments', (c) => paymentsOf(idParam(c, 'order_id')), {
    envelope: 'invoice_order_payments', maxPageSize: 1000,
    filters: { invoice_id: { type: 'set', get: (p) => p.orderId }, payment_id: { type: 'set', isId: true, get: (p) => p.id }, amount: { type: 'number', get: (p) => p.amountCents / 100 }, pay_status: { type: 'string', get: (p) => p.payStatus }, skip_commission: { type: 'bool', get: () => false } },
    orderBy: { id: (p) => p.id, invoice_id: (p) => p.orderId, payment_id: (p) => p.id, amount: (p) => p.amountCents, pay_time: (p) => p.paidAt, pay_status: (p) => p.payStatus, last_updated_time: (p) => p.updatedAt },
    serialize: (p) => V2.invoicePaymentV2(p),
  });
  const allPayments: Source<Payment> = {
    get(id) { return s.orderPayments(Math.floor(id / 4)).find((p) => p.id === id); },
    *scanIds(after) { for (const p of s.scanPayments(after)) yield p.id; },
  };
  const paymentFilters: FilterSpec<Payment> = {
    amount: { type: 'number', ops: ['!=', '>', '>=', '<', '<='], get: (p) => p.amountCents / 100 }, order_id: { type: 'set', get: (p) => p.orderId },
    contact_id: { type: 'set', get: (p) => p.contactId }, since_time: { type: 'time', bound: 'since', get: (p) => p.paidAt }, until_time: { type: 'time', bound: 'until', get: (p) => p.paidAt },
    merchant_account_id: { type: 'set', get: () => 1 }, merchant_account_type: { type: 'string', get: (p) => (p.gateway === 'PayPal' ? 'PAYPAL' : p.gateway === 'Stripe' ? 'STRIPE' : 'KEAP_PAY') },
  };
  list2('/sales/payments', () => allPayments, {
    envelope: 'payments', maxPageSize: 1000, filters: { id: { type: 'id', isId: true, ops: ['>', '>=', '<', '<='], get: (p) => p.id }, ...paymentFilters },
    orderBy: { id: (p) => p.id, amount: (p) => p.amountCents, payment_time: (p) => p.paidAt, contact_id: (p) => p.contactId },
    serialize: (p) => V2.paymentV2(p),
  });
  list2('/sales/transactions', () => allPayments, {
    envelope: 'transactions', maxPageSize: 1000,
    filters: { ...paymentFilters, status: { type: 'string', get: (p) => (p.payStatus === 'FAILED' ? 'FAILED' : 'APPROVED') }, transaction_method: { type: 'string', get: (p) => (p.method === 'CREDIT_CARD' ? 'CAPTURE' : 'MANUAL') }, is_successful: { type: 'bool', get: (p) => p.payStatus !== 'FAILED' } },
    orderBy: { id: (p) => p.id, amount: (p) => p.amountCents, transaction_time: (p) => p.paidAt, contact_id: (p) => p.contactId },
    serialize: (p) => V2.transactionV2(p),
  });
  list1('/orders', () => s.orders, {
    envelope: 'orders',
    params: { contact_id: v1Eq((o: Order) => o.contactId), product_id: v1Eq((o: Order) => o.items.map((i) => i.productId)), paid: v1Bool((o: Order) => o.status === 'PAID'), since: v1Since((o: Order) => o.updatedAt, t), until: v1Until((o: Order) => o.updatedAt, t) },
    order: { order_date: (o) => o.orderedAt, update_date: (o) => o.updatedAt },
    serialize: (o) => V1.orderV1(s, o),
  });
  get1('/orders/{orderId}', 'orderId', () => s.orders, 'Order', (o) => V1.orderV1(s, o));
  v1('/orders/{orderId}/payments', (c) => { const oid = idParam(c, 'orderId'); if (!s.orders.has(oid)) notFound('Order'); return json(200, s.orderPayments(oid).map(V1.paymentV1)); });
  v1('/orders/{orderId}/transactions', (c) => {
    const oid = idParam(c, 'orderId'); if (!s.orders.has(oid)) notFound('Order');
    const rows = s.orderPayments(oid);
    return json(200, listV1({ get: (id) => rows.find((r) => r.id === id), *scanIds(a) { for (const r of rows) if (r.id > a) yield r.id; } }, {
      envelope: 'transactions', params: {}, order: {}, serialize: (p) => V1.transactionV1(s, p, false),
    }, c.query, c.selfUrl + '/'));
  });
  list1('/transactions', () => allPayments, {
    envelope: 'transactions',
    params: { contact_id: v1Eq((p: Payment) => p.contactId), since: v1Since((p: Payment) => p.paidAt, t), until: v1Until((p: Payment) => p.paidAt, t) },
    order: {}, serialize: (p) => V1.transactionV1(s, p, true),
  });
  get1('/transactions/{transactionId}', 'transactionId', () => allPayments, 'Transaction', (p) => V1.transactionV1(s, p, true));

  // ---------------- subscriptions ----------------
  list2('/subscriptions', () => s.subscriptions, {
    envelope: 'subscriptions', maxPageSize: 1000,
    filters: {
      contact_id: { type: 'set', get: (r) => r.contactId }, subscription_plan_id: { type: 'set', get: (r) => r.planId }, status: { type: 'string', get: (r) => (r.active ? 'ACTIVE' : 'INACTIVE') },
      id: { type: 'id', isId: true, ops: ['!=', '>', '>=', '<', '<='], get: (r) => r.id }, billing_amount: { type: 'number', ops: ['!=', '>', '>=', '<', '<='], get: (r) => r.billingAmountCents / 100 },
    },
    custom: customOf('SUBSCRIPTION', 'subscription'),
    orderBy: { id: (r) => r.id, contact_id: (r) => r.contactId, subscription_plan_id: (r) => r.planId, modification_time: (r) => r.startDate },
    serialize: (r) => withCustom(V2.subscriptionV2(r), 'SUBSCRIPTION', cov.customValues('SUBSCRIPTION', 'subscription', r.id)),
  });
  get2('/subscriptions/{subscription_id}', 'subscription_id', () => s.subscriptions, 'Subscription', (r) => V2.subscriptionV2(r));
  list1('/subscriptions', () => s.subscriptions, { envelope: 'subscriptions', params: { contact_id: v1Eq((r: { contactId: number }) => r.contactId) }, order: {}, serialize: (r) => V1.subscriptionV1(r) });

  // ---------------- opportunities and stages ----------------
  const oppsV2: V2List<Opportunity> = {
    envelope: 'opportunities', maxPageSize: 1000,
    filters: {
      stage_id: { type: 'set', get: (o) => o.stageId }, user_id: { type: 'set', get: (o) => o.userId }, contact_id: { type: 'set', get: (o) => o.contactId },
      opportunity_title: { type: 'string', prefix: true, get: (o) => o.title }, affiliate_id: { type: 'set', none: true, get: (o) => o.affiliateId },
      opportunity_id: { type: 'id', isId: true, ops: ['>', '>=', '<', '<='], get: (o) => o.id }, ids: { type: 'set', isId: true, get: (o) => o.id },
      projected_revenue_high: { type: 'number', ops: ['>', '>=', '<', '<='], get: (o) => o.revenueHigh }, projected_revenue_low: { type: 'number', ops: ['>', '>=', '<', '<='], get: (o) => o.revenueLow },
    },
    custom: { defs: s.customFields('OPPORTUNITY'), values: (o) => o.customFields },
    orderBy: { id: (o) => o.id, next_action_time: (o) => o.nextActionAt, contact_name: (o) => { const c = s.contacts.get(o.contactId); return c ? `${c.givenName} ${c.familyName}` : null; }, opportunity_title: (o) => o.title, created_time: (o) => o.createdAt, update_time: (o) => o.updatedAt },
    fields: { all: ['custom_fields', 'created_by', 'last_updated_by', 'status_id', 'monthly_revenue', 'order_revenue', 'objection', 'status', 'stage_entrance_time'], defaults: [] },
    serialize: (o, f) => V2.opportunityV2(s, o, f.has('custom_fields')),
  };
  list2('/opportunities', () => s.opportunities, oppsV2);
  get2('/opportunities/{opportunity_id}', 'opportunity_id', () => s.opportunities, 'Opportunity', (o, c) => V2.opportunityV2(s, o, fieldSet(c.query, oppsV2.fields).has('custom_fields')));
  list2('/opportunities/stages', () => s.stages, {
    envelope: 'stages', maxPageSize: 1000,
    filters: { opportunity_stage_name: { type: 'string', prefix: true, get: (r) => r.name }, opportunity_stage_id: { type: 'id', isId: true, ops: ['>', '>=', '<', '<='], get: (r) => r.id } },
    orderBy: { id: (r) => r.id, stage_order: (r) => r.order }, serialize: (r) => V2.stageV2(r),
  });
  get2('/opportunities/stages/{stage_id}', 'stage_id', () => s.stages, 'Stage', (r) => V2.stageV2(r));
  list1('/opportunities', () => s.opportunities, {
    envelope: 'opportunities',
    params: { user_id: v1Eq((o: Opportunity) => o.userId), stage_id: v1Eq((o: Opportunity) => o.stageId), search_term: (raw) => { const w = raw.toLowerCase(); return (o: Opportunity) => o.title.toLowerCase().includes(w); } },
    order: { next_action: (o) => o.nextActionAt, opportunity_name: (o) => o.title, contact_name: (o) => { const c = s.contacts.get(o.contactId); return c ? `${c.givenName} ${c.familyName}` : null; }, date_created: (o) => o.createdAt },
    serialize: (o, q) => V1.opportunityV1(s, o, (listParam(q, 'optional_properties') ?? []).includes('custom_fields')),
  });
  get1('/opportunities/{opportunityId}', 'opportunityId', () => s.opportunities, 'Opportunity', (o) => V1.opportunityV1(s, o, true));
  v1('/opportunity/stage_pipeline', () => {
    // stage_count: the opportunities in each stage
    const counts = new Map<number, number>();
    for (const o of s.opportunities.scan()) counts.set(o.stageId, (counts.get(o.stageId) ?? 0) + 1);
    return json(200, [...s.stages.scan()].map((st) => V1.stagePipelineV1(st, counts.get(st.id) ?? 0)));
  });

  // ---------------- tasks ----------------
  list2('/tasks', () => s.tasks, {
    envelope: 'tasks', maxPageSize: 1000,
    filters: {
      contact_id: { type: 'set', none: true, get: (r) => r.contactId }, has_due_date: { type: 'bool', get: (r) => r.dueAt !== null }, is_completed: { type: 'bool', get: (r) => r.completed },
      user_id: { type: 'set', get: (r) => r.userId }, opportunity_id: { type: 'set', none: true, get: () => null }, task_ids: { type: 'set', isId: true, get: (r) => r.id },
      priority: { type: 'string', none: true, get: (r) => r.priority }, since_time: { type: 'time', bound: 'since', get: (r) => r.updatedAt }, until_time: { type: 'time', bound: 'until', get: (r) => r.updatedAt },
      id: { type: 'id', isId: true, ops: ['>', '>=', '<', '<='], get: (r) => r.id }, title: { type: 'string', prefix: true, get: (r) => r.title },
    },
    orderBy: { id: (r) => r.id, create_time: (r) => r.createdAt, due_time: (r) => r.dueAt, update_time: (r) => r.updatedAt },
    fields: { all: ['custom_fields'], defaults: [] },
    custom: customOf('TASK_NOTE_APPOINTMENT', 'task'),
    serialize: (r, f) => (f.has('custom_fields') ? withCustom(V2.taskV2(r), 'TASK_NOTE_APPOINTMENT', cov.customValues('TASK_NOTE_APPOINTMENT', 'task', r.id)) : V2.taskV2(r)),
  });
  get2('/tasks/{task_id}', 'task_id', () => s.tasks, 'Task', (r) => V2.taskV2(r));
  const tasksV1: V1List<Task> = {
    envelope: 'tasks', syncToken: true,
    params: { completed: v1Bool((r: Task) => r.completed), contact_id: v1Eq((r: Task) => r.contactId), has_due_date: v1Bool((r: Task) => r.dueAt !== null), user_id: v1Eq((r: Task) => r.userId), since: v1Since((r: Task) => r.updatedAt, t), until: v1Until((r: Task) => r.updatedAt, t) },
    order: { due_date: (r) => r.dueAt, date_created: (r) => r.createdAt, last_updated: (r) => r.updatedAt },
    serialize: (r) => V1.taskV1(s, r),
  };
  list1('/tasks', () => s.tasks, tasksV1);
  list1('/tasks/search', () => s.tasks, tasksV1);
  get1('/tasks/{taskId}', 'taskId', () => s.tasks, 'Task', (r) => V1.taskV1(s, r));

  // ---------------- notes ----------------
  const noteFilters: FilterSpec<Note> = {
    id: { type: 'id', isId: true, ops: ['!=', '>', '>=', '<', '<='], get: (n) => n.id }, ids: { type: 'set', isId: true, get: (n) => n.id },
    title: { type: 'string', get: (n) => n.title }, contact_id: { type: 'set', get: (n) => n.contactId }, assigned_to_user_id: { type: 'set', get: (n) => n.userId },
    since_time: { type: 'time', bound: 'since', get: (n) => n.updatedAt }, until_time: { type: 'time', bound: 'until', get: (n) => n.updatedAt },
  };
  const notesV2: V2List<Note> = {
    envelope: 'notes', maxPageSize: 1000, filters: noteFilters,
    orderBy: { id: (n) => n.id, create_time: (n) => n.createdAt, update_time: (n) => n.updatedAt },
    fields: { all: ['custom_fields'], defaults: [] }, custom: customOf('TASK_NOTE_APPOINTMENT', 'note'),
    serialize: (n, f) => (f.has('custom_fields') ? withCustom(V2.noteV2(s, n), 'TASK_NOTE_APPOINTMENT', cov.customValues('TASK_NOTE_APPOINTMENT', 'note', n.id)) : V2.noteV2(s, n)),
  };
  list2('/notes', () => s.notes, notesV2);
  list2('/contacts/{contact_id}/notes', (c) => {
    const cid = idParam(c, 'contact_id'); if (!s.contacts.has(cid)) notFound('Contact');
    return { get: (id) => { const n = s.notes.get(id); return n && n.contactId === cid ? n : undefined; }, *scanIds(after) { for (const n of s.notes.scan(after)) if (n.contactId === cid) yield n.id; } };
  }, notesV2);
  v2('/contacts/{contact_id}/notes/{note_id}', (c) => { const n = s.notes.get(idParam(c, 'note_id')); if (!n || n.contactId !== idParam(c, 'contact_id')) notFound('Note'); return json(200, V2.noteV2(s, n!)); });
  list1('/notes', () => s.notes, { envelope: 'notes', params: { contact_id: v1Eq((n: Note) => n.contactId), user_id: v1Eq((n: Note) => n.userId) }, order: {}, serialize: (n) => V1.noteV1(s, n) });
  get1('/notes/{noteId}', 'noteId', () => s.notes, 'Note', (n) => V1.noteV1(s, n));

  // ---------------- campaigns, emails, users, appointments, files, affiliates ----------------
  list2('/campaigns', () => s.campaigns, {
    envelope: 'campaigns', maxPageSize: 1000, filters: { name: { type: 'string', get: (r) => r.name } },
    orderBy: { id: (r) => r.id, name: (r) => r.name, publisheddate: (r) => r.publishedAt, completedContactCount: (r) => r.completedCount, activeContacts: (r) => r.activeCount, datecreated: (r) => r.createdAt, lastupdated: (r) => r.updatedAt },
    serialize: (r) => V2.campaignV2(r),
  });
  get2('/campaigns/{campaign_id}', 'campaign_id', () => s.campaigns, 'Campaign', (r) => V2.campaignV2(r));
  list1('/campaigns', () => s.campaigns, {
    envelope: 'campaigns', params: { search_text: (raw) => { const w = raw.toLowerCase(); return (r: { name: string }) => r.name.toLowerCase().includes(w); } },
    order: { id: (r) => r.id, name: (r) => r.name, published_date: (r) => r.publishedAt, completed_contact_count: (r) => r.completedCount, active_contact_count: (r) => r.activeCount, date_created: (r) => r.createdAt, last_updated: (r) => r.updatedAt },
    serialize: (r) => V1.campaignV1(r),
  });
  get1('/campaigns/{campaignId}', 'campaignId', () => s.campaigns, 'Campaign', (r) => ({ ...V1.campaignV1(r), goals: [], sequences: [] }));

  list2('/emails', () => s.emails, {
    envelope: 'emails', maxPageSize: 1000,
    filters: { contact_id: { type: 'set', get: (e) => e.contactId }, since_sent_time: { type: 'time', bound: 'since', get: (e) => e.sentAt }, until_sent_time: { type: 'time', bound: 'until', get: (e) => e.sentAt } },
    orderBy: { id: (e) => e.id, created_time: (e) => e.sentAt }, serialize: (e) => V2.emailV2(e),
  });
  get2('/emails/{id}', 'id', () => s.emails, 'Email', (e) => V2.emailV2(e));
  const emailsV1: V1List<import('./model.js').SentEmail> = {
    envelope: 'emails',
    params: { contact_id: v1Eq((e) => e.contactId), email: v1Eq((e) => e.toAddress), since_sent_date: v1Since((e) => e.sentAt, t), until_sent_date: v1Until((e) => e.sentAt, t) },
    order: {}, serialize: (e) => V1.emailV1(e),
  };
  list1('/emails', () => s.emails, emailsV1);
  get1('/emails/{id}', 'id', () => s.emails, 'Email', (e) => ({ ...V1.emailV1(e), html_content: Buffer.from(`<p>${e.subject}</p>`).toString('base64'), plain_content: Buffer.from(e.subject).toString('base64') }));
  v1('/contacts/{contactId}/emails', (c) => {
    const cid = idParam(c, 'contactId'); if (!s.contacts.has(cid)) notFound('Contact');
    return json(200, listV1({ get: (id) => { const e = s.emails.get(id); return e && e.contactId === cid ? e : undefined; }, *scanIds(a) { for (const e of s.emails.scan(a)) if (e.contactId === cid) yield e.id; } }, emailsV1, c.query, c.selfUrl + '/'));
  });

  list2('/users', () => s.users, {
    envelope: 'users', maxPageSize: 100,
    filters: { email: { type: 'string', get: (u) => u.email }, given_name: { type: 'string', get: (u) => u.givenName }, include_inactive: { type: 'bool', get: () => true }, include_partners: { type: 'bool', get: () => true }, user_ids: { type: 'set', isId: true, get: (u) => u.id } },
    orderBy: { id: (u) => u.id, create_time: (u) => u.createdAt, email: (u) => u.email, name: (u) => `${u.givenName} ${u.familyName}` },
    serialize: (u) => V2.userV2(u),
  });
  get2('/users/{user_id}', 'user_id', () => s.users, 'User', (u) => V2.userV2(u));
  v1('/users', (c) => {
    const incInactive = c.query.get('include_inactive') === 'true'; const incPartners = c.query.get('include_partners') === 'true';
    return json(200, listV1({ get: (id) => { const u = s.users.get(id); return u && (incInactive || u.status !== 'INACTIVE') && (incPartners || !u.partner) ? u : undefined; }, scanIds: (a) => s.users.scanIds(a) }, { envelope: 'users', params: {}, order: {}, serialize: (u) => V1.userV1(u) }, c.query, c.selfUrl + '/'));
  });

  list1('/appointments', () => s.appointments, {
    envelope: 'appointments', syncToken: true,
    params: { contact_id: v1Eq((a: { contactId: number }) => a.contactId), since: v1Since((a: { updatedAt: number }) => a.updatedAt, t), until: v1Until((a: { updatedAt: number }) => a.updatedAt, t) },
    order: {}, serialize: (a) => V1.appointmentV1(a),
  });
  get1('/appointments/{appointmentId}', 'appointmentId', () => s.appointments, 'Appointment', (a) => V1.appointmentV1(a));

  list2('/files', () => s.files, {
    envelope: 'files', maxPageSize: 1000,
    filters: { is_public: { type: 'bool', get: (f) => f.isPublic }, contact_id: { type: 'set', none: true, get: (f) => f.contactId }, user_id: { type: 'set', get: (f) => f.createdBy }, file_name: { type: 'string', prefix: true, get: (f) => f.fileName }, created_time: { type: 'time', ops: ['>', '>=', '<', '<='], get: (f) => f.createdAt }, updated_time: { type: 'time', ops: ['>', '>=', '<', '<='], get: (f) => f.updatedAt } },
    orderBy: { id: (f) => f.id, file_name: (f) => f.fileName, updated_time: (f) => f.updatedAt }, serialize: (f) => V2.fileV2(f),
  });
  get2('/files/{file_id}', 'file_id', () => s.files, 'File', (f) => V2.fileV2(f));
  list1('/files', () => s.files, {
    envelope: 'files',
    params: { contact_id: v1Eq((f: import('./model.js').FileMeta) => f.contactId), name: (raw) => { const w = raw.toLowerCase(); const pre = w.endsWith('*'); const x = pre ? w.slice(0, -1) : w; return (f) => (pre ? f.fileName.toLowerCase().startsWith(x) : f.fileName.toLowerCase() === x); }, viewable: (raw) => (f) => raw.toUpperCase() === 'BOTH' || f.isPublic === (raw.toUpperCase() === 'PUBLIC') },
    order: {}, serialize: (f) => V1.fileV1(f, env.baseUrl()),
  });
  get1('/files/{fileId}', 'fileId', () => s.files, 'File', (f, c) => ({ file_descriptor: V1.fileV1(f, env.baseUrl()), file_data: (listParam(c.query, 'optional_properties') ?? []).includes('file_data') ? Buffer.from(`sandbox file ${f.id}`).toString('base64') : null }));

  list2('/affiliates', () => s.affiliates, {
    envelope: 'affiliates', maxPageSize: 1000,
    filters: { id: { type: 'id', isId: true, ops: ['!=', '>', '>=', '<', '<='], get: (a) => a.id }, name: { type: 'string', prefix: true, get: (a) => a.name }, contact_id: { type: 'set', get: (a) => a.contactId }, status: { type: 'string', get: (a) => (a.active ? 'ACTIVE' : 'INACTIVE') }, code: { type: 'string', get: (a) => a.code } },
    custom: customOf('REFERRAL_PARTNER', 'affiliate'),
    orderBy: { id: (a) => a.id, date_created: (a) => a.createdAt, name: (a) => a.name, status: (a) => a.active, code: (a) => a.code },
    serialize: (a) => withCustom(V2.affiliateV2(a), 'REFERRAL_PARTNER', cov.customValues('REFERRAL_PARTNER', 'affiliate', a.id)),
  });
  get2('/affiliates/{id}', 'id', () => s.affiliates, 'Affiliate', (a) => V2.affiliateV2(a));
  list1('/affiliates', () => s.affiliates, {
    envelope: 'affiliates',
    params: { name: v1Eq((a: import('./model.js').Affiliate) => a.name), code: v1Eq((a: import('./model.js').Affiliate) => a.code), parent_id: v1Eq((a: import('./model.js').Affiliate) => a.parentId), contact_id: v1Eq((a: import('./model.js').Affiliate) => a.contactId), status: (raw) => (a) => a.active === (raw.toLowerCase() === 'active') },
    order: { id: (a) => a.id, name: (a) => a.name }, serialize: (a) => V1.affiliateV1(a),
  });
  get1('/affiliates/{id}', 'id', () => s.affiliates, 'Affiliate', (a) => V1.affiliateV1(a));

  // ---------------- lead sources (v2 only) ----------------
  list2('/leadSources', () => s.leadSources, {
    envelope: 'lead_sources', maxPageSize: 1000,
    filters: {
      id: { type: 'id', isId: true, ops: ['!=', '>', '>=', '<', '<='], get: (l) => l.id }, name: { type: 'string', prefix: true, get: (l) => l.name },
      status: { type: 'string', get: (l) => (l.active ? 'ACTIVE' : 'INACTIVE') }, lead_source_category_id: { type: 'set', get: (l) => l.categoryId },
      vendor: { type: 'string', prefix: true, none: true, get: (l) => l.vendor }, medium: { type: 'string', prefix: true, get: (l) => l.medium },
      message: { type: 'string', prefix: true, none: true, get: (l) => l.message }, description: { type: 'string', prefix: true, get: (l) => l.description },
      start_time: { type: 'time', bound: 'since', get: (l) => l.startAt }, end_time: { type: 'time', bound: 'until', get: (l) => l.endAt },
    },
    orderBy: { id: (l) => l.id, name: (l) => l.name, status: (l) => (l.active ? 'ACTIVE' : 'INACTIVE'), vendor: (l) => l.vendor, medium: (l) => l.medium, start_time: (l) => l.startAt, end_time: (l) => l.endAt, create_time: (l) => l.createdAt, update_time: (l) => l.updatedAt },
    serialize: (l) => V2.leadSourceV2(l),
  });
  get2('/leadSources/{lead_source_id}', 'lead_source_id', () => s.leadSources, 'Lead Source', (l) => V2.leadSourceV2(l));
  list2('/leadSourceCategories', () => s.leadSourceCategories, {
    envelope: 'lead_source_categories', maxPageSize: 1000,
    filters: { name: { type: 'string', prefix: true, get: (c) => c.name }, description: { type: 'string', prefix: true, get: (c) => c.description } },
    orderBy: { id: (c) => c.id, name: (c) => c.name, create_time: (c) => c.createdAt, update_time: (c) => c.updatedAt },
    serialize: (c) => V2.leadSourceCategoryV2(c),
  });
  get2('/leadSourceCategories/{lead_source_category_id}', 'lead_source_category_id', () => s.leadSourceCategories, 'Lead Source Category', (c) => V2.leadSourceCategoryV2(c));

  // ---------------- custom-field models ----------------
  const models: [string, CustomRecordType, string[]][] = [
    ['contacts', 'CONTACT', V1.CONTACT_OPTIONAL_PROPERTIES], ['companies', 'COMPANY', V1.COMPANY_OPTIONAL_PROPERTIES], ['orders', 'ORDER', []],
    ['opportunities', 'OPPORTUNITY', ['custom_fields']], ['subscriptions', 'SUBSCRIPTION', []], ['tasks', 'TASK_NOTE_APPOINTMENT', []],
    ['notes', 'TASK_NOTE_APPOINTMENT', []], ['affiliates', 'REFERRAL_PARTNER', []],
  ];
  for (const [path, type, optional] of models) {
    v1(`/${path}/model`, () => json(200, { custom_fields: s.customFields(type).map(V1.customFieldDefV1), optional_properties: optional }));
    v2(`/${path}/model`, () => json(200, { custom_fields: s.customFields(type).map(V2.customFieldDefV2), optional_properties: path === 'contacts' ? V2.CONTACT_FIELDS.filter((f) => !V2.CONTACT_DEFAULT_FIELDS.includes(f)) : optional }));
  }
  // appointments share their custom fields with tasks and notes (record type TASK_NOTE_APPOINTMENT)
  v1('/appointments/model', () => json(200, { custom_fields: s.customFields('TASK_NOTE_APPOINTMENT').map(V1.customFieldDefV1), optional_properties: [] }));

  // ---------------- who am I ----------------
  const admin = (): import('./model.js').User => s.users.get(1)!;
  v1('/oauth/connect/userinfo', () => { const u = admin(); return json(200, { email: u.email, family_name: u.familyName, given_name: u.givenName, global_user_id: u.globalUserId, infusionsoft_id: u.email, is_admin: true, middle_name: '', preferred_name: u.givenName, sub: String(u.globalUserId) }); });
  v2('/oauth/connect/userinfo', () => { const u = admin(); return json(200, { email: u.email, sub: String(u.globalUserId), id: String(u.id), keap_id: u.email, family_name: u.familyName, given_name: u.givenName, middle_name: '', preferred_name: u.givenName, is_admin: true, tenant_id: env.tenant }); });
  v1('/account/profile', () => json(200, { name: 'Sandbox Business', email: admin().email, phone: '(480) 555-0100', phone_ext: null, website: 'https://sandbox-business.example', time_zone: 'America/Phoenix', currency_code: 'USD', language_tag: 'en-US', logo_url: null, business_type: 'Coaching', business_goals: [], business_primary_color: '#1B6EBF', business_secondary_color: '#FFFFFF', address: { field: 'BILLING', line1: '100 Main St', line2: null, locality: 'Phoenix', region: 'Arizona', zip_code: '85001', zip_four: null, country_code: 'USA' } }));
  return routes;
}


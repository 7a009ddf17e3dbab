// GET endpoints of the resources added for issue 13, as the reference (spec/KEAP-REFERENCE.md) and the OpenAPI
// files describe them: envelopes, filters, order_by and id spellings (v2 string ids, v1 numbers).
import { ApiError } from './http-errors.js';
import { listV1, listV2, v1Since, v1Until, type Source, type V2List } from './listing.js';
import { money, currencyValue, parseTime, v1Time, v2Time } from './formats.js';
import { hash32 } from './random.js';
import { productOptions, productOptionV2 } from './product-options.js';
import { DATA_END } from './generate.js';
import { json, type Route, type RouteEnv, type RequestContext } from './routes.js';
import { coverageData, COUNTRIES, AUTOMATION_CATEGORIES, CONTACT_OPTIONS, HOOK_EVENT_KEYS, USER_GROUPS, WORDPRESS_OPT_INS, TAB_RECORD_TYPES, REPORT_FIELDS, type Commission, type Discount, type DiscountKind, type PaymentMethodRec, type Referral, type StageMove } from './coverage-data.js';
import type { FilterSpec } from './filters.js';

const REST = '/crm/rest';
const HOUR = 3_600_000; const DAY = 24 * HOUR;
const idOf = (c: RequestContext, name: string, kind: string): number => {
  const raw = c.params[name]!; const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new ApiError(404, `Invalid id: ${raw}`);
  if (n < 1) throw new ApiError(404, `Unable to find this ${kind}`);
  return n;
};
/** A fixed list as a Source (ids ascending). */
const listSource = <T extends { id: number }>(rows: readonly T[]): Source<T> => ({
  get: (id) => rows.find((r) => r.id === id), *scanIds(after) { for (const r of rows) if (r.id > after) yield r.id; }, size: rows.length, nthId: (k) => rows[k]?.id,
});
/** A whole list in one body (endpoints without paging parameters). */
const unpaged = (envelope: string, rows: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ [envelope]: rows, ...extra, next_page_token: '' });

export function coverageRoutes(env: RouteEnv): Route[] {
  const s = env.store;
  const d = (): ReturnType<typeof coverageData> => coverageData(s);
  const routes: Route[] = [];
  const v2 = (pattern: string, handle: Route['handle']): void => { routes.push({ method: 'GET', pattern: `${REST}/v2${pattern}`, version: 'v2', handle }); };
  const v1 = (pattern: string, handle: Route['handle']): void => { routes.push({ method: 'GET', pattern: `${REST}/v1${pattern}`, version: 'v1', handle }); };
  const t = (x: string): number | undefined => parseTime(x);
  const admin = (): NonNullable<ReturnType<typeof s.users.get>> => s.users.get(1)!;

  // ---------------- account settings ----------------
  v2('/businessProfile', () => json(200, {
    name: 'Sandbox Business', email: admin().email, phone: '(480) 555-0100', website: 'https://sandbox-business.example', time_zone: 'America/Phoenix',
    currency_code: 'USD', language_tag: 'en-US', business_type: 'Coaching', business_goals: ['Grow Business', 'Convert more leads'],
    business_primary_color: '#1B6EBF', business_secondary_color: '#FFFFFF',
    address: { line1: '100 Main St', locality: 'Phoenix', region: 'Arizona', postal_code: '85001', country_code: 'USA' },
  }));
  v2('/settings/applications:getConfiguration', () => json(200, {
    affiliate: { choose_affiliate: false, commission: { calculation_type: 'SALE_AMOUNT', levels: 2, participant_types: 'REFERRAL_PARTNER' }, custom_affiliate_url: '', display_affiliate_ip_address: false, do_not_notify_affiliate: false, skip_pay_if_unused: true, use_referral_history_if_no_tracking_cookie: true },
    application: { company: { name: 'Sandbox Business', email: admin().email, phone: '(480) 555-0100', street_address_1: '100 Main St', city: 'Phoenix', state: 'Arizona', zip: '85001', country: 'United States', website: 'https://sandbox-business.example' }, default_view_locale: 'en_US', features_enabled: { marketing: true }, time_zone: 'America/Phoenix' },
    appointment: { appointment_types: 'Call,Meeting,Demo', share_opportunity_with_related_user: false },
    contact: { address_labels: { line_1: 'Street Address 1', line_2: 'Street Address 2', line_3: 'Street Address 3' }, contact_types: 'Lead,Customer,Other', default_new_contact_form: 'Standard', disable_contact_edit_in_client_login: false, fax_types: 'Work,Home', phone_types: 'Work,Home,Mobile,Other', suffix_types: 'Jr,Sr,III', title_types: 'Mr.,Mrs.,Ms.,Dr.' },
    ecommerce: { credit_card_types: 'Visa,MasterCard,American Express,Discover', currency: 'USD', default_charge_max_retry_attempts: 3, default_country: 'United States', default_merchant: '1', default_number_of_days_between_charge_attempts: 3, default_to_auto_charge: true, merchant_account_max_retry_attempts: 3, payment_types: 'Credit Card,Cash,Check', promo_codes: '', track_cost_per_unit: true, track_inventory: false },
    email: { append_contact_key_to_links: true, default_opt_in_link: 'https://sandbox-business.example/opt-in', default_opt_out_link: 'https://sandbox-business.example/opt-out', hide_emails_to_and_from_domains: '', whitelisted_domains: 'sandbox-business.example' },
    forms: { spam_filters_enabled: true },
    fulfillment: { default_message_fields: 'name,address', default_message_to: 'fulfillment@sandbox-business.example' },
    invoice: { tax_label: 'Sales tax' },
    note: { appointment_types: 'Call,Meeting', share_opportunity_with_related_user: false },
    opportunity: { default_stage: '1', states: { active: { stages: '1,2,3,4' }, loss: { reasons: 'Price,Timing,Competitor', stage: '6' }, win: { reasons: 'Fit,Price', stage: '5' } } },
    task: { appointment_types: 'Call,Email,Follow-up', share_opportunity_with_related_user: false },
    template: { default_country_code: 1, default_user_id: '1' },
  }));
  v2('/users/{user_id}/signature', (c) => json(200, d().signature(idOf(c, 'user_id', 'User')) ?? (() => { throw new ApiError(404, 'Unable to find this User'); })()));

  // ---------------- categories, locales, merchants, shipping ----------------
  v2('/automationCategory', () => {
    const counts = new Map<number, number>();
    for (const cmp of s.campaigns.scan()) { const k = 1 + ((cmp.id - 1) % AUTOMATION_CATEGORIES.length); counts.set(k, (counts.get(k) ?? 0) + 1); }
    return json(200, unpaged('automation_categories', AUTOMATION_CATEGORIES.map((name, i) => ({ id: String(i + 1), name, automation_count: counts.get(i + 1) ?? 0 }))));
  });
  v2('/locales/countries', () => json(200, unpaged('countries', COUNTRIES.map((x) => ({ codes: { alpha2: x.alpha2, alpha3: x.alpha3 }, name: x.name })))));
  v2('/locales/countries/{country_code}/provinces', (c) => {
    const code = c.params.country_code!.toUpperCase();
    const country = COUNTRIES.find((x) => x.alpha3 === code || x.alpha2 === code);
    if (!country) throw new ApiError(404, `Unable to find country ${c.params.country_code}`);
    return json(200, unpaged('provinces', country.provinces.map(([pc, name]) => ({ code: pc, name, country: country.alpha3 }))));
  });
  const merchantsV2: V2List<ReturnType<ReturnType<typeof d>['merchants']['get']> & object> = {
    envelope: 'merchant_accounts', maxPageSize: 1000,
    filters: { id: { type: 'set', isId: true, get: (m) => m.id }, name: { type: 'string', get: (m) => m.name }, type: { type: 'string', get: (m) => m.type } },
    orderBy: { id: (m) => m.id, name: (m) => m.name },
    serialize: (m) => ({ id: String(m.id), name: m.name, type: m.type, is_test: m.isTest }),
  };
  v2('/merchants', (c) => json(200, { ...listV2(d().merchants, merchantsV2, c.query), default_merchant_account_id: '1' }));
  v2('/shipping', () => json(200, unpaged('shipping_methods', [...d().shippingMethods.scan()].map((m) => ({ id: String(m.id), name: m.name, description: m.description, type: m.type, status: m.status, international: m.international, settings: m.settings })))));
  v2('/productCategories', (c) => json(200, listV2(d().productCategories, {
    envelope: 'product_categories', maxPageSize: 1000,
    filters: {
      name: { type: 'string', prefix: true, get: (x) => x.name },
      product_category_id: { type: 'id', isId: true, ops: ['!=', '>', '>=', '<', '<='], get: (x) => x.id },
      // a product is in the category its id falls in (products cycle through the first six)
      product_id: { type: 'set', get: (x) => (x.id <= 6 ? [...s.products.scanIds(0)].filter((p) => 1 + ((p - 1) % 6) === x.id) : []) as never },
    },
    orderBy: { id: (x) => x.id },
    serialize: (x) => ({ id: String(x.id), name: x.name, display_order_index: x.displayOrder, parent_category_id: x.parentId === null ? undefined : String(x.parentId) }),
  }, c.query)));

  // ---------------- contact links ----------------
  v2('/contacts/links/types', (c) => json(200, listV2(d().linkTypes, {
    envelope: 'contact_link_types', maxPageSize: 1000,
    filters: { name: { type: 'string', get: (x) => x.name } },
    orderBy: { id: (x) => x.id, name: (x) => x.name, max_links: (x) => x.maxLinks, create_time: (x) => x.createdAt },
    serialize: (x) => ({ id: String(x.id), name: x.name, max_links: x.maxLinks, create_time: v2Time(x.createdAt) }),
  }, c.query)));
  v2('/contacts/{contact_id}/links', (c) => {
    const id = idOf(c, 'contact_id', 'Contact');
    if (!s.contacts.has(id)) throw new ApiError(404, 'Unable to find this Contact');
    return json(200, unpaged('links', d().contactLinks(id).map((l) => ({ contact1_id: String(l.contact1Id), contact2_id: String(l.contact2Id), link_type_id: String(l.linkTypeId), link_type_name: d().linkTypes.get(l.linkTypeId)!.name }))));
  });

  // ---------------- email templates, REST hooks ----------------
  v2('/emails/templates', (c) => json(200, listV2(d().emailTemplates, {
    envelope: 'email_templates', maxPageSize: 1000, filters: {}, orderBy: { id: (x) => x.id },
    serialize: (x) => ({ id: x.id, piece_title: x.title, categories: x.categories, from_address: x.fromAddress, to_address: x.toAddress, cc_address: x.cc ?? undefined, bcc_address: x.bcc ?? undefined, subject: x.subject, content_type: x.contentType, merge_context: x.mergeContext }),
  }, c.query)));
  v1('/hooks', () => json(200, d().hooks.map((h) => ({ key: h.key, eventKey: h.eventKey, hookUrl: h.hookUrl, status: h.status }))));

  // ---------------- lead source expenses ('-' lists every lead source's) ----------------
  const leadSourceFilter = (c: RequestContext): ((leadSourceId: number) => boolean) => {
    const raw = c.params.lead_source_id!;
    if (raw === '-') return () => true;
    const id = idOf(c, 'lead_source_id', 'Lead Source');
    if (!s.leadSources.has(id)) throw new ApiError(404, 'Unable to find this Lead Source');
    return (x) => x === id;
  };
  const exact = <T>(get: (r: T) => number) => ({ type: 'time' as const, get });
  v2('/leadSources/{lead_source_id}/expenses', (c) => {
    const keep = leadSourceFilter(c);
    const src: Source<NonNullable<ReturnType<ReturnType<typeof d>['expenses']['get']>>> = { get: (id) => { const e = d().expenses.get(id); return e && keep(e.leadSourceId) ? e : undefined; }, *scanIds(after) { for (const e of d().expenses.scan(after)) if (keep(e.leadSourceId)) yield e.id; } };
    return json(200, listV2(src, {
      envelope: 'lead_source_expenses', maxPageSize: 1000,
      filters: { title: { type: 'string', get: (e) => e.title }, amount: { type: 'number', get: (e) => e.amountCents }, incurred_time: exact((e) => e.incurredAt), create_time: exact((e) => e.createdAt), update_time: exact((e) => e.updatedAt) },
      orderBy: { id: (e) => e.id, title: (e) => e.title, amount: (e) => e.amountCents, incurred_time: (e) => e.incurredAt, create_time: (e) => e.createdAt, update_time: (e) => e.updatedAt },
      serialize: (e) => ({ id: String(e.id), title: e.title, notes: e.notes ?? undefined, amount: currencyValue(e.amountCents), lead_source_id: String(e.leadSourceId), lead_source_recurring_expense_id: e.recurringId === null ? undefined : String(e.recurringId), create_time: v2Time(e.createdAt), update_time: v2Time(e.updatedAt), incurred_time: v2Time(e.incurredAt) }),
    }, c.query));
  });
  v2('/leadSources/{lead_source_id}/recurringExpenses', (c) => {
    const keep = leadSourceFilter(c);
    const src: Source<NonNullable<ReturnType<ReturnType<typeof d>['recurringExpenses']['get']>>> = { get: (id) => { const e = d().recurringExpenses.get(id); return e && keep(e.leadSourceId) ? e : undefined; }, *scanIds(after) { for (const e of d().recurringExpenses.scan(after)) if (keep(e.leadSourceId)) yield e.id; } };
    return json(200, listV2(src, {
      envelope: 'lead_source_recurring_expenses', maxPageSize: 1000,
      filters: { title: { type: 'string', get: (e) => e.title }, amount: { type: 'number', get: (e) => e.amountCents }, start_time: exact((e) => e.startAt), end_time: exact((e) => e.endAt ?? Number.NaN), next_expense_time: exact((e) => e.nextAt ?? Number.NaN), create_time: exact((e) => e.createdAt), update_time: exact((e) => e.updatedAt) },
      orderBy: { id: (e) => e.id, title: (e) => e.title, amount: (e) => e.amountCents, start_time: (e) => e.startAt, end_time: (e) => e.endAt, next_expense_time: (e) => e.nextAt, create_time: (e) => e.createdAt, update_time: (e) => e.updatedAt },
      serialize: (e) => ({ id: String(e.id), title: e.title, notes: e.notes ?? undefined, amount: currencyValue(e.amountCents), lead_source_id: String(e.leadSourceId), start_time: v2Time(e.startAt), end_time: e.endAt === null ? undefined : v2Time(e.endAt), next_expense_time: e.nextAt === null ? undefined : v2Time(e.nextAt), create_time: v2Time(e.createdAt), update_time: v2Time(e.updatedAt) }),
    }, c.query));
  });

  // ---------------- campaign goals and sequences ----------------
  const campaignOf = (c: RequestContext): number => { const id = idOf(c, 'campaign_id', 'Campaign'); if (!s.campaigns.has(id)) throw new ApiError(404, 'Unable to find this Campaign'); return id; };
  v2('/campaigns/{campaign_id}/goals', (c) => { const id = campaignOf(c); return json(200, unpaged('goals', d().goals(id).map((g) => ({ id: String(g.id), name: g.name, type: g.type, historical_contact_counts: { '24_hours': g.last24h, '30_days': g.last30d }, next_sequence_ids: g.next.map(String), previous_sequence_ids: g.previous.map(String) })), { campaign_id: String(id) })); });
  v2('/campaigns/{campaign_id}/sequences', (c) => { const id = campaignOf(c); return json(200, unpaged('sequences', d().sequences(id).map((q) => ({ id: String(q.id), name: q.name, active_contact_count: q.active, active_contact_count_completed: q.completed, historical_contact_count: { '24_hours': q.last24h, '30_days': q.last30d }, paths: [] })), { campaign_id: String(id) })); });

  // ---------------- affiliates: programs, redirects, summaries, payouts, commissions, clawbacks ----------------
  v2('/affiliates/commissionPrograms', (c) => json(200, listV2(d().programs, {
    envelope: 'commission_programs', maxPageSize: 1000,
    filters: { name: { type: 'string', get: (p) => p.name }, affiliate_id: { type: 'set', get: (p) => p.affiliateIds as never } },
    orderBy: { id: (p) => p.id, name: (p) => p.name, date_created: (p) => p.createdAt },
    serialize: (p) => ({ id: String(p.id), name: p.name, priority: String(p.priority), notes: p.notes ?? undefined, create_time: v2Time(p.createdAt), affiliate_ids: p.affiliateIds.map(String) }),
  }, c.query)));
  v2('/affiliates/redirects', (c) => json(200, listV2(d().redirects, {
    envelope: 'affiliate_links', maxPageSize: 1000,
    filters: { name: { type: 'string', get: (r) => r.name }, affiliate_id: { type: 'set', get: (r) => r.affiliateId } },
    orderBy: { id: (r) => r.id, name: (r) => r.name, date_created: (r) => r.createdAt },
    serialize: (r) => ({ id: String(r.id), name: r.name, code: r.code, affiliate_id: String(r.affiliateId), local_url_code: r.localUrlCode, redirect_url: r.redirectUrl, website_address: r.websiteAddress, program_ids: r.programIds.map(String), date_created: v2Time(r.createdAt) }),
  }, c.query)));
  v2('/affiliates/summaries', (c) => {
    // the window (since_time/until_time) bounds the commissions summed; amounts are in currency units
    const f = c.query.get('filter') ?? '';
    const since = /since_time==([^;]+)/.exec(f)?.[1]; const until = /until_time==([^;]+)/.exec(f)?.[1];
    const lo = since === undefined ? -Infinity : t(since) ?? (() => { throw new ApiError(400, `Invalid since_time: '${since}'`); })();
    const hi = until === undefined ? Infinity : t(until) ?? (() => { throw new ApiError(400, `Invalid until_time: '${until}'`); })();
    const totals = new Map<number, { earned: number; clawbacks: number; paid: number }>();
    for (const a of s.affiliates.scan()) totals.set(a.id, { earned: 0, clawbacks: 0, paid: d().payouts(a.id).reduce((x, p) => x + p.amountCents, 0) });
    for (const cm of d().commissions()) {
      if (cm.payment.paidAt < lo || cm.payment.paidAt > hi) continue;
      const x = totals.get(cm.affiliateId); if (!x) continue;
      x.earned += cm.amountCents;
      if (cm.clawedBack) x.clawbacks += cm.amountCents;
    }
    interface Summary { id: number; earned: number; clawbacks: number; paid: number }
    const rows: Summary[] = [...totals].map(([id, x]) => ({ id, ...x }));
    return json(200, listV2(listSource(rows), {
      envelope: 'affiliate_summaries', maxPageSize: 1000,
      filters: { affiliate_ids: { type: 'set', isId: true, get: (r) => r.id }, since_time: { type: 'string', get: () => null }, until_time: { type: 'string', get: () => null } },
      orderBy: { id: (r) => r.id, affiliate_id: (r) => r.id, amount_earned: (r) => r.earned, balance: (r) => r.earned - r.clawbacks - r.paid, clawbacks: (r) => r.clawbacks },
      serialize: (r) => ({ affiliateId: r.id, clawbacks: money(r.clawbacks), balance: money(r.earned - r.clawbacks - r.paid), amountEarned: money(r.earned) }),
    }, stripWindow(c.query)));
  });
  v2('/affiliates/{affiliate_id}/payments', (c) => {
    const id = idOf(c, 'affiliate_id', 'Affiliate');
    if (!s.affiliates.has(id)) throw new ApiError(404, 'Unable to find this Affiliate');
    return json(200, listV2(listSource(d().payouts(id)), {
      envelope: 'affiliate_payments', maxPageSize: 1000,
      filters: { since_time: { type: 'time', bound: 'since', get: (p) => p.payDate }, until_time: { type: 'time', bound: 'until', get: (p) => p.payDate } },
      orderBy: { id: (p) => p.id, create_time: (p) => p.createdAt, pay_date: (p) => p.payDate, pay_amount: (p) => p.amountCents },
      serialize: (p) => ({ id: String(p.id), pay_date: v2Time(p.payDate), pay_notes: p.notes ?? undefined, pay_amount: money(p.amountCents), pay_type: p.type, create_time: v2Time(p.createdAt) }),
    }, c.query));
  });
  const commissionV1 = (cm: Commission, clawback: boolean): Record<string, unknown> => {
    const customer = s.contacts.get(cm.order.contactId);
    const seller = s.affiliates.get(cm.affiliateId);
    const sellerContact = seller && s.contacts.get(seller.contactId);
    const names = clawback
      ? { given_name: customer?.givenName ?? null, family_name: customer?.familyName ?? null, sale_affiliate_id: cm.affiliateId, sold_by_given_name: sellerContact?.givenName ?? null, sold_by_family_name: sellerContact?.familyName ?? null, subscription_plan_name: null }
      : { contact_first_name: customer?.givenName ?? null, contact_last_name: customer?.familyName ?? null, sales_affiliate_id: cm.affiliateId, sold_by_first_name: sellerContact?.givenName ?? null, sold_by_last_name: sellerContact?.familyName ?? null };
    return {
      [clawback ? 'amount' : 'amount_earned']: money(clawback ? -cm.amountCents : cm.amountCents), contact_id: cm.order.contactId, date_earned: v1Time(cm.payment.paidAt),
      description: `${clawback ? 'Clawback' : 'Commission'} on ${cm.order.title}`, invoice_id: cm.order.id, product_name: cm.order.items[0]?.name ?? null, ...names,
    };
  };
  const earnedAt = (cm: Commission): number => cm.payment.paidAt;
  v1('/affiliates/commissions', (c) => {
    const raw = c.query.get('affiliateId');
    const only = raw === null || raw === '' ? undefined : Number(raw);
    if (only !== undefined && !Number.isSafeInteger(only)) throw new ApiError(400, `Invalid affiliateId: '${raw}'`);
    return json(200, listV1(listSource(d().commissions(only)), {
      envelope: 'commissions', params: { since: v1Since(earnedAt, t), until: v1Until(earnedAt, t) }, order: { DATE_EARNED: earnedAt },
      serialize: (cm) => commissionV1(cm, false),
    }, c.query, c.selfUrl + '/'));
  });
  v1('/affiliates/{affiliateId}/clawbacks', (c) => {
    const id = idOf(c, 'affiliateId', 'Affiliate');
    if (!s.affiliates.has(id)) throw new ApiError(404, 'Unable to find this Affiliate');
    return json(200, listV1(listSource(d().commissions(id).filter((x) => x.clawedBack)), {
      envelope: 'clawbacks', params: { since: v1Since(earnedAt, t), until: v1Until(earnedAt, t) }, order: { DATE_EARNED: earnedAt },
      serialize: (cm) => commissionV1(cm, true),
    }, c.query, c.selfUrl + '/'));
  });
  // ---------------- discounts (five kinds, one list each) ----------------
  const criteria = (x: Discount): unknown[] => [
    { type: 'DATE_RANGE', criteria_id: `${x.id}1`, range_start_time: v2Time(x.startAt), range_end_time: v2Time(x.endAt) },
    ...(x.promoCode ? [{ type: 'PROMO_CODE', criteria_id: `${x.id}2`, code: x.promoCode }] : []),
  ];
  const discountSpecs: Record<DiscountKind, { filters: FilterSpec<Discount>; orderBy: Record<string, (x: Discount) => unknown>; fields: (x: Discount) => Record<string, unknown> }> = {
    freeTrials: {
      filters: { free_trial_days: { type: 'number', get: (x) => x.trialDays }, hide_price: { type: 'bool', get: (x) => x.hidePrice }, subscription_plan_id: { type: 'set', get: (x) => x.planId } },
      orderBy: { free_trial_days: (x) => x.trialDays, hide_price: (x) => x.hidePrice, name: (x) => x.name, subscription_plan_id: (x) => x.planId },
      fields: (x) => ({ hide_price: x.hidePrice, subscription_plan_id: x.planId === null ? undefined : String(x.planId), free_trial_days: x.trialDays }),
    },
    orderTotals: {
      filters: { apply_to_commissions: { type: 'bool', get: (x) => x.applyToCommissions }, discount_strategy: { type: 'string', get: (x) => x.strategy }, discount_type: { type: 'string', get: (x) => x.type }, discount_value: { type: 'number', get: (x) => x.value } },
      orderBy: { apply_to_commissions: (x) => x.applyToCommissions, discount_strategy: (x) => x.strategy, discount_type: (x) => x.type, discount_value: (x) => x.value, name: (x) => x.name },
      fields: (x) => ({ apply_to_commissions: x.applyToCommissions, discount_type: x.type, discount_value: x.value, discount_strategy: x.strategy }),
    },
    productCategories: {
      filters: { id: { type: 'id', isId: true, ops: ['!=', '>', '>=', '<', '<='], get: (x) => x.id }, ids: { type: 'set', isId: true, get: (x) => x.id }, name: { type: 'string', prefix: true, get: (x) => x.name }, description: { type: 'string', prefix: true, get: (x) => x.description }, product_category_id: { type: 'set', get: (x) => x.categoryIds as never } },
      orderBy: { name: (x) => x.name },
      fields: (x) => ({ discount_percent: x.value, apply_to_commissions: x.applyToCommissions, product_categories: x.categoryIds.map(String) }),
    },
    products: {
      filters: { apply_to_commissions: { type: 'bool', get: (x) => x.applyToCommissions }, discount_type: { type: 'string', get: (x) => x.type }, discount_value: { type: 'number', get: (x) => x.value }, product_id: { type: 'set', get: (x) => x.productId } },
      orderBy: { apply_to_commissions: (x) => x.applyToCommissions, discount_type: (x) => x.type, discount_value: (x) => x.value, name: (x) => x.name, product_id: (x) => x.productId },
      fields: (x) => ({ apply_to_commissions: x.applyToCommissions, product_id: String(x.productId), discount_type: x.type, discount_value: x.value }),
    },
    shipping: {
      filters: { discount_type: { type: 'string', get: (x) => x.type }, discount_value: { type: 'number', get: (x) => x.value } },
      orderBy: { discount_type: (x) => x.type, discount_value: (x) => x.value, name: (x) => x.name },
      fields: (x) => ({ discount_type: x.type, discount_value: x.value }),
    },
  };
  for (const [kind, spec] of Object.entries(discountSpecs) as [DiscountKind, (typeof discountSpecs)[DiscountKind]][]) {
    v2(`/discounts/${kind}`, (c) => json(200, listV2(listSource(d().discounts(kind)), {
      envelope: 'discounts', maxPageSize: 1000, filters: spec.filters, orderBy: { id: (x) => x.id, ...spec.orderBy } as V2List<Discount>['orderBy'],
      serialize: (x) => ({ id: String(x.id), name: x.name, description: x.description, criteria: criteria(x), ...spec.fields(x) }),
    }, c.query)));
  }

  // ---------------- automations (the campaigns, as v2's newer listing shows them), product interest bundles ----------------
  v2('/automations', (c) => {
    const body = listV2(s.campaigns, {
      envelope: 'automations', maxPageSize: 1000,
      filters: { name: { type: 'string', prefix: true, get: (x) => x.name } },
      orderBy: { id: (x) => x.id, name: (x) => x.name, category: (x) => AUTOMATION_CATEGORIES[(x.id - 1) % AUTOMATION_CATEGORIES.length], activeContacts: (x) => x.activeCount, publishedDate: (x) => x.publishedAt },
      serialize: (x) => {
        const owner = s.users.get(x.createdBy);
        return {
          id: String(x.id), title: x.name, categories: [AUTOMATION_CATEGORIES[(x.id - 1) % AUTOMATION_CATEGORIES.length]!], status: x.published ? 'PUBLISHED' : 'DRAFT', locked: x.locked,
          active_contacts: x.activeCount, published_date: x.publishedAt === null ? undefined : v2Time(x.publishedAt), published_by: x.published && owner ? `${owner.givenName} ${owner.familyName}` : undefined,
          published_timezone: x.published ? x.timeZone : undefined, current_edit_lock_status: { locked: x.locked, user_id: x.locked ? String(x.createdBy) : undefined },
        };
      },
    }, c.query);
    return json(200, { ...(body as Record<string, unknown>), automation_count: s.campaigns.size });
  });
  v2('/productInterestBundles', (c) => json(200, listV2(d().bundles, {
    envelope: 'product_interest_bundles', maxPageSize: 1000,
    filters: { name: { type: 'string', get: (b) => b.name } }, orderBy: { id: (b) => b.id, name: (b) => b.name },
    serialize: (b) => ({
      id: String(b.id), name: b.name, description: b.description,
      product_interests: b.products.map((p, k) => ({ id: String(b.id * 10 + k), type: 'PRODUCT', quantity: p.quantity, price: currencyValue(p.priceCents), interest_id: String(p.productId), discount_percent: p.discount })),
      subscription_plan_interests: [],
    }),
  }, c.query)));

  // ---------------- company tags, note templates, webforms, reports ----------------
  v2('/tags/{tag_id}/companies', (c) => {
    const tagId = idOf(c, 'tag_id', 'Tag');
    if (!s.tags.has(tagId)) throw new ApiError(404, 'Unable to find this Tag');
    interface Tagged { id: number; company: NonNullable<ReturnType<typeof s.companies.get>>; appliedAt: number }
    const src: Source<Tagged> = {
      get: (id) => { const co = s.companies.get(id); const a = co && d().companyTags(id).find((x) => x.tagId === tagId); return co && a ? { id, company: co, appliedAt: a.appliedAt } : undefined; },
      *scanIds(after) { for (const id of s.companies.scanIds(after)) if (d().companyTags(id).some((x) => x.tagId === tagId)) yield id; },
    };
    return json(200, listV2(src, {
      envelope: 'tagged_companies', maxPageSize: 1000,
      filters: { company_name: { type: 'string', get: (r) => r.company.name }, email: { type: 'string', get: (r) => r.company.email }, since_applied_time: { type: 'time', bound: 'since', get: (r) => r.appliedAt }, until_applied_time: { type: 'time', bound: 'until', get: (r) => r.appliedAt } },
      orderBy: { id: (r) => r.id, company_name: (r) => r.company.name, email: (r) => r.company.email, applied_time: (r) => r.appliedAt },
      serialize: (r) => ({
        company: { id: String(r.company.id), company_name: r.company.name, email_address: r.company.email ? { email: r.company.email, field: 'EMAIL1' } : undefined, website: r.company.website ?? undefined, owner_id: r.company.ownerId === null ? undefined : String(r.company.ownerId), create_time: v2Time(r.company.createdAt), update_time: v2Time(r.company.updatedAt) },
        applied_time: v2Time(r.appliedAt),
      }),
    }, c.query));
  });
  v2('/notes/templates', (c) => json(200, listV2(d().noteTemplates, {
    envelope: 'note_templates', maxPageSize: 1000, filters: {}, orderBy: { id: (x) => x.id },
    serialize: (x) => ({ id: String(x.id), title: x.title, description: x.description, action_type: x.actionType, assignment_user_id: x.userId ?? undefined, notify_users: x.notify.map(String) }),
  }, c.query)));
  v2('/webforms', (c) => json(200, listV2(d().webforms, {
    envelope: 'webforms', maxPageSize: 1000,
    filters: {
      name: { type: 'string', get: (w) => w.name }, webform_type: { type: 'string', get: (w) => w.type },
      since_create_time: { type: 'time', bound: 'since', get: (w) => w.createdAt }, until_create_time: { type: 'time', bound: 'until', get: (w) => w.createdAt },
      since_update_time: { type: 'time', bound: 'since', get: (w) => w.updatedAt }, until_update_time: { type: 'time', bound: 'until', get: (w) => w.updatedAt },
    },
    orderBy: { id: (w) => w.id, name: (w) => w.name, webform_type: (w) => w.type, create_time: (w) => w.createdAt, update_time: (w) => w.updatedAt },
    serialize: (w) => ({
      id: String(w.id), xid: `wf${w.id.toString(36)}x${w.createdAt.toString(36)}`, name: w.name, custom_slug: w.slug, webform_url: `https://sandbox.infusionsoft.app/app/form/${w.slug}`,
      pretty_webform_url: `https://sandbox-business.example/forms/${w.slug}`, thank_you_page_url: w.exitOption === 'REDIRECT' ? 'https://sandbox-business.example/thanks' : undefined,
      duplicate_check_option: w.duplicateCheck, exit_option: w.exitOption, webform_type: w.type, create_time: v2Time(w.createdAt), update_time: v2Time(w.updatedAt),
    }),
  }, c.query)));
  v2('/reporting/reports', (c) => json(200, listV2(d().reports, {
    envelope: 'reports', maxPageSize: 1000,
    filters: { name: { type: 'string', get: (x) => x.name }, since_created_time: { type: 'time', bound: 'since', get: (x) => x.createdAt }, until_created_time: { type: 'time', bound: 'until', get: (x) => x.createdAt } },
    orderBy: { id: (x) => x.id, name: (x) => x.name, created_time: (x) => x.createdAt },
    serialize: (x) => ({ id: String(x.id), name: x.name, updated_time: v2Time(x.updatedAt), created_time: v2Time(x.createdAt), user_ids: x.userIds.map(String) }),
  }, c.query)));

  // ---------------- products in categories ----------------
  v2('/productCategories/assignedProducts', (c) => {
    // one record per category that has products; the filters select categories (a product filter keeps every
    // product of the categories it selects)
    interface Assigned { id: number; productIds: number[] }
    const rows: Assigned[] = [...d().productCategories.scan()].map((x) => ({ id: x.id, productIds: d().categoryProducts(x.id) })).filter((x) => x.productIds.length > 0);
    return json(200, listV2(listSource(rows), {
      envelope: 'assigned_product_categories', maxPageSize: 1000,
      filters: { product_category_ids: { type: 'set', isId: true, get: (x) => x.id }, product_ids: { type: 'set', get: (x) => x.productIds as never } },
      orderBy: { product_category_id: (x) => x.id },
      serialize: (x) => ({ product_category_id: String(x.id), product_ids: x.productIds.map(String) }),
    }, c.query));
  });

  // ---------------- payment methods (v2: every contact's, or one contact's; v1: a contact's credit cards) ----------------
  const paymentMethodV2 = (m: PaymentMethodRec): Record<string, unknown> => ({
    contact_id: String(m.contactId), payment_method_id: String(m.id), credit_card_id: String(m.creditCardId),
    merchant_account_type: d().merchants.get(m.merchantId)!.type, merchant_account_id: String(m.merchantId), payment_method_type: 'CARD', created_time: v2Time(m.createdAt),
    card_info: { brand: m.brand, fingerprint: m.fingerprint, card_type: m.cardType, last_four: m.lastFour, expiration_year: String(m.expYear), expiration_month: String(m.expMonth).padStart(2, '0') },
    status: m.expired ? 'EXPIRED' : undefined,
  });
  const ofContact = (contactId: number | undefined): Source<PaymentMethodRec> => ({
    get: (id) => { const m = d().paymentMethods.get(id); return m && (contactId === undefined || m.contactId === contactId) ? m : undefined; },
    *scanIds(after) { for (const m of d().paymentMethods.scan(contactId === undefined ? after : Math.max(after, contactId * 2 - 2))) { if (contactId !== undefined && m.contactId > contactId) return; if (contactId === undefined || m.contactId === contactId) yield m.id; } },
  });
  v2('/paymentMethods', (c) => json(200, listV2(ofContact(undefined), {
    envelope: 'payment_methods', maxPageSize: 1000,
    filters: {
      payment_method_id: { type: 'set', isId: true, get: (m) => m.id }, credit_card_id: { type: 'set', get: (m) => m.creditCardId },
      contact_id: { type: 'set', get: (m) => m.contactId }, merchant_account_id: { type: 'set', get: (m) => m.merchantId },
      since_time: { type: 'time', bound: 'since', get: (m) => m.createdAt }, until_time: { type: 'time', bound: 'until', get: (m) => m.createdAt },
    },
    orderBy: { payment_method_id: (m) => m.id, created_time: (m) => m.createdAt, contact_id: (m) => m.contactId, merchant_account_id: (m) => m.merchantId },
    serialize: paymentMethodV2,
  }, c.query)));
  v2('/contacts/{contact_id}/paymentMethods', (c) => {
    // '-' lists every contact's (the spec's wildcard)
    let contactId: number | undefined;
    if (c.params.contact_id !== '-') { contactId = idOf(c, 'contact_id', 'Contact'); if (!s.contacts.has(contactId)) throw new ApiError(404, 'Unable to find this Contact'); }
    return json(200, listV2(ofContact(contactId), {
      envelope: 'records', maxPageSize: 1000,
      filters: { merchant_account_id: { type: 'set', get: (m) => m.merchantId } },
      // the reference names the order created_time, the 2025-11-05 file date_created: both are taken
      orderBy: { created_time: (m) => m.createdAt, date_created: (m) => m.createdAt },
      serialize: paymentMethodV2,
    }, c.query));
  });
  v1('/contacts/{contactId}/creditCards', (c) => {
    const id = idOf(c, 'contactId', 'Contact');
    if (!s.contacts.has(id)) throw new ApiError(404, 'Unable to find this Contact');
    return json(200, [...ofContact(id).scanIds(0)].map((k) => d().paymentMethods.get(k)!).map((m) => ({
      id: m.creditCardId, payment_method_id: String(m.id), card_type: m.brand, card_number: `${'*'.repeat(m.brand === 'American Express' ? 11 : 12)}${m.lastFour}`, validation_status: m.validation,
    })));
  });

  // ---------------- lead scores ----------------
  v2('/contacts/{contact_id}/leadScore', (c) => {
    const id = idOf(c, 'contact_id', 'Contact');
    if (!s.contacts.has(id)) throw new ApiError(404, 'Unable to find this Contact');
    const x = d().leadScore(id);
    // a contact without a score: an empty LeadScore, as the contacts listing then sends no score_value
    return json(200, x ? { score: x.score, last_updated: v2Time(x.updatedAt) } : {});
  });

  // ---------------- affiliate referrals (every affiliate's, or one affiliate's) ----------------
  const referralV2 = (x: Referral): Record<string, unknown> => ({
    id: String(x.id), description: x.description, source: x.source, contact_id: String(x.contactId), referral_partner_id: String(x.affiliateId),
    referral_time: v2Time(x.referredAt), expiration_time: x.expiresAt === null ? undefined : v2Time(x.expiresAt), ip_address: x.ip ?? undefined, referral_type: x.type,
  });
  const cmp: ('!=' | '>' | '>=' | '<' | '<=')[] = ['!=', '>', '>=', '<', '<='];
  v2('/referrals', (c) => json(200, listV2(d().referrals, {
    envelope: 'referrals', maxPageSize: 1000,
    filters: {
      referral_partner_id: { type: 'id', ops: cmp, get: (x) => x.affiliateId }, contact_id: { type: 'id', ops: cmp, get: (x) => x.contactId },
      source: { type: 'string', prefix: true, get: (x) => x.source }, description: { type: 'string', prefix: true, get: (x) => x.description }, type: { type: 'string', get: (x) => x.type },
    },
    orderBy: { id: (x) => x.id, referral_time: (x) => x.referredAt },
    serialize: referralV2,
  }, c.query)));
  v2('/affiliates/{affiliate_id}/referrals', (c) => {
    const id = idOf(c, 'affiliate_id', 'Affiliate');
    if (!s.affiliates.has(id)) throw new ApiError(404, 'Unable to find this Affiliate');
    const src: Source<Referral> = { get: (k) => { const x = d().referrals.get(k); return x && x.affiliateId === id ? x : undefined; }, *scanIds(after) { for (const x of d().referrals.scan(after)) if (x.affiliateId === id) yield x.id; } };
    return json(200, listV2(src, {
      envelope: 'referrals', maxPageSize: 1000,
      filters: { source: { type: 'string', prefix: true, get: (x) => x.source } },
      orderBy: { id: (x) => x.id, referral_time: (x) => x.referredAt },
      serialize: referralV2,
    }, c.query));
  });

  // ---------------- opportunity stage moves ----------------
  const stageMoveV2 = (m: StageMove): Record<string, unknown> => ({
    id: String(m.id), opportunity_id: String(m.opportunityId), move_time: v2Time(m.movedAt), move_from_stage_id: String(m.from), move_to_stage_id: String(m.to),
    prev_stage_move_time: m.prevMovedAt === null ? undefined : v2Time(m.prevMovedAt), user_id: String(m.userId), created_by: String(m.createdBy), create_time: v2Time(m.movedAt),
  });
  const moves: Source<StageMove> = {
    get: (id) => d().stageMoves(Math.floor(id / 10)).find((m) => m.id === id),
    *scanIds(after) { for (const o of s.opportunities.scanIds(Math.max(0, Math.floor(after / 10) - 1))) for (const m of d().stageMoves(o)) if (m.id > after) yield m.id; },
  };
  v2('/opportunities/stageMoves', (c) => json(200, listV2(moves, {
    envelope: 'stage_moves', maxPageSize: 1000,
    filters: { opportunity_id: { type: 'id', get: (m) => m.opportunityId }, user_id: { type: 'id', get: (m) => m.userId } },
    orderBy: { id: (m) => m.id, move_date: (m) => m.movedAt },
    serialize: stageMoveV2,
  }, c.query)));
  v2('/opportunities/stageMoves/{stage_move_id}', (c) => json(200, stageMoveV2(moves.get(idOf(c, 'stage_move_id', 'Stage Move')) ?? (() => { throw new ApiError(404, 'Unable to find this Stage Move'); })())));

  // ---------------- contact option types, the dropdowns' default options, hook event keys ----------------
  v2('/settings/contactOptionTypes', () => json(200, { option_types: CONTACT_OPTIONS.contact_types }));
  v1('/setting/contact/optionTypes', () => json(200, { value: CONTACT_OPTIONS.contact_types.join(',') }));
  v1('/locales/defaultOptions', () => json(200, CONTACT_OPTIONS));
  v1('/hooks/event_keys', () => json(200, HOOK_EVENT_KEYS));

  // ---------------- email address statuses: one record per address of any contact ----------------
  v2('/emailAddresses', (c) => {
    // an address two contacts share is one record (the first contact's); ids order the addresses by contact and slot
    interface AddressStatus { id: number; email: string; status: string; createdAt: number; sentAt: number | null; openedAt: number | null; clickedAt: number | null }
    const rows: AddressStatus[] = []; const seen = new Set<string>();
    for (const ct of s.contacts.scan()) {
      ct.emails.forEach((e, k) => {
        const key = e.email.toLowerCase();
        if (seen.has(key)) return;
        seen.add(key);
        const h = hash32(s.seed, ct.id, k + 7);
        const sentAt = h % 3 === 0 ? null : Math.min(DATA_END, ct.createdAt + (h % 300) * DAY);
        const openedAt = sentAt !== null && h % 5 < 3 ? sentAt + ((h >>> 8) % 48) * HOUR : null;
        rows.push({ id: ct.id * 4 + k, email: e.email, status: e.status, createdAt: ct.createdAt, sentAt, openedAt, clickedAt: openedAt !== null && h % 5 === 0 ? openedAt + HOUR : null });
      });
    }
    const marketable = new Set(['UNENGAGED_MARKETABLE', 'SINGLE_OPT_IN', 'DOUBLE_OPT_IN', 'CONFIRMED']);
    return json(200, listV2(listSource(rows), {
      envelope: 'email_addresses', maxPageSize: 1000,
      filters: { emails: { type: 'set', get: (x) => x.email }, statuses: { type: 'set', get: (x) => x.status }, opted_in: { type: 'bool', get: (x) => marketable.has(x.status) } },
      orderBy: { email: (x) => x.email, status: (x) => x.status, create_time: (x) => x.createdAt, last_click_time: (x) => x.clickedAt, last_open_time: (x) => x.openedAt, last_sent_time: (x) => x.sentAt },
      serialize: (x) => ({
        email: x.email, opted_in: marketable.has(x.status), status: x.status, create_time: v2Time(x.createdAt),
        last_click_time: x.clickedAt === null ? undefined : v2Time(x.clickedAt), last_open_time: x.openedAt === null ? undefined : v2Time(x.openedAt), last_sent_time: x.sentAt === null ? undefined : v2Time(x.sentAt),
      }),
    }, c.query));
  });

  // ---------------- a product's options (v1's and v2's products listings carry them too) ----------------
  v2('/products/{product_id}/options', (c) => {
    const id = idOf(c, 'product_id', 'Product');
    if (!s.products.has(id)) throw new ApiError(404, 'Unable to find this Product');
    return json(200, { product_options: productOptions(id).map(productOptionV2) });
  });

  // ---------------- user groups, WordPress opt-ins ----------------
  v2('/userGroups', () => json(200, unpaged('user_groups', USER_GROUPS.map((name, i) => ({ id: String(i + 1), name })))));
  v2('/integrations/wordpress/options', () => json(200, unpaged('wordpress_opt_in_options', WORDPRESS_OPT_INS.map(([key, name]) => ({ key, name })))));

  // ---------------- custom-field tabs and groups, per record type (as the /model endpoints) ----------------
  const modelPaths: [string, (typeof TAB_RECORD_TYPES)[number]][] = [
    ['contacts', 'CONTACT'], ['companies', 'COMPANY'], ['opportunities', 'OPPORTUNITY'], ['orders', 'ORDER'], ['subscriptions', 'SUBSCRIPTION'],
    ['tasks', 'TASK_NOTE_APPOINTMENT'], ['notes', 'TASK_NOTE_APPOINTMENT'], ['affiliates', 'REFERRAL_PARTNER'],
  ];
  for (const [path, type] of modelPaths) {
    const tabId = TAB_RECORD_TYPES.indexOf(type) + 1;
    v2(`/${path}/model/customFields/tabs`, () => json(200, { tabs: [{ id: String(tabId), name: 'Custom Fields', order: 1, record_type: type }] }));
    // the groups the record type's fields are in (the generator files contacts' under 1, the rest under 2), on its one tab
    v2(`/${path}/model/customFields/groups`, (c) => {
      const ids = [...new Set([type === 'CONTACT' ? 1 : 2, ...s.customFields(type).map((f) => f.groupId)])].sort((a, b) => a - b);
      const tab = c.query.get('tab_id');
      const groups = tab !== null && tab !== String(tabId) ? [] : ids.map((id, k) => ({ id: String(id), name: k === 0 ? 'Custom fields' : `More fields ${k}`, order: k + 1, tab_id: String(tabId), record_type: type }));
      return json(200, { groups });
    });
  }

  // ---------------- commission program resources, report fields (per parent) ----------------
  v2('/affiliates/commissionPrograms/{commission_program_id}/resources', (c) => {
    const id = idOf(c, 'commission_program_id', 'Commission Program');
    if (!d().programs.has(id)) throw new ApiError(404, 'Unable to find this Commission Program');
    return json(200, unpaged('resources', d().programResources().filter((r) => r.programIds.includes(id)).map((r) => ({
      id: String(r.id), title: r.title, type: r.type, notes: r.notes ?? undefined, url: r.url ?? undefined, order: r.order, content_html: r.html ?? undefined,
      page_width: r.width ?? undefined, page_height: r.height ?? undefined, commission_programs: r.programIds.map((p) => ({ commission_program_id: String(p) })),
    }))));
  });
  v2('/reporting/reports/{report_id}/model', (c) => {
    const id = idOf(c, 'report_id', 'Report');
    if (!d().reports.has(id)) throw new ApiError(404, 'Unable to find this Report');
    return json(200, { fields: (REPORT_FIELDS[id - 1] ?? []).map(([name, label]) => ({ name, label })) });
  });
  return routes;
}

/** since_time/until_time are applied by the summaries route itself (they bound sums, not records). */
function stripWindow(q: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams(q);
  const f = q.get('filter');
  if (f !== null) {
    const rest = f.split(';').filter((x) => x.trim() !== '' && !/^\s*(since_time|until_time)\s*==/.test(x));
    if (rest.length > 0) out.set('filter', rest.join(';')); else out.delete('filter');
  }
  return out;
}

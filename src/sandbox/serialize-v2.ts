// v2 JSON for every resource (reference §3.2, §5): string ids, ISO-8601 times, UPPER_SNAKE enums, CurrencyValue money,
// and unset values left out.
import { productOptions, productOptionV2Listing } from './product-options.js';
import { v2Time, isoDay, currencyValue, money, upperSnake } from './formats.js';
import type { SandboxStore } from './store.js';
import type {
  Contact, Company, Tag, TagCategory, Product, Order, Payment, Subscription, Stage, Opportunity, Task, Note, Campaign,
  SentEmail, User, FileMeta, Affiliate, PostalAddress, CustomFieldDef, CustomValue, CustomRecordType, LeadSource, LeadSourceCategory,
} from './model.js';

type Json = Record<string, unknown>;
const str = (n: number | null | undefined): string | undefined => (n === null || n === undefined ? undefined : String(n));

function address(a: PostalAddress): Json {
  return {
    country: a.country, country_code: a.countryCode, field: a.field, line1: a.line1, line2: a.line2 ?? undefined, locality: a.locality,
    postal_code: a.postalCode, region: a.region, region_code: a.regionCode, zip_code: a.postalCode, zip_four: a.zipFour ?? undefined,
  };
}

export function customFieldsV2(store: SandboxStore, type: CustomRecordType, values: Record<number, CustomValue>): Json[] {
  return store.customFields(type).map((f) => ({ id: String(f.id), content: customContentV2(f, values[f.id] ?? null) }));
}
export function customContentV2(f: CustomFieldDef, v: CustomValue): CustomValue {
  if (v === null) return null;
  if (f.type === 'Date') return isoDay(v as number);
  if (f.type === 'DateTime') return v2Time(v as number);
  if (f.type === 'User') return String(v);
  return v;
}

/** v2 contact fields sent when the request names none (reference §12.3: undocumented; this is the sandbox's choice). */
export const CONTACT_DEFAULT_FIELDS = ['id', 'given_name', 'middle_name', 'family_name', 'email_addresses', 'phone_numbers', 'addresses', 'company', 'owner_id', 'tag_ids', 'create_time', 'update_time'];
export const CONTACT_FIELDS = ['addresses', 'anniversary_date', 'birth_date', 'company', 'contact_type', 'create_time', 'custom_fields', 'email_addresses', 'family_name', 'fax_numbers', 'given_name', 'id', 'job_title', 'leadsource_id', 'links', 'middle_name', 'notes', 'origin', 'owner_id', 'phone_numbers', 'preferred_locale', 'preferred_name', 'prefix', 'referral_code', 'score_value', 'social_accounts', 'source_type', 'spouse_name', 'suffix', 'tag_ids', 'time_zone', 'update_time', 'utm_parameters', 'website'];

export function contactV2(store: SandboxStore, c: Contact, fields: ReadonlySet<string>): Json {
  const o: Json = {};
  for (const f of fields) {
    switch (f) {
      case 'id': o.id = String(c.id); break;
      case 'given_name': o.given_name = c.givenName; break;
      case 'middle_name': if (c.middleName) o.middle_name = c.middleName; break;
      case 'family_name': o.family_name = c.familyName; break;
      case 'preferred_name': if (c.preferredName) o.preferred_name = c.preferredName; break;
      case 'prefix': if (c.prefix) o.prefix = c.prefix; break;
      case 'suffix': if (c.suffix) o.suffix = c.suffix; break;
      case 'spouse_name': if (c.spouseName) o.spouse_name = c.spouseName; break;
      case 'job_title': if (c.jobTitle) o.job_title = c.jobTitle; break;
      case 'contact_type': o.contact_type = c.contactType; break;
      case 'website': if (c.website) o.website = c.website; break;
      case 'time_zone': o.time_zone = c.timeZone; break;
      case 'preferred_locale': o.preferred_locale = c.preferredLocale; break;
      case 'referral_code': if (c.referralCode) o.referral_code = c.referralCode; break;
      case 'score_value': if (c.scoreValue !== null) o.score_value = c.scoreValue; break;
      case 'email_addresses': o.email_addresses = c.emails.map((e) => ({
        email: e.email, field: e.field, email_opt_status: e.status, is_opt_in: e.status.endsWith('OPT_IN') || e.status === 'CONFIRMED',
        ...(e.optInReason ? { opt_in_reason: e.optInReason } : {}),
      })); break;
      case 'phone_numbers': o.phone_numbers = c.phones.map((p) => ({ number: p.number, number_e164: p.e164, ...(p.extension ? { extension: p.extension } : {}), type: p.type, field: p.field })); break;
      case 'fax_numbers': o.fax_numbers = c.faxes.map((x) => ({ number: x.number, type: x.type, field: x.field })); break;
      case 'addresses': o.addresses = c.addresses.map(address); break;
      case 'social_accounts': o.social_accounts = c.social.map((s) => ({ name: s.name, type: s.type })); break;
      case 'company': if (c.companyId !== null) { const name = store.companyName(c.companyId); if (name !== undefined) o.company = { id: String(c.companyId), company_name: name }; } break;
      case 'owner_id': if (c.ownerId !== null) o.owner_id = String(c.ownerId); break;
      case 'leadsource_id': if (c.leadSourceId !== null) o.leadsource_id = String(c.leadSourceId); break;
      case 'source_type': o.source_type = c.sourceType; break;
      case 'origin': if (c.origin) o.origin = { date: v2Time(c.origin.date), ip_address: c.origin.ipAddress }; break;
      case 'birth_date': if (c.birthDate) o.birth_date = c.birthDate; break;
      case 'anniversary_date': if (c.anniversaryDate) o.anniversary_date = c.anniversaryDate; break;
      case 'custom_fields': o.custom_fields = customFieldsV2(store, 'CONTACT', store.contactCustomFields(c)); break;
      case 'tag_ids': o.tag_ids = store.contactTags(c.id).map((t) => String(t.tagId)); break;
      case 'links': o.links = []; break;
      case 'utm_parameters': o.utm_parameters = []; break;
      case 'create_time': o.create_time = v2Time(c.createdAt); break;
      case 'update_time': o.update_time = v2Time(c.updatedAt); break;
      default: break;
    }
  }
  return o;
}

export const COMPANY_DEFAULT_FIELDS = ['id', 'company_name', 'website', 'owner_id'];
export const COMPANY_FIELDS = ['id', 'company_name', 'website', 'owner_id', 'notes', 'fax_number', 'address', 'email_address', 'phone_number', 'update_time', 'create_time', 'custom_fields'];
export function companyV2(store: SandboxStore, c: Company, fields: ReadonlySet<string>): Json {
  const full: Json = {
    id: String(c.id), company_name: c.name, website: c.website ?? undefined, owner_id: str(c.ownerId), notes: c.notes ?? undefined,
    fax_number: c.fax ? { number: c.fax, type: 'Work' } : undefined,
    address: c.address ? address(c.address) : undefined,
    email_address: c.email ? { email: c.email, field: 'EMAIL1', email_opt_status: c.emailStatus, is_opt_in: c.emailStatus.endsWith('OPT_IN') || c.emailStatus === 'CONFIRMED' } : undefined,
    phone_number: c.phone ? { number: c.phone, ...(c.phoneExt ? { extension: c.phoneExt } : {}), type: 'Work', field: 'PHONE1' } : undefined,
    update_time: v2Time(c.updatedAt), create_time: v2Time(c.createdAt),
    custom_fields: fields.has('custom_fields') ? customFieldsV2(store, 'COMPANY', c.customFields) : undefined,
  };
  return pick(full, fields);
}

export function pick(full: Json, fields: ReadonlySet<string>): Json {
  const o: Json = {};
  for (const k of Object.keys(full)) if (fields.has(k) && full[k] !== undefined) o[k] = full[k];
  return o;
}
export function dropUndefined(full: Json): Json {
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  return full;
}

export const tagV2 = (t: Tag): Json => ({ id: String(t.id), name: t.name, description: t.description, category: { id: String(t.categoryId) }, create_time: v2Time(t.createdAt), update_time: v2Time(t.updatedAt) });
export const tagCategoryV2 = (t: TagCategory): Json => ({ id: String(t.id), name: t.name, description: t.description, create_time: v2Time(t.createdAt), update_time: v2Time(t.updatedAt) });

export function productV2(p: Product): Json {
  return {
    id: String(p.id), name: p.name, price: currencyValue(p.priceCents), active: p.active, description: p.description, short_description: p.shortDescription,
    sku: p.sku, shippable: p.shippable, weight: p.weight, taxable: p.taxable, country_taxable: p.taxable, state_taxable: p.taxable, city_taxable: false,
    categories: [], options: productOptions(p.id).map(productOptionV2Listing), subscription_only: p.subscriptionOnly, storefront_hidden: !p.active,
    subscription_plans: p.plans.map((s) => ({
      id: String(s.id), product_id: String(s.productId), active: s.active, allow_prorating: false,
      cycle_type: ({ YEAR: 'YEARLY', MONTH: 'MONTHLY', WEEK: 'WEEKLY', DAY: 'DAILY' } as const)[s.cycle], frequency: s.frequency,
      total_cycles: s.cycles, plan_price: currencyValue(s.priceCents), display_order_index: s.index,
    })),
  };
}

export function orderV2(store: SandboxStore, o: Order, withCustom: boolean): Json {
  const c = store.contacts.get(o.contactId);
  return dropUndefined({
    id: String(o.id), title: o.title, status: o.status, order_type: o.orderType, source_type: o.sourceType,
    contact: c ? { id: String(c.id), email: c.emails[0]?.email, given_name: c.givenName, family_name: c.familyName } : { id: String(o.contactId) },
    total: currencyValue(o.totalCents), total_paid: currencyValue(o.paidCents), total_due: currencyValue(o.totalCents - o.paidCents), refund_total: currencyValue(o.refundCents),
    creation_time: v2Time(o.createdAt), modification_time: v2Time(o.updatedAt), order_time: v2Time(o.orderedAt),
    lead_affiliate_id: str(o.leadAffiliateId), sales_affiliate_id: str(o.salesAffiliateId), invoice_number: String(o.invoiceNumber),
    notes: o.notes ?? undefined, terms: o.terms ?? undefined, allow_payment: o.status !== 'PAID', allow_paypal: false,
    order_items: o.items.map((i) => ({
      id: String(i.id), name: i.name, description: i.description, quantity: i.quantity, item_type: i.type,
      product: { id: String(i.productId), name: i.name, sku: `SKU-${String(i.productId).padStart(5, '0')}`, description: i.description, shippable: false, taxable: false },
      price_per_unit: currencyValue(i.priceCents), cost_per_unit: currencyValue(i.costCents), discount: currencyValue(i.discountCents),
    })),
    files: [],
    custom_fields: withCustom ? customFieldsV2(store, 'ORDER', o.customFields) : undefined,
  });
}

export const invoicePaymentV2 = (p: Payment): Json => dropUndefined({
  id: String(p.id), amount: money(p.amountCents), note: p.note ?? undefined, invoice_id: String(p.orderId), payment_id: String(p.id),
  pay_time: v2Time(p.paidAt), pay_status: p.payStatus, last_updated_time: v2Time(p.updatedAt), skip_commission: false,
});
export const paymentV2 = (p: Payment): Json => dropUndefined({
  id: String(p.id), type: p.method, amount: money(p.amountCents), note: p.note ?? undefined,
  status: p.payStatus === 'REFUNDED' ? 'COMPLETED' : 'APPROVED', commissioned: false, synced: true,
  payment_time: v2Time(p.paidAt), update_time: v2Time(p.updatedAt), contact_id: String(p.contactId), order_ids: [String(p.orderId)],
  merchant_account_id: '1', merchant_account_type: p.gateway === 'PayPal' ? 'PAYPAL' : p.gateway === 'Stripe' ? 'STRIPE' : 'KEAP_PAY',
});
export const transactionV2 = (p: Payment): Json => ({
  id: String(p.id), amount: money(p.amountCents), status: p.payStatus === 'FAILED' ? 'FAILED' : 'APPROVED', description: `Payment for order ${p.orderId}`,
  contact_id: String(p.contactId), order_ids: [String(p.orderId)], transaction_method: p.method === 'CREDIT_CARD' ? 'CAPTURE' : 'MANUAL',
  transaction_time: v2Time(p.paidAt), payment_id: String(p.id), is_successful: p.payStatus !== 'FAILED', merchant_account_id: '1',
  merchant_account_type: p.gateway === 'PayPal' ? 'PAYPAL' : p.gateway === 'Stripe' ? 'STRIPE' : 'KEAP_PAY',
});

export const subscriptionV2 = (s: Subscription): Json => dropUndefined({
  id: String(s.id), quantity: s.quantity, active: s.active, contact_id: String(s.contactId), product_id: String(s.productId),
  subscription_plan_id: String(s.planId), billing_amount: money(s.billingAmountCents), auto_charge: s.autoCharge, billing_frequency: s.frequency,
  billing_cycle: s.cycle, start_date: isoDay(s.startDate), last_bill_date: s.lastBillDate ? isoDay(s.lastBillDate) : undefined,
  next_bill_date: s.nextBillDate ? isoDay(s.nextBillDate) : undefined, end_date: s.endDate ? isoDay(s.endDate) : undefined,
  allow_tax: s.allowTax, max_charge_attempts: 3, days_between_retries: 2, sale_affiliate_id: str(s.saleAffiliateId), merchant_account_id: '1',
});

export const stageV2 = (s: Stage): Json => ({
  id: String(s.id), name: s.name, order: s.order, probability: s.probability, target_number_days: s.targetDays, checklist_items: [],
  created_time: v2Time(s.createdAt), updated_time: v2Time(s.updatedAt),
});

export function opportunityV2(store: SandboxStore, o: Opportunity, withCustom: boolean): Json {
  const c = store.contacts.get(o.contactId); const s = store.stages.get(o.stageId); const u = store.users.get(o.userId);
  const co = c?.companyId ? store.companies.get(c.companyId) : undefined;
  return dropUndefined({
    id: String(o.id), opportunity_title: o.title,
    contact: dropUndefined({ id: String(o.contactId), first_name: c?.givenName, last_name: c?.familyName, email: c?.emails[0]?.email, company_name: co?.name, job_title: c?.jobTitle ?? undefined, phone_number: c?.phones[0]?.number }),
    stage: { id: String(o.stageId), name: s?.name ?? '', reasons: [], details: s ? { probability: s.probability, stage_order: s.order, target_num_days: s.targetDays, check_list_items: [] } : {} },
    user: u ? { id: String(u.id), first_name: u.givenName, last_name: u.familyName } : undefined,
    next_action_time: o.nextActionAt ? v2Time(o.nextActionAt) : undefined, next_action_notes: o.nextActionNotes ?? undefined,
    opportunity_notes: o.notes ?? undefined, estimated_close_time: v2Time(o.estimatedCloseAt), include_in_forecast: o.includeInForecast,
    projected_revenue_low: o.revenueLow, projected_revenue_high: o.revenueHigh, affiliate_id: str(o.affiliateId),
    created_time: v2Time(o.createdAt), last_updated_time: v2Time(o.updatedAt),
    custom_fields: withCustom ? customFieldsV2(store, 'OPPORTUNITY', o.customFields) : undefined,
  });
}

export const taskV2 = (t: Task): Json => dropUndefined({
  id: String(t.id), title: t.title, description: t.description ?? undefined, type: t.type, priority: t.priority, completed: t.completed,
  create_time: v2Time(t.createdAt), modification_time: v2Time(t.updatedAt), completion_time: t.completedAt ? v2Time(t.completedAt) : undefined,
  due_time: t.dueAt ? v2Time(t.dueAt) : undefined, remind_time_mins: t.remindMins ?? undefined, assigned_to_user_id: String(t.userId),
  created_by_user_id: String(t.userId), contact_id: str(t.contactId),
});

export function noteV2(store: SandboxStore, n: Note): Json {
  const u = store.users.get(n.userId);
  return dropUndefined({
    id: String(n.id), title: n.title, text: n.body, type: n.type, contact_id: String(n.contactId),
    assigned_to_user: u ? { id: String(u.id), given_name: u.givenName, family_name: u.familyName, email_address: u.email } : undefined,
    create_time: v2Time(n.createdAt), update_time: v2Time(n.updatedAt), created_by_user_id: String(n.userId), last_updated_by_user_id: String(n.userId),
  });
}

export const campaignV2 = (c: Campaign): Json => dropUndefined({
  id: String(c.id), name: c.name, locked: c.locked, date_created: v2Time(c.createdAt), published_date: c.publishedAt ? v2Time(c.publishedAt) : undefined,
  published_status: c.published, time_zone: c.timeZone, published_time_zone: c.timeZone, created_by_global_id: String(c.createdBy),
  active_contact_count: c.activeCount, completed_contact_count: c.completedCount,
});

export const emailV2 = (e: SentEmail): Json => dropUndefined({
  id: String(e.id), contact_id: String(e.contactId), subject: e.subject, headers: `From: ${e.fromAddress}\nTo: ${e.toAddress}`,
  sent_time: v2Time(e.sentAt), received_time: v2Time(e.receivedAt), opened_time: e.openedAt ? v2Time(e.openedAt) : undefined,
  clicked_time: e.clickedAt ? v2Time(e.clickedAt) : undefined, sent_from_address: e.fromAddress, sent_from_reply_address: e.fromAddress,
  sent_to_address: e.toAddress, sent_to_cc_address_list: [], sent_to_bcc_address_list: [], original_provider: e.provider,
  provider_source_id: String(e.id),
});

export const userV2 = (u: User): Json => ({
  id: String(u.id), global_user_id: String(u.globalUserId), keap_id: `${u.globalUserId}`, given_name: u.givenName, family_name: u.familyName,
  admin: u.admin, partner: u.partner, status: u.status, company_name: 'Sandbox Business',
  email_addresses: [{ email: u.email, field: 'EMAIL1', email_opt_status: 'CONFIRMED', is_opt_in: true }],
  phone_numbers: [{ number: u.phone, field: 'PHONE1', type: 'Work' }], fax_numbers: [], social_accounts: [],
  created_by: 1, create_time: v2Time(u.createdAt), updated_by: 1, update_time: v2Time(u.updatedAt),
});

export const fileV2 = (f: FileMeta): Json => dropUndefined({
  id: String(f.id), file_name: f.fileName, file_size: f.fileSize, category: f.category, file_box_type: f.boxType, contact_id: str(f.contactId),
  created_by_id: String(f.createdBy), is_public: f.isPublic, remote_file_key: `files/${f.id}`, created_time: v2Time(f.createdAt), updated_time: v2Time(f.updatedAt),
});

export const affiliateV2 = (a: Affiliate): Json => dropUndefined({
  id: String(a.id), code: a.code, name: a.name, status: a.active ? 'ACTIVE' : 'INACTIVE', contact_id: String(a.contactId),
  parent_affiliate_id: str(a.parentId), date_created: v2Time(a.createdAt), notify_on_lead: a.notifyOnLead, notify_on_sale: a.notifyOnSale,
  track_leads_days: a.trackLeadsDays,
});

export function customFieldDefV2(f: CustomFieldDef): Json {
  return dropUndefined({
    id: String(f.id), label: f.label, field_name: f.fieldName, field_type: upperSnake(f.type), record_type: f.recordType,
    options: f.options.length ? f.options.map((o) => ({ id: o.id, label: o.label })) : undefined, default_value: f.defaultValue ?? undefined,
    group_id: String(f.groupId),
  });
}

export const leadSourceV2 = (l: LeadSource): Json => dropUndefined({
  id: String(l.id), name: l.name, description: l.description, vendor: l.vendor ?? undefined, medium: l.medium, message: l.message ?? undefined,
  status: l.active ? 'ACTIVE' : 'INACTIVE', lead_source_category_id: String(l.categoryId), start_time: v2Time(l.startAt),
  end_time: l.endAt !== null ? v2Time(l.endAt) : undefined, create_time: v2Time(l.createdAt), update_time: v2Time(l.updatedAt),
});
export const leadSourceCategoryV2 = (c: LeadSourceCategory): Json => ({ id: String(c.id), name: c.name, description: c.description, create_time: v2Time(c.createdAt), update_time: v2Time(c.updatedAt) });

// ---- the hot path: v2 contacts written straight to JSON text ----
// Same bytes as JSON.stringify(contactV2(...)) (a test holds them equal), without building the objects first:
// list pages of a thousand contacts are most of what the sandbox serves.
const q = JSON.stringify;
/** numbers as JSON.stringify writes them (non-finite ones become null) */
const jsonNumber = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

function addressJson(a: PostalAddress): string {
  let s = `{"country":${q(a.country)},"country_code":${q(a.countryCode)},"field":"${a.field}","line1":${q(a.line1)}`;
  if (a.line2 !== null) s += `,"line2":${q(a.line2)}`;
  s += `,"locality":${q(a.locality)},"postal_code":${q(a.postalCode)},"region":${q(a.region)},"region_code":${q(a.regionCode)},"zip_code":${q(a.postalCode)}`;
  if (a.zipFour !== null) s += `,"zip_four":${q(a.zipFour)}`;
  return s + '}';
}

export function contactV2Json(store: SandboxStore, c: Contact, fields: ReadonlySet<string>): string {
  let s = '';
  const put = (key: string, json: string): void => { s += (s === '' ? '{"' : ',"') + key + '":' + json; };
  for (const f of fields) {
    switch (f) {
      case 'id': put('id', `"${c.id}"`); break;
      case 'given_name': put('given_name', q(c.givenName)); break;
      case 'middle_name': if (c.middleName) put('middle_name', q(c.middleName)); break;
      case 'family_name': put('family_name', q(c.familyName)); break;
      case 'preferred_name': if (c.preferredName) put('preferred_name', q(c.preferredName)); break;
      case 'prefix': if (c.prefix) put('prefix', q(c.prefix)); break;
      case 'suffix': if (c.suffix) put('suffix', q(c.suffix)); break;
      case 'spouse_name': if (c.spouseName) put('spouse_name', q(c.spouseName)); break;
      case 'job_title': if (c.jobTitle) put('job_title', q(c.jobTitle)); break;
      case 'contact_type': put('contact_type', q(c.contactType)); break;
      case 'website': if (c.website) put('website', q(c.website)); break;
      case 'time_zone': put('time_zone', q(c.timeZone)); break;
      case 'preferred_locale': put('preferred_locale', q(c.preferredLocale)); break;
      case 'referral_code': if (c.referralCode) put('referral_code', q(c.referralCode)); break;
      case 'score_value': if (c.scoreValue !== null) put('score_value', q(c.scoreValue)); break;
      case 'email_addresses': {
        let a = '';
        for (const e of c.emails) {
          a += `${a === '' ? '' : ','}{"email":${q(e.email)},"field":"${e.field}","email_opt_status":"${e.status}","is_opt_in":${e.status.endsWith('OPT_IN') || e.status === 'CONFIRMED'}`;
          if (e.optInReason) a += `,"opt_in_reason":${q(e.optInReason)}`;
          a += '}';
        }
        put('email_addresses', `[${a}]`); break;
      }
      case 'phone_numbers': {
        let a = '';
        for (const p of c.phones) {
          a += `${a === '' ? '' : ','}{"number":${q(p.number)},"number_e164":${q(p.e164)}`;
          if (p.extension) a += `,"extension":${q(p.extension)}`;
          a += `,"type":${q(p.type)},"field":${q(p.field)}}`;
        }
        put('phone_numbers', `[${a}]`); break;
      }
      case 'fax_numbers': put('fax_numbers', `[${c.faxes.map((x) => `{"number":${q(x.number)},"type":${q(x.type)},"field":"${x.field}"}`).join(',')}]`); break;
      case 'addresses': put('addresses', `[${c.addresses.map(addressJson).join(',')}]`); break;
      case 'social_accounts': put('social_accounts', `[${c.social.map((x) => `{"name":${q(x.name)},"type":"${x.type}"}`).join(',')}]`); break;
      case 'company': if (c.companyId !== null) { const name = store.companyName(c.companyId); if (name !== undefined) put('company', `{"id":"${c.companyId}","company_name":${q(name)}}`); } break;
      case 'owner_id': if (c.ownerId !== null) put('owner_id', `"${c.ownerId}"`); break;
      case 'leadsource_id': if (c.leadSourceId !== null) put('leadsource_id', `"${c.leadSourceId}"`); break;
      case 'source_type': put('source_type', `"${c.sourceType}"`); break;
      case 'origin': if (c.origin) put('origin', `{"date":"${v2Time(c.origin.date)}","ip_address":${q(c.origin.ipAddress)}}`); break;
      case 'birth_date': if (c.birthDate) put('birth_date', q(c.birthDate)); break;
      case 'anniversary_date': if (c.anniversaryDate) put('anniversary_date', q(c.anniversaryDate)); break;
      case 'custom_fields': {
        const values = store.contactCustomFields(c);
        let a = '';
        for (const d of store.customFields('CONTACT')) {
          const v = customContentV2(d, values[d.id] ?? null);
          a += `${a === '' ? '' : ','}{"id":"${d.id}","content":${typeof v === 'string' ? q(v) : v === null ? 'null' : typeof v === 'number' ? jsonNumber(v) : String(v)}}`;
        }
        put('custom_fields', `[${a}]`);
        break;
      }
      case 'tag_ids': put('tag_ids', `[${store.contactTags(c.id).map((t) => `"${t.tagId}"`).join(',')}]`); break;
      case 'links': put('links', '[]'); break;
      case 'utm_parameters': put('utm_parameters', '[]'); break;
      case 'create_time': put('create_time', `"${v2Time(c.createdAt)}"`); break;
      case 'update_time': put('update_time', `"${v2Time(c.updatedAt)}"`); break;
      default: break;
    }
  }
  return s === '' ? '{}' : s + '}';
}

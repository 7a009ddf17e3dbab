// v1 JSON for every resource (reference §3.1, §5, Appendix A): integer ids, `…SSS+0000` times, CamelCase enums,
// plain-number money, and unset values as null.
import { productOptions, productOptionV1 } from './product-options.js';
import { v1Time, money, v1EmailStatus, isOptedIn } from './formats.js';
import type { SandboxStore } from './store.js';
import type {
  Contact, Company, Tag, Product, Order, Payment, Subscription, Opportunity, Task, Note, Campaign, SentEmail, User,
  Appointment, FileMeta, Affiliate, PostalAddress, CustomFieldDef, CustomValue, CustomRecordType, Stage,
} from './model.js';

type Json = Record<string, unknown>;
const t1 = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : v1Time(ms));

const address = (a: PostalAddress): Json => ({
  field: a.field, line1: a.line1, line2: a.line2, locality: a.locality, region: a.region, country_code: a.countryCode,
  postal_code: a.postalCode, zip_code: a.postalCode, zip_four: a.zipFour,
});

export function customFieldsV1(store: SandboxStore, type: CustomRecordType, values: Record<number, CustomValue>): Json[] {
  return store.customFields(type).map((f) => ({ id: f.id, content: customContentV1(f, values[f.id] ?? null) }));
}
export function customContentV1(f: CustomFieldDef, v: CustomValue): CustomValue {
  if (v === null) return null;
  if (f.type === 'Date' || f.type === 'DateTime') return v1Time(v as number);
  return v;
}

/** Fields of a v1 contact list item without `optional_properties` ([AMP] fixture, reference §3.1). */
export const CONTACT_DEFAULT_PROPERTIES = ['tag_ids', 'id', 'company', 'email_opted_in', 'email_status', 'date_created', 'last_updated', 'ScoreValue', 'last_updated_utc_millis', 'email_addresses', 'addresses', 'phone_numbers', 'given_name', 'family_name', 'middle_name', 'owner_id'];
/** `GET /v1/contacts/model` optional_properties ([KEAP-PY]) */
export const CONTACT_OPTIONAL_PROPERTIES = ['birthday', 'opt_in_reason', 'preferred_locale', 'website', 'notes', 'custom_fields', 'prefix', 'origin', 'source_type', 'time_zone', 'suffix', 'lead_source_id', 'social_accounts', 'fax_numbers', 'relationships', 'spouse_name', 'contact_type', 'company_name', 'job_title', 'anniversary', 'preferred_name'];

const V1_SOURCE: Record<string, string> = { WEBFORM: 'WEBFORM', IMPORT: 'IMPORT', MANUAL: 'MANUAL', API: 'API', LANDING_PAGE: 'LANDINGPAGE', INTERNAL_FORM: 'INTERNALFORM', APPOINTMENT: 'APPOINTMENT' };
const V1_SOCIAL: Record<string, string> = { FACEBOOK: 'Facebook', LINKED_IN: 'LinkedIn', TWITTER: 'Twitter', INSTAGRAM: 'Instagram' };

export function contactV1(store: SandboxStore, c: Contact, props: ReadonlySet<string>): Json {
  const o: Json = {};
  const primary = c.emails[0];
  for (const p of props) {
    switch (p) {
      case 'id': o.id = c.id; break;
      case 'tag_ids': o.tag_ids = store.contactTags(c.id).map((t) => t.tagId); break;
      case 'company': { const name = c.companyId !== null ? store.companyName(c.companyId) : undefined; o.company = name !== undefined ? { id: c.companyId, company_name: name } : null; break; }
      case 'company_name': o.company_name = (c.companyId !== null ? store.companyName(c.companyId) : undefined) ?? null; break;
      case 'email_opted_in': o.email_opted_in = primary ? isOptedIn(primary.status) : false; break;
      case 'email_status': o.email_status = primary ? v1EmailStatus(primary.status) : null; break;
      case 'opt_in_reason': o.opt_in_reason = primary?.optInReason ?? null; break;
      case 'date_created': o.date_created = v1Time(c.createdAt); break;
      case 'last_updated': o.last_updated = v1Time(c.updatedAt); break;
      case 'last_updated_utc_millis': o.last_updated_utc_millis = c.updatedAt; break;
      case 'ScoreValue': o.ScoreValue = c.scoreValue; break;
      case 'email_addresses': o.email_addresses = c.emails.map((e) => ({ email: e.email, field: e.field })); break;
      case 'addresses': o.addresses = c.addresses.map(address); break;
      case 'phone_numbers': o.phone_numbers = c.phones.map((x) => ({ number: x.number, number_e164: x.e164, extension: x.extension, type: x.type, field: x.field })); break;
      case 'fax_numbers': o.fax_numbers = c.faxes.map((x) => ({ number: x.number, type: x.type, field: x.field })); break;
      case 'given_name': o.given_name = c.givenName; break;
      case 'family_name': o.family_name = c.familyName; break;
      case 'middle_name': o.middle_name = c.middleName; break;
      case 'owner_id': o.owner_id = c.ownerId; break;
      case 'birthday': o.birthday = c.birthDate ? `${c.birthDate}T00:00:00.000+0000` : null; break;
      case 'anniversary': o.anniversary = c.anniversaryDate; break;
      case 'preferred_locale': o.preferred_locale = c.preferredLocale; break;
      case 'website': o.website = c.website; break;
      case 'notes': o.notes = null; break;
      case 'custom_fields': o.custom_fields = customFieldsV1(store, 'CONTACT', store.contactCustomFields(c)); break;
      case 'prefix': o.prefix = c.prefix; break;
      case 'suffix': o.suffix = c.suffix; break;
      case 'origin': o.origin = c.origin ? { date: v1Time(c.origin.date), ip_address: c.origin.ipAddress } : null; break;
      case 'source_type': o.source_type = V1_SOURCE[c.sourceType] ?? 'UNKNOWN'; break;
      case 'time_zone': o.time_zone = c.timeZone; break;
      case 'lead_source_id': o.lead_source_id = c.leadSourceId; break;
      case 'social_accounts': o.social_accounts = c.social.map((s) => ({ name: s.name, type: V1_SOCIAL[s.type] })); break;
      case 'relationships': o.relationships = []; break;
      case 'spouse_name': o.spouse_name = c.spouseName; break;
      case 'contact_type': o.contact_type = c.contactType; break;
      case 'job_title': o.job_title = c.jobTitle; break;
      case 'preferred_name': o.preferred_name = c.preferredName; break;
      default: break;
    }
  }
  return o;
}

export const COMPANY_OPTIONAL_PROPERTIES = ['custom_fields', 'fax_number', 'notes'];
export function companyV1(store: SandboxStore, c: Company, props: ReadonlySet<string>): Json {
  const o: Json = {
    id: c.id, company_name: c.name, email_address: c.email, email_opted_in: isOptedIn(c.emailStatus), email_status: v1EmailStatus(c.emailStatus),
    phone_number: c.phone ? { number: c.phone, extension: c.phoneExt, type: 'Work' } : null,
    address: c.address ? { line1: c.address.line1, line2: c.address.line2, locality: c.address.locality, region: c.address.region, zip_code: c.address.postalCode, zip_four: c.address.zipFour, country_code: c.address.countryCode } : null,
    website: c.website,
  };
  if (props.has('fax_number')) o.fax_number = c.fax ? { number: c.fax, type: 'Work' } : null;
  if (props.has('notes')) o.notes = c.notes;
  if (props.has('custom_fields')) o.custom_fields = customFieldsV1(store, 'COMPANY', c.customFields);
  return o;
}

export function tagV1(store: SandboxStore, t: Tag): Json {
  const cat = store.tagCategories.get(t.categoryId);
  return { id: t.id, name: t.name, description: t.description, category: cat ? { id: cat.id, name: cat.name, description: cat.description } : null };
}

export function productV1(p: Product): Json {
  return {
    id: p.id, product_name: p.name, product_desc: p.description, product_short_desc: p.shortDescription, product_price: money(p.priceCents),
    sku: p.sku, status: p.active ? 1 : 0, subscription_only: p.subscriptionOnly, url: null, product_options: productOptions(p.id).map(productOptionV1),
    subscription_plans: p.plans.map((s) => ({ id: s.id, active: s.active, cycle: ({ YEAR: 1, MONTH: 2, WEEK: 3, DAY: 6 } as const)[s.cycle], frequency: s.frequency, number_of_cycles: s.cycles, plan_price: money(s.priceCents), subscription_plan_index: s.index, subscription_plan_name: s.name, url: null })),
  };
}

export function orderV1(store: SandboxStore, o: Order): Json {
  const c = store.contacts.get(o.contactId);
  const co = c?.companyId ? store.companies.get(c.companyId) : undefined;
  return {
    id: o.id, title: o.title, status: o.status, order_type: o.orderType === 'ONLINE' ? 'Online' : 'Offline', source_type: o.sourceType, recurring: false,
    contact: { id: o.contactId, first_name: c?.givenName ?? null, last_name: c?.familyName ?? null, email: c?.emails[0]?.email ?? null, company_name: co?.name ?? null, job_title: c?.jobTitle ?? null },
    contact_id: String(o.contactId), product_id: String(o.items[0]?.productId ?? ''), invoice_number: o.invoiceNumber,
    lead_affiliate_id: o.leadAffiliateId ?? 0, sales_affiliate_id: o.salesAffiliateId ?? 0,
    creation_date: v1Time(o.createdAt), modification_date: v1Time(o.updatedAt), order_date: v1Time(o.orderedAt),
    notes: o.notes, terms: o.terms, total: money(o.totalCents), total_due: money(o.totalCents - o.paidCents), total_paid: money(o.paidCents),
    refund_total: money(o.refundCents), allow_payment: o.status !== 'PAID', allow_paypal: false,
    order_items: o.items.map((i) => ({
      id: i.id, name: i.name, description: i.description, notes: null, type: i.type === 'PRODUCT' ? 'Product' : i.type, quantity: i.quantity,
      price: money(i.priceCents), cost: money(i.costCents), discount: money(i.discountCents),
      product: { id: i.productId, name: i.name, description: i.description, sku: `SKU-${String(i.productId).padStart(5, '0')}`, shippable: false, taxable: false },
    })),
  };
}

export const paymentV1 = (p: Payment): Json => ({
  id: p.id, amount: money(p.amountCents), invoice_id: p.orderId, payment_id: p.id, pay_date: v1Time(p.paidAt),
  pay_status: p.payStatus === 'REFUNDED' ? 'Refunded' : 'Approved', last_updated: v1Time(p.updatedAt), note: p.note,
  refund_invoice_payment_id: 0, skip_commission: false,
});

export function transactionV1(store: SandboxStore, p: Payment, withOrders: boolean): Json {
  const o: Json = {
    id: p.id, amount: money(p.amountCents), currency: 'USD', collection_method: p.method === 'CREDIT_CARD' ? 'Automatic' : 'Manual',
    contact_id: p.contactId, errors: null, gateway: p.gateway, gateway_account_name: `${p.gateway} account`, order_ids: String(p.orderId),
    paymentDate: v1Time(p.paidAt), status: p.payStatus === 'FAILED' ? 'Failed' : 'Approved', test: false, transaction_date: v1Time(p.paidAt),
    type: p.method === 'CREDIT_CARD' ? 'Sale' : 'Manual',
  };
  if (withOrders) { const order = store.orders.get(p.orderId); o.orders = order ? [orderV1(store, order)] : []; }
  return o;
}

const day = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString().slice(0, 10));
export const subscriptionV1 = (s: Subscription): Json => ({
  id: s.id, contact_id: s.contactId, product_id: s.productId, subscription_plan_id: s.planId, active: s.active, allow_tax: s.allowTax,
  auto_charge: s.autoCharge, billing_amount: money(s.billingAmountCents), billing_cycle: s.cycle, billing_frequency: s.frequency,
  credit_card_id: 0, payment_gateway_id: 1, use_default_payment_gateway: true, quantity: s.quantity, sale_affiliate_id: s.saleAffiliateId ?? 0,
  start_date: day(s.startDate), next_bill_date: day(s.nextBillDate), end_date: day(s.endDate),
});

export function opportunityV1(store: SandboxStore, o: Opportunity, withCustom: boolean): Json {
  const c = store.contacts.get(o.contactId); const s = store.stages.get(o.stageId); const u = store.users.get(o.userId);
  const co = c?.companyId ? store.companies.get(c.companyId) : undefined;
  const out: Json = {
    id: o.id, opportunity_title: o.title,
    contact: { id: o.contactId, first_name: c?.givenName ?? null, last_name: c?.familyName ?? null, email: c?.emails[0]?.email ?? null, company_name: co?.name ?? null, job_title: c?.jobTitle ?? null, phone_number: c?.phones[0]?.number ?? null },
    stage: { id: o.stageId, name: s?.name ?? null, reasons: [], details: s ? { probability: s.probability, stage_order: s.order, target_num_days: s.targetDays, check_list_items: [] } : null },
    user: u ? { id: u.id, first_name: u.givenName, last_name: u.familyName } : null,
    date_created: v1Time(o.createdAt), last_updated: v1Time(o.updatedAt), estimated_close_date: v1Time(o.estimatedCloseAt),
    next_action_date: t1(o.nextActionAt), next_action_notes: o.nextActionNotes, opportunity_notes: o.notes,
    include_in_forecast: o.includeInForecast ? 1 : 0, projected_revenue_low: o.revenueLow, projected_revenue_high: o.revenueHigh, affiliate_id: o.affiliateId ?? 0,
  };
  if (withCustom) out.custom_fields = customFieldsV1(store, 'OPPORTUNITY', o.customFields);
  return out;
}

export const stagePipelineV1 = (s: Stage, count: number): Json => ({ stage_id: s.id, stage_name: s.name, stage_order: s.order, stage_count: count, is_default: s.order === 1, end_stage: s.name.startsWith('Closed') });

export function taskV1(store: SandboxStore, t: Task): Json {
  const c = t.contactId !== null ? store.contacts.get(t.contactId) : undefined;
  return {
    id: t.id, title: t.title, description: t.description, type: t.type, priority: t.priority === 'CRITICAL' ? 3 : t.priority === 'ESSENTIAL' ? 2 : 1,
    completed: t.completed, completion_date: t1(t.completedAt), creation_date: v1Time(t.createdAt), modification_date: v1Time(t.updatedAt),
    due_date: t1(t.dueAt), remind_time: t.remindMins, user_id: t.userId, funnel_id: 0, jgraph_id: 0, url: null,
    contact: t.contactId !== null ? { id: t.contactId, email: c?.emails[0]?.email ?? null, first_name: c?.givenName ?? null, last_name: c?.familyName ?? null } : null,
  };
}

export function noteV1(store: SandboxStore, n: Note): Json {
  const u = store.users.get(n.userId);
  return {
    id: n.id, title: n.title, body: n.body, type: n.type, contact_id: n.contactId, user_id: n.userId, date_created: v1Time(n.createdAt),
    last_updated: v1Time(n.updatedAt), last_updated_by: u ? { user_id: u.id, given_name: u.givenName, family_name: u.familyName } : null,
  };
}

export const campaignV1 = (c: Campaign): Json => ({
  id: c.id, name: c.name, locked: c.locked, created_by_global_id: c.createdBy, date_created: v1Time(c.createdAt), published_date: t1(c.publishedAt),
  published_status: c.published, published_time_zone: c.timeZone, time_zone: c.timeZone, error_message: null,
  active_contact_count: c.activeCount, completed_contact_count: c.completedCount,
});

export const emailV1 = (e: SentEmail): Json => ({
  id: e.id, contact_id: e.contactId, subject: e.subject, headers: `From: ${e.fromAddress}\nTo: ${e.toAddress}`, sent_date: v1Time(e.sentAt),
  received_date: v1Time(e.receivedAt), opened_date: t1(e.openedAt), clicked_date: t1(e.clickedAt), sent_from_address: e.fromAddress,
  sent_from_reply_address: e.fromAddress, sent_to_address: e.toAddress, sent_to_cc_addresses: null, sent_to_bcc_addresses: null,
  original_provider: e.provider, original_provider_id: String(e.id),
});

export const userV1 = (u: User): Json => ({
  id: u.id, given_name: u.givenName, family_name: u.familyName, middle_name: null, preferred_name: null, email_address: u.email,
  company_name: 'Sandbox Business', job_title: u.admin ? 'Administrator' : 'Staff', website: null, time_zone: u.timeZone, partner: u.partner,
  status: u.status === 'ACTIVE' ? 'Active' : u.status === 'INVITED' ? 'Invited' : 'Inactive', global_user_id: u.globalUserId,
  infusionsoft_id: `${u.email}`, created_by: 1, date_created: v1Time(u.createdAt), last_updated: v1Time(u.updatedAt), last_updated_by: 1,
  address: null, phone_numbers: [{ number: u.phone, field: 'PHONE1', type: 'Work' }], fax_numbers: [],
});

export const appointmentV1 = (a: Appointment): Json => ({
  id: a.id, title: a.title, description: a.description, location: a.location, contact_id: a.contactId, user: a.userId,
  start_date: v1Time(a.startAt), end_date: v1Time(a.endAt), remind_time: a.remindMins,
});

const V1_CATEGORY: Record<string, string> = { ATTACHMENTS: 'Attachments', DOCUMENTS: 'Documents', INVOICE: 'Invoice', LOGO: 'Logo' };
const V1_BOX: Record<string, string> = { APPLICATION: 'Application', IMAGE: 'Image', ATTACHMENT: 'Attachment', CONTACT: 'Contact' };
export const fileV1 = (f: FileMeta, baseUrl: string): Json => ({
  id: f.id, file_name: f.fileName, file_size: f.fileSize, category: V1_CATEGORY[f.category], file_box_type: V1_BOX[f.boxType],
  contact_id: f.contactId, created_by: f.createdBy, date_created: v1Time(f.createdAt), last_updated: v1Time(f.updatedAt), public: f.isPublic,
  download_url: `${baseUrl}/crm/rest/v1/files/${f.id}?optional_properties=file_data`, remote_file_key: `files/${f.id}`,
});

export const affiliateV1 = (a: Affiliate): Json => ({
  id: a.id, code: a.code, name: a.name, contact_id: a.contactId, parent_id: a.parentId ?? 0, status: a.active ? 'Active' : 'Inactive',
  notify_on_lead: a.notifyOnLead, notify_on_sale: a.notifyOnSale, track_leads_for: a.trackLeadsDays,
});

export const customFieldDefV1 = (f: CustomFieldDef): Json => ({
  id: f.id, label: f.label, field_name: f.fieldName, field_type: f.type, record_type: f.recordType, default_value: f.defaultValue,
  options: f.options.map((o) => ({ id: o.id, label: o.label })),
});

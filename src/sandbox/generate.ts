// Record generators: record i of a kind is a pure function of (seed, kind, i). Nothing here is stored, so a
// million contacts cost no memory until someone asks for them.
import { Rng, hash32, KIND } from './random.js';
import { isoDay } from './formats.js';
import type { DataSizes } from './sizes.js';
import * as W from './words.js';
import type {
  Contact, Company, Tag, TagCategory, Product, Order, OrderItem, Payment, Subscription, Stage, Opportunity, Task, Note,
  Campaign, SentEmail, User, Appointment, FileMeta, Affiliate, CustomFieldDef, CustomValue, EmailStatus, PostalAddress,
  TagApplication, CustomRecordType, LeadSource, LeadSourceCategory,
} from './model.js';

const DAY = 86_400_000;
/** Generated data spans the five years before this fixed instant, so it does not depend on when it is generated. */
export const DATA_END = Date.UTC(2026, 9, 1);
export const DATA_START = DATA_END - 5 * 365 * DAY;
const SPAN_S = (DATA_END - DATA_START) / 1000;

const EMAIL_STATUSES: EmailStatus[] = ['SINGLE_OPT_IN', 'DOUBLE_OPT_IN', 'CONFIRMED', 'UNENGAGED_MARKETABLE', 'NON_MARKETABLE', 'UNENGAGED_NON_MARKETABLE', 'HARD_BOUNCE', 'LIST_UNSUBSCRIBE', 'SPAM'];
const STATUS_WEIGHTS = [30, 15, 20, 10, 10, 5, 4, 4, 2];
const OPT_IN_REASONS = ['Customer opted in via web form', 'Imported from spreadsheet', 'Double opt-in confirmed', 'Checkout form consent'];

function weighted<T>(r: Rng, xs: readonly T[], ws: readonly number[]): T {
  let total = 0; for (const w of ws) total += w;
  let x = r.next() * total;
  for (let i = 0; i < xs.length; i++) { x -= ws[i]!; if (x < 0) return xs[i]!; }
  return xs[xs.length - 1]!;
}
const isoDate = isoDay;
const slugs = new Map<string, string>();
/** ASCII lower-case form of a name for e-mail addresses (memoised: normalize() is slow and names repeat) */
const slug = (s: string): string => {
  let v = slugs.get(s);
  if (v === undefined) { v = s.normalize('NFD').replace(/[^A-Za-z0-9]/g, '').toLowerCase(); if (slugs.size < 10_000) slugs.set(s, v); }
  return v;
};

function address(r: Rng, field: PostalAddress['field']): PostalAddress {
  const [city, region, regionCode, zipPrefix] = r.pick(W.CITIES);
  return {
    field, line1: `${r.range(100, 9999)} ${r.pick(W.STREETS)}`, line2: r.chance(0.15) ? `Suite ${r.range(100, 999)}` : null,
    locality: city, region, regionCode, countryCode: 'USA', country: 'United States', postalCode: zipPrefix + r.digits(2),
    zipFour: r.chance(0.3) ? r.digits(4) : null,
  };
}
function phone(r: Rng, field: string, type: string): { number: string; e164: string; extension: string | null; type: string; field: string } {
  const area = r.pick(W.AREA_CODES); const a = r.digits(3); const b = r.digits(4);
  return { number: `(${area}) ${a}-${b}`, e164: `+1${area}${a}${b}`, extension: r.chance(0.1) ? String(r.range(1, 999)) : null, type, field };
}

export class DataGenerator {
  readonly customFields: CustomFieldDef[];
  private readonly contactFields: CustomFieldDef[];
  constructor(readonly seed: number, readonly sizes: DataSizes) {
    this.customFields = customFieldDefs();
    this.contactFields = this.fieldsFor('CONTACT');
  }

  private readonly byType = new Map<CustomRecordType, CustomFieldDef[]>();
  fieldsFor(recordType: CustomRecordType): CustomFieldDef[] {
    let defs = this.byType.get(recordType);
    if (!defs) { defs = this.customFields.filter((f) => f.recordType === recordType); this.byType.set(recordType, defs); }
    return defs;
  }

  // ---- contacts: the cheap parts first, so scans by time or tag need not build whole records ----
  contactCreatedAt(id: number): number {
    const h = hash32(this.seed, KIND.contactTimes, id);
    return DATA_START + (h % Math.floor(SPAN_S * 0.9)) * 1000;
  }
  contactUpdatedAt(id: number): number {
    const created = this.contactCreatedAt(id);
    const h = hash32(this.seed, KIND.contactTimes + 100, id);
    const room = Math.floor((DATA_END - created) / 1000);
    // a third never touched after creation; the rest updated some time later
    return h % 3 === 0 ? created : created + (h % Math.max(1, room)) * 1000;
  }
  contactTags(id: number): TagApplication[] {
    const h = hash32(this.seed, KIND.contactTags, id);
    const n = h % 5; // 0–4 tags
    if (n === 0 || this.sizes.tags === 0) return [];
    const created = this.contactCreatedAt(id);
    const out: TagApplication[] = [];
    for (let k = 0; k < n; k++) {
      const hk = hash32(h, k, id);
      const tagId = 1 + (hk % this.sizes.tags);
      if (out.some((t) => t.tagId === tagId)) continue;
      out.push({ tagId, appliedAt: Math.min(DATA_END - 1000, created + (hk % (400 * 86400)) * 1000) });
    }
    return out.sort((a, b) => a.tagId - b.tagId);
  }

  contact(id: number): Contact {
    const r = new Rng(this.seed, KIND.contact, id);
    const given = r.pick(W.GIVEN_NAMES); const family = r.pick(W.FAMILY_NAMES);
    const nEmails = weighted(r, [1, 2, 3], [70, 22, 8]);
    const base = `${slug(given)}.${slug(family)}`;
    const emails = [];
    for (let k = 0; k < nEmails; k++) {
      // contact id in the first address keeps EMAIL1 unique across the data set, as Keap's duplicate rules expect
      const email = k === 0 ? `${base}${id}@${r.pick(W.EMAIL_DOMAINS)}` : `${slug(given)[0]}${slug(family)}${r.range(1, 99)}@${r.pick(W.EMAIL_DOMAINS)}`;
      const status = weighted(r, EMAIL_STATUSES, STATUS_WEIGHTS);
      emails.push({ email, field: (['EMAIL1', 'EMAIL2', 'EMAIL3'] as const)[k]!, status, optInReason: status.endsWith('OPT_IN') || status === 'CONFIRMED' ? r.pick(OPT_IN_REASONS) : null });
    }
    const phones = [phone(r, 'PHONE1', r.pick(['Mobile', 'Work', 'Home']))];
    if (r.chance(0.3)) phones.push(phone(r, 'PHONE2', r.pick(['Work', 'Home', 'Other'])));
    const addresses = [address(r, 'BILLING')];
    if (r.chance(0.35)) addresses.push(address(r, 'SHIPPING'));
    if (r.chance(0.05)) addresses.push(address(r, 'OTHER'));
    const createdAt = this.contactCreatedAt(id); const updatedAt = this.contactUpdatedAt(id);
    const hasCompany = this.sizes.companies > 0 && r.chance(0.45);
    return {
      id, givenName: given, middleName: r.chance(0.2) ? r.pick(W.MIDDLE_INITIALS) : null, familyName: family,
      preferredName: r.chance(0.1) ? given.slice(0, 3) : null, prefix: r.chance(0.1) ? r.pick(['Mr.', 'Ms.', 'Dr.', 'Mrs.']) : null,
      suffix: r.chance(0.03) ? r.pick(['Jr.', 'Sr.', 'III']) : null, spouseName: r.chance(0.1) ? r.pick(W.GIVEN_NAMES) : null,
      jobTitle: r.chance(0.6) ? r.pick(W.JOB_TITLES) : null, contactType: weighted(r, ['Lead', 'Customer', 'Other'], [55, 40, 5]),
      website: r.chance(0.15) ? `https://www.${slug(family)}${r.range(1, 99)}.com` : null, timeZone: r.pick(W.TIME_ZONES),
      preferredLocale: r.pick(W.LOCALES), emails, phones,
      faxes: r.chance(0.04) ? [{ number: phone(r, 'FAX1', 'Work').number, type: 'Work', field: 'FAX1' }] : [],
      addresses, social: r.chance(0.1) ? [{ name: `${slug(given)}${slug(family)}`, type: r.pick(['FACEBOOK', 'LINKED_IN', 'TWITTER', 'INSTAGRAM'] as const) }] : [],
      companyId: hasCompany ? 1 + (hash32(this.seed, KIND.company, id) % this.sizes.companies) : null,
      ownerId: r.chance(0.8) ? 1 + r.int(this.sizes.users) : null,
      leadSourceId: r.chance(0.7) ? 1 + r.int(this.sizes.leadSources) : null,
      sourceType: weighted(r, ['WEBFORM', 'IMPORT', 'MANUAL', 'API', 'LANDING_PAGE', 'INTERNAL_FORM', 'APPOINTMENT'] as const, [30, 25, 15, 15, 10, 3, 2]),
      origin: r.chance(0.4) ? { date: createdAt, ipAddress: `${r.range(11, 223)}.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}` } : null,
      birthDate: r.chance(0.3) ? isoDate(Date.UTC(r.range(1950, 2004), r.int(12), r.range(1, 28))) : null,
      anniversaryDate: r.chance(0.1) ? isoDate(Date.UTC(r.range(1980, 2024), r.int(12), r.range(1, 28))) : null,
      scoreValue: r.chance(0.5) ? String(r.int(100)) : null, referralCode: r.chance(0.05) ? `REF${r.digits(6)}` : null,
      customFields: null, createdAt, updatedAt,
    };
  }

  /** Custom-field values of a generated contact: their own stream, built only when asked for. */
  contactCustomFields(id: number): Record<number, CustomValue> {
    const r = new Rng(this.seed, KIND.contact + 1000, id);
    const custom: Record<number, CustomValue> = {};
    for (const f of this.contactFields) custom[f.id] = customValue(r, f, this.sizes.users);
    return custom;
  }

  /** a company's name without building the company (contacts and orders embed it) */
  companyName(id: number): string {
    return companyNameFrom(new Rng(this.seed, KIND.company, id));
  }

  company(id: number): Company {
    const r = new Rng(this.seed, KIND.company, id);
    const name = companyNameFrom(r);
    const createdAt = DATA_START + r.int(SPAN_S * 0.9) * 1000;
    const custom: Record<number, CustomValue> = {};
    for (const f of this.fieldsFor('COMPANY')) custom[f.id] = customValue(r, f, this.sizes.users);
    return {
      id, name, email: r.chance(0.8) ? `info@${slug(name)}.com` : null, emailStatus: weighted(r, EMAIL_STATUSES, STATUS_WEIGHTS),
      phone: r.chance(0.8) ? phone(r, 'PHONE1', 'Work').number : null, phoneExt: r.chance(0.1) ? String(r.range(1, 99)) : null,
      fax: r.chance(0.1) ? phone(r, 'FAX1', 'Work').number : null, address: r.chance(0.85) ? address(r, 'BILLING') : null,
      website: r.chance(0.7) ? `https://www.${slug(name)}.com` : null, notes: r.chance(0.3) ? r.pick(W.LOREM) : null,
      ownerId: r.chance(0.7) ? 1 + r.int(this.sizes.users) : null, customFields: custom,
      createdAt, updatedAt: createdAt + r.int(Math.floor((DATA_END - createdAt) / 1000)) * 1000,
    };
  }

  user(id: number): User {
    const r = new Rng(this.seed, KIND.user, id);
    const given = r.pick(W.GIVEN_NAMES); const family = r.pick(W.FAMILY_NAMES);
    const createdAt = DATA_START + r.int(SPAN_S * 0.3) * 1000;
    return {
      id, givenName: given, familyName: family, email: `${slug(given)}.${slug(family)}@sandbox-business.example`,
      phone: phone(r, 'PHONE1', 'Work').number, admin: id === 1 || r.chance(0.2), partner: id !== 1 && r.chance(0.1),
      status: id === 1 ? 'ACTIVE' : weighted(r, ['ACTIVE', 'INVITED', 'INACTIVE'] as const, [80, 5, 15]), timeZone: r.pick(W.TIME_ZONES),
      globalUserId: 100000 + hash32(this.seed, KIND.user, id) % 900000, createdAt, updatedAt: createdAt + r.int(SPAN_S * 0.5) * 1000,
    };
  }

  tagCategory(id: number): TagCategory {
    const t = DATA_START + (id * 7) * DAY;
    return { id, name: W.TAG_CATEGORIES[(id - 1) % W.TAG_CATEGORIES.length]!, description: `Tags about ${W.TAG_CATEGORIES[(id - 1) % W.TAG_CATEGORIES.length]!.toLowerCase()}`, createdAt: t, updatedAt: t + DAY };
  }
  tag(id: number): Tag {
    const r = new Rng(this.seed, KIND.tag, id);
    const word = W.TAG_WORDS[(id - 1) % W.TAG_WORDS.length]!;
    const round = Math.floor((id - 1) / W.TAG_WORDS.length);
    const createdAt = DATA_START + r.int(SPAN_S * 0.2) * 1000;
    return {
      id, name: round === 0 ? word : `${word} ${round + 1}`, description: r.chance(0.5) ? `Applied when: ${word.toLowerCase()}` : '',
      categoryId: 1 + r.int(this.sizes.tagCategories), createdAt, updatedAt: createdAt + r.int(SPAN_S * 0.5) * 1000,
    };
  }

  product(id: number): Product {
    const r = new Rng(this.seed, KIND.product, id);
    const word = W.PRODUCT_WORDS[(id - 1) % W.PRODUCT_WORDS.length]!;
    const round = Math.floor((id - 1) / W.PRODUCT_WORDS.length);
    const name = round === 0 ? word : `${word} ${['Plus', 'Pro', 'Deluxe', 'Lite', 'XL'][round % 5]}${round >= 5 ? ' ' + round : ''}`;
    const price = r.pick([900, 1900, 2900, 4900, 9700, 14700, 19700, 29700, 49700, 99700]);
    const createdAt = DATA_START + r.int(SPAN_S * 0.5) * 1000;
    const subscriptionOnly = r.chance(0.15);
    const plans = [];
    if (subscriptionOnly || r.chance(0.2)) {
      const n = r.range(1, 2);
      for (let k = 0; k < n; k++) {
        const cycle = k === 0 ? 'MONTH' as const : 'YEAR' as const;
        plans.push({ id: id * 10 + k, productId: id, name: `${name} ${cycle === 'MONTH' ? 'Monthly' : 'Yearly'}`, cycle, frequency: 1, cycles: r.pick([0, 0, 12]), priceCents: cycle === 'MONTH' ? Math.round(price / 10) : price, active: true, index: k });
      }
    }
    return {
      id, name, description: `${name}: everything you need to get started.`, shortDescription: name, sku: `SKU-${String(id).padStart(5, '0')}`,
      priceCents: price, active: r.chance(0.9), shippable: r.chance(0.3), taxable: r.chance(0.5), weight: r.chance(0.3) ? r.range(1, 50) / 10 : 0,
      subscriptionOnly, plans, createdAt, updatedAt: createdAt + r.int(SPAN_S * 0.3) * 1000,
    };
  }

  order(id: number): Order {
    const r = new Rng(this.seed, KIND.order, id);
    const contactId = 1 + (hash32(this.seed, KIND.order, id) % Math.max(1, this.sizes.contacts));
    const contactCreated = this.contactCreatedAt(contactId);
    const orderedAt = contactCreated + r.int(Math.max(1, Math.floor((DATA_END - contactCreated) / 1000))) * 1000;
    const nItems = weighted(r, [1, 2, 3, 4], [55, 25, 12, 8]);
    const items: OrderItem[] = []; let total = 0;
    for (let k = 0; k < nItems; k++) {
      const productId = 1 + r.int(this.sizes.products);
      const p = this.product(productId);
      const quantity = weighted(r, [1, 2, 3, 5], [70, 18, 8, 4]);
      const discount = r.chance(0.1) ? Math.round(p.priceCents * 0.1) : 0;
      items.push({ id: id * 10 + k, productId, name: p.name, description: p.shortDescription, quantity, priceCents: p.priceCents, costCents: Math.round(p.priceCents * 0.4), discountCents: discount, type: 'PRODUCT' });
      total += p.priceCents * quantity - discount;
    }
    const status = weighted(r, ['PAID', 'SENT', 'VIEWED', 'DRAFT'] as const, [70, 12, 8, 10]);
    const paid = status === 'PAID' ? total : status === 'DRAFT' ? 0 : (r.chance(0.3) ? Math.round(total / 2) : 0);
    const refund = status === 'PAID' && r.chance(0.04) ? total : 0;
    const custom: Record<number, CustomValue> = {};
    for (const f of this.fieldsFor('ORDER')) custom[f.id] = customValue(r, f, this.sizes.users);
    return {
      id, contactId, title: items.length === 1 ? items[0]!.name : `${items[0]!.name} and ${items.length - 1} more`, status,
      orderType: r.chance(0.7) ? 'ONLINE' : 'OFFLINE', sourceType: weighted(r, ['CHECKOUT_FORM', 'INVOICE', 'API', 'MANUAL_PAYMENT'] as const, [50, 25, 15, 10]),
      items, totalCents: total, paidCents: paid, refundCents: refund, invoiceNumber: 10000 + id,
      leadAffiliateId: r.chance(0.05) ? 1 + r.int(this.sizes.affiliates) : null, salesAffiliateId: r.chance(0.05) ? 1 + r.int(this.sizes.affiliates) : null,
      notes: r.chance(0.1) ? r.pick(W.LOREM) : null, terms: r.chance(0.2) ? 'Net 30' : null,
      orderedAt, createdAt: orderedAt, updatedAt: Math.min(DATA_END, orderedAt + r.int(30 * 86400) * 1000), customFields: custom,
    };
  }

  /** Payments of one order: ids orderId*4 + k, so a payment id names its order without an index. */
  orderPayments(order: Order): Payment[] {
    if (order.paidCents === 0) return [];
    const r = new Rng(this.seed, KIND.payment, order.id);
    const split = order.status === 'PAID' && r.chance(0.2) ? 2 : 1;
    const out: Payment[] = []; let left = order.paidCents;
    for (let k = 0; k < split; k++) {
      const amount = k === split - 1 ? left : Math.round(order.paidCents / 2); left -= amount;
      const paidAt = order.orderedAt + (k * 14 + r.int(3)) * DAY;
      out.push({
        id: order.id * 4 + k, orderId: order.id, contactId: order.contactId, amountCents: amount,
        payStatus: order.refundCents > 0 ? 'REFUNDED' : r.chance(0.9) ? 'APPROVED' : 'MANUAL_PAID',
        method: weighted(r, ['CREDIT_CARD', 'CASH', 'CHECK'] as const, [85, 8, 7]), gateway: r.pick(['Stripe', 'Keap Payments', 'PayPal']),
        note: r.chance(0.1) ? 'Paid in full' : null, paidAt, updatedAt: paidAt,
      });
    }
    return out;
  }

  subscription(id: number): Subscription {
    const r = new Rng(this.seed, KIND.subscription, id);
    const contactId = 1 + (hash32(this.seed, KIND.subscription, id) % Math.max(1, this.sizes.contacts));
    let product = this.product(1 + r.int(this.sizes.products));
    for (let k = 0; k < 20 && product.plans.length === 0; k++) product = this.product(1 + r.int(this.sizes.products));
    const plan = product.plans[0];
    const start = Math.floor((DATA_START + r.int(SPAN_S * 0.95) * 1000) / DAY) * DAY;
    const active = r.chance(0.7);
    const cycle = plan?.cycle ?? 'MONTH';
    const step = cycle === 'YEAR' ? 365 * DAY : cycle === 'WEEK' ? 7 * DAY : cycle === 'DAY' ? DAY : 30 * DAY;
    const elapsed = Math.floor((DATA_END - start) / step);
    return {
      id, contactId, productId: product.id, planId: plan?.id ?? product.id * 10, active, billingAmountCents: plan?.priceCents ?? product.priceCents,
      cycle, frequency: 1, quantity: r.chance(0.9) ? 1 : 2, autoCharge: r.chance(0.9), allowTax: r.chance(0.3), startDate: start,
      lastBillDate: elapsed > 0 ? start + elapsed * step : null, nextBillDate: active ? start + (elapsed + 1) * step : null,
      endDate: active ? null : start + Math.max(1, r.int(elapsed + 1)) * step, saleAffiliateId: r.chance(0.05) ? 1 + r.int(this.sizes.affiliates) : null,
    };
  }

  stage(id: number): Stage {
    const t = DATA_START + id * DAY;
    return { id, name: W.STAGE_NAMES[(id - 1) % W.STAGE_NAMES.length]!, order: id, probability: [10, 25, 50, 75, 100, 0][(id - 1) % 6]!, targetDays: [7, 14, 14, 30, 0, 0][(id - 1) % 6]!, createdAt: t, updatedAt: t };
  }

  opportunity(id: number): Opportunity {
    const r = new Rng(this.seed, KIND.opportunity, id);
    const contactId = 1 + (hash32(this.seed, KIND.opportunity, id) % Math.max(1, this.sizes.contacts));
    const createdAt = this.contactCreatedAt(contactId) + r.int(200 * 86400) * 1000;
    const low = r.range(5, 200) * 100;
    const custom: Record<number, CustomValue> = {};
    for (const f of this.fieldsFor('OPPORTUNITY')) custom[f.id] = customValue(r, f, this.sizes.users);
    return {
      id, title: `${r.pick(W.OPPORTUNITY_WORDS)} for ${r.pick(W.FAMILY_NAMES)}`, contactId, stageId: 1 + r.int(this.sizes.stages),
      userId: 1 + r.int(this.sizes.users), notes: r.chance(0.4) ? r.pick(W.LOREM) : null, nextActionNotes: r.chance(0.5) ? r.pick(W.TASK_TITLES) : null,
      nextActionAt: r.chance(0.5) ? createdAt + r.range(1, 60) * DAY : null, estimatedCloseAt: createdAt + r.range(7, 120) * DAY,
      includeInForecast: r.chance(0.7), revenueLow: low, revenueHigh: low + r.range(0, 100) * 100,
      affiliateId: r.chance(0.05) ? 1 + r.int(this.sizes.affiliates) : null, customFields: custom,
      createdAt: Math.min(createdAt, DATA_END - DAY), updatedAt: Math.min(DATA_END, createdAt + r.int(90 * 86400) * 1000),
    };
  }

  task(id: number): Task {
    const r = new Rng(this.seed, KIND.task, id);
    const contactId = r.chance(0.95) ? 1 + (hash32(this.seed, KIND.task, id) % Math.max(1, this.sizes.contacts)) : null;
    const createdAt = (contactId ? this.contactCreatedAt(contactId) : DATA_START) + r.int(300 * 86400) * 1000;
    const completed = r.chance(0.6);
    const due = r.chance(0.85) ? createdAt + r.range(1, 30) * DAY : null;
    return {
      id, title: r.pick(W.TASK_TITLES), description: r.chance(0.5) ? r.pick(W.LOREM) : null, type: r.pick(['Call', 'Email', 'Appointment', 'Fax', 'Letter', 'Other']),
      priority: weighted(r, ['ESSENTIAL', 'NONESSENTIAL', 'CRITICAL'] as const, [60, 30, 10]), completed,
      completedAt: completed ? createdAt + r.range(1, 40) * DAY : null, dueAt: due, remindMins: r.chance(0.3) ? r.pick([5, 10, 15, 30, 60, 120, 1440]) : null,
      contactId, userId: 1 + r.int(this.sizes.users), createdAt: Math.min(createdAt, DATA_END - DAY),
      updatedAt: Math.min(DATA_END, createdAt + r.int(40 * 86400) * 1000),
    };
  }

  note(id: number): Note {
    const r = new Rng(this.seed, KIND.note, id);
    const contactId = 1 + (hash32(this.seed, KIND.note, id) % Math.max(1, this.sizes.contacts));
    const createdAt = Math.min(DATA_END - DAY, this.contactCreatedAt(contactId) + r.int(365 * 86400) * 1000);
    return {
      id, title: r.pick(W.NOTE_TITLES), body: `${r.pick(W.LOREM)} ${r.pick(W.LOREM)}`, type: weighted(r, ['Call', 'Email', 'Other', 'Appointment', 'Letter', 'Fax'] as const, [40, 30, 15, 10, 4, 1]),
      contactId, userId: 1 + r.int(this.sizes.users), createdAt, updatedAt: createdAt + (r.chance(0.2) ? r.int(30 * 86400) * 1000 : 0),
    };
  }

  campaign(id: number): Campaign {
    const r = new Rng(this.seed, KIND.campaign, id);
    const createdAt = DATA_START + r.int(SPAN_S * 0.8) * 1000; const published = r.chance(0.8);
    return {
      id, name: W.CAMPAIGN_WORDS[(id - 1) % W.CAMPAIGN_WORDS.length]! + (id > W.CAMPAIGN_WORDS.length ? ` ${Math.ceil(id / W.CAMPAIGN_WORDS.length)}` : ''),
      locked: r.chance(0.1), published, timeZone: r.pick(W.TIME_ZONES), createdBy: 100000 + r.int(900000),
      activeCount: published ? r.int(Math.max(1, Math.floor(this.sizes.contacts / 5))) : 0, completedCount: published ? r.int(Math.max(1, Math.floor(this.sizes.contacts / 3))) : 0,
      createdAt, publishedAt: published ? createdAt + r.range(1, 20) * DAY : null, updatedAt: createdAt + r.range(1, 200) * DAY,
    };
  }

  email(id: number): SentEmail {
    const r = new Rng(this.seed, KIND.email, id);
    const contactId = 1 + (hash32(this.seed, KIND.email, id) % Math.max(1, this.sizes.contacts));
    const sentAt = Math.min(DATA_END - DAY, this.contactCreatedAt(contactId) + r.int(500 * 86400) * 1000);
    const opened = r.chance(0.45);
    const given = W.GIVEN_NAMES[hash32(contactId) % W.GIVEN_NAMES.length]!;
    return {
      id, contactId, subject: r.pick(W.EMAIL_SUBJECTS), fromAddress: 'hello@sandbox-business.example', toAddress: `${slug(given)}${contactId}@${r.pick(W.EMAIL_DOMAINS)}`,
      sentAt, receivedAt: sentAt + r.range(1, 30) * 1000, openedAt: opened ? sentAt + r.range(60, 86400 * 3) * 1000 : null,
      clickedAt: opened && r.chance(0.3) ? sentAt + r.range(86400 * 3, 86400 * 4) * 1000 : null,
      provider: weighted(r, ['INFUSIONSOFT', 'GOOGLE', 'MICROSOFT', 'UNKNOWN'] as const, [80, 10, 8, 2]),
    };
  }

  appointment(id: number): Appointment {
    const r = new Rng(this.seed, KIND.appointment, id);
    const contactId = 1 + (hash32(this.seed, KIND.appointment, id) % Math.max(1, this.sizes.contacts));
    const startAt = Math.floor((this.contactCreatedAt(contactId) + r.int(300) * DAY) / 1800000) * 1800000;
    return {
      id, title: r.pick(['Discovery call', 'Consultation', 'Follow-up meeting', 'Strategy session', 'Demo']), description: r.chance(0.5) ? r.pick(W.LOREM) : null,
      location: r.chance(0.6) ? r.pick(['Zoom', 'Phone', 'Office', 'Client site']) : null, contactId, userId: 1 + r.int(this.sizes.users),
      startAt, endAt: startAt + r.pick([30, 45, 60, 90]) * 60000, remindMins: r.chance(0.5) ? r.pick([15, 30, 60, 1440]) : null, updatedAt: startAt - r.range(1, 10) * DAY,
    };
  }

  file(id: number): FileMeta {
    const r = new Rng(this.seed, KIND.file, id);
    const ext = r.pick(W.FILE_EXTS);
    const createdAt = DATA_START + r.int(SPAN_S * 0.95) * 1000;
    return {
      id, fileName: `${r.pick(W.FILE_NAMES)}-${id}.${ext}`, fileSize: r.range(2_000, 5_000_000),
      category: weighted(r, ['ATTACHMENTS', 'DOCUMENTS', 'INVOICE', 'LOGO'] as const, [50, 35, 10, 5]),
      boxType: ext === 'png' || ext === 'jpg' ? 'IMAGE' : r.chance(0.7) ? 'ATTACHMENT' : 'APPLICATION',
      contactId: r.chance(0.8) ? 1 + r.int(Math.max(1, this.sizes.contacts)) : null, createdBy: 1 + r.int(this.sizes.users), isPublic: r.chance(0.2),
      createdAt, updatedAt: createdAt + r.int(30) * DAY,
    };
  }

  leadSourceCategory(id: number): LeadSourceCategory {
    const name = W.LEAD_SOURCE_CATEGORIES[(id - 1) % W.LEAD_SOURCE_CATEGORIES.length]!;
    const t = DATA_START + id * 3 * DAY;
    return { id, name, description: `${name} lead sources`, createdAt: t, updatedAt: t + DAY };
  }

  leadSource(id: number): LeadSource {
    const r = new Rng(this.seed, KIND.leadSource, id);
    const name = W.LEAD_SOURCES[(id - 1) % W.LEAD_SOURCES.length]!;
    const [medium, vendor, category] = W.LEAD_SOURCE_DETAILS[(id - 1) % W.LEAD_SOURCE_DETAILS.length]!;
    const startAt = Math.floor((DATA_START + r.int(30) * DAY) / DAY) * DAY;
    const active = r.chance(0.85);
    return {
      id, name, description: `Contacts who came through ${name.toLowerCase()}`, vendor, medium, message: r.chance(0.5) ? r.pick(W.EMAIL_SUBJECTS) : null,
      active, categoryId: 1 + ((category - 1) % this.sizes.leadSourceCategories), startAt, endAt: active ? null : startAt + r.range(200, 1200) * DAY,
      createdAt: startAt, updatedAt: startAt + r.range(1, 900) * DAY,
    };
  }

  affiliate(id: number): Affiliate {
    const r = new Rng(this.seed, KIND.affiliate, id);
    const contactId = 1 + (hash32(this.seed, KIND.affiliate, id) % Math.max(1, this.sizes.contacts));
    const family = r.pick(W.FAMILY_NAMES);
    return {
      id, code: `${slug(family).slice(0, 6)}${id}`, name: `${r.pick(W.GIVEN_NAMES)} ${family}`, contactId, parentId: id > 3 && r.chance(0.2) ? 1 + r.int(id - 1) : null,
      active: r.chance(0.85), notifyOnLead: r.chance(0.5), notifyOnSale: r.chance(0.7), trackLeadsDays: r.pick([30, 60, 90, 365]),
      createdAt: DATA_START + r.int(SPAN_S * 0.9) * 1000,
    };
  }
}

function companyNameFrom(r: Rng): string {
  return `${r.pick(W.COMPANY_WORDS_A)} ${r.pick(W.COMPANY_WORDS_B)} ${r.pick(W.COMPANY_SUFFIXES)}`.trim();
}

function customFieldDefs(): CustomFieldDef[] {
  const defs: CustomFieldDef[] = [];
  let id = 0;
  const add = (recordType: CustomRecordType, label: string, type: CustomFieldDef['type'], options: string[] = []): void => {
    id += 2; // Keap's custom-field ids are sparse; even numbers keep that visible
    defs.push({ id, label, fieldName: label.replace(/[^A-Za-z0-9]/g, ''), type, recordType, options: options.map((o, k) => ({ id: String(id * 100 + k), label: o })), defaultValue: null, groupId: recordType === 'CONTACT' ? 1 : 2 });
  };
  add('CONTACT', 'Favorite Color', 'Dropdown', ['Red', 'Green', 'Blue', 'Purple', 'Orange']);
  add('CONTACT', 'Interests', 'ListBox', ['Yoga', 'Running', 'Nutrition', 'Meditation', 'Strength']);
  add('CONTACT', 'Lifetime Value', 'Currency');
  add('CONTACT', 'Visits', 'WholeNumber');
  add('CONTACT', 'Satisfaction Score', 'DecimalNumber');
  add('CONTACT', 'Discount Rate', 'Percent');
  add('CONTACT', 'Membership Start', 'Date');
  add('CONTACT', 'Last Webinar', 'DateTime');
  add('CONTACT', 'Newsletter Subscriber', 'YesNo');
  add('CONTACT', 'Referral Notes', 'TextArea');
  add('CONTACT', 'Nickname', 'Text');
  add('CONTACT', 'Personal Website', 'Website');
  add('CONTACT', 'Preferred Contact Method', 'Radio', ['Email', 'Phone', 'Text']);
  add('CONTACT', 'Graduation Year', 'Year');
  add('CONTACT', 'Account Manager', 'User');
  add('COMPANY', 'Industry', 'Dropdown', ['Health', 'Retail', 'Services', 'Education', 'Technology']);
  add('COMPANY', 'Employees', 'WholeNumber');
  add('COMPANY', 'Annual Revenue', 'Currency');
  add('COMPANY', 'Founded', 'Date');
  add('COMPANY', 'Partner', 'YesNo');
  add('ORDER', 'Gift Message', 'Text');
  add('ORDER', 'Delivery Date', 'Date');
  add('ORDER', 'Rush', 'YesNo');
  add('ORDER', 'Commission Percent', 'Percent');
  add('OPPORTUNITY', 'Deal Size', 'Dropdown', ['Small', 'Medium', 'Large', 'Enterprise']);
  add('OPPORTUNITY', 'Competitor', 'Text');
  add('OPPORTUNITY', 'Win Probability', 'Percent');
  add('OPPORTUNITY', 'Decision Date', 'DateTime');
  add('OPPORTUNITY', 'Seats', 'WholeNumber');
  // record types whose values the sandbox builds on demand (SandboxStore.customValues), not in the records
  add('SUBSCRIPTION', 'Renewal Reason', 'Text');
  add('SUBSCRIPTION', 'Licences', 'WholeNumber');
  add('TASK_NOTE_APPOINTMENT', 'Outcome', 'Dropdown', ['Done', 'No answer', 'Rescheduled']);
  add('TASK_NOTE_APPOINTMENT', 'Follow Up On', 'Date');
  add('TASK_NOTE_APPOINTMENT', 'Billable', 'YesNo');
  add('REFERRAL_PARTNER', 'Payout Method', 'Dropdown', ['Check', 'PayPal', 'Bank transfer']);
  add('REFERRAL_PARTNER', 'Tax Id', 'Text');
  add('REFERRAL_PARTNER', 'Commission Cap', 'Currency');
  return defs;
}

/** A custom-field value in the neutral form: dates as epoch ms, list boxes as comma-joined labels. */
export function customValue(r: Rng, f: CustomFieldDef, users: number): CustomValue {
  if (r.chance(0.25)) return null;
  switch (f.type) {
    case 'Dropdown': case 'Radio': return r.pick(f.options).label;
    case 'ListBox': return f.options.filter(() => r.chance(0.4)).map((o) => o.label).join(',') || f.options[0]!.label;
    case 'Currency': return r.range(0, 500000) / 100;
    case 'WholeNumber': return r.range(0, 500);
    case 'DecimalNumber': return r.range(0, 1000) / 100;
    case 'Percent': return r.range(0, 100);
    case 'Date': return Math.floor((DATA_START + r.int(SPAN_S) * 1000) / DAY) * DAY;
    case 'DateTime': return DATA_START + r.int(SPAN_S) * 1000;
    case 'YesNo': return r.chance(0.5);
    case 'TextArea': return r.pick(W.LOREM);
    case 'Text': return r.pick(['Ace', 'Buddy', 'Chief', 'Doc', 'Sunny', 'Tex', 'Acme Corp', 'In-house']);
    case 'Website': return `https://example.com/${r.range(1, 999)}`;
    case 'Email': return `someone${r.range(1, 999)}@example.com`;
    case 'PhoneNumber': return `(555) ${r.digits(3)}-${r.digits(4)}`;
    case 'Year': return r.range(1970, 2024);
    case 'Month': return r.range(1, 12);
    case 'DayOfWeek': return r.pick(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday']);
    case 'State': return r.pick(W.CITIES)[1];
    case 'User': return 1 + r.int(users);
  }
}

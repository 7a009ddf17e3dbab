// Records of the resources added for issue 13 (account settings, locales, merchants, shipping, product and
// automation categories, link types and links, email templates, REST hooks, affiliate programs, redirects,
// payouts and commissions, lead source expenses, campaign goals and sequences, user signatures). Like
// generate.ts: record i of a kind is a pure function of (seed, kind, i), sizes follow the contacts.
import { Rng, hash32 } from './random.js';
import { DATA_END, DATA_START } from './generate.js';
import { Collection, type SandboxStore } from './store.js';
import * as W from './words.js';
import type { Order, Payment, CustomRecordType, CustomValue } from './model.js';
import { customValue } from './generate.js';

const DAY = 86_400_000;
/** stream ids of these kinds (generate.ts's KIND stops well below) */
const K = { linkType: 101, contactLink: 102, productCategory: 103, emailTemplate: 104, program: 105, redirect: 106, payout: 107, expense: 108, recurring: 109, goal: 110, sequence: 111, clawback: 112, companyTag: 113, noteTemplate: 114, webform: 115, report: 116, discount: 117, bundle: 118, custom: 120, card: 121, referral: 122, stageMove: 123, programResource: 124 } as const;
const when = (r: Rng, from = DATA_START, to = DATA_END): number => from + Math.floor(r.next() * Math.max(1, (to - from) / 1000)) * 1000;

export interface NamedRecord { id: number; name: string; createdAt: number }
export interface ContactLinkType extends NamedRecord { maxLinks: number }
export interface ContactLink { contact1Id: number; contact2Id: number; linkTypeId: number }
export interface Merchant { id: number; name: string; type: 'KEAP_PAY' | 'STRIPE' | 'PAYPAL' | 'AUTHORIZE'; isTest: boolean }
export interface ShippingMethod { id: number; name: string; description: string; type: string; status: 'ACTIVE' | 'INACTIVE'; international: boolean; settings: Record<string, unknown> }
export interface ProductCategory { id: number; name: string; displayOrder: number; parentId: number | null }
export interface EmailTemplate { id: number; title: string; categories: string[]; fromAddress: string; toAddress: string; cc: string | null; bcc: string | null; subject: string; contentType: 'TEXT' | 'HTML' | 'MULTIPART'; mergeContext: string }
export interface CommissionProgram { id: number; name: string; priority: number; notes: string | null; createdAt: number; affiliateIds: number[] }
export interface Redirect { id: number; name: string; code: string; affiliateId: number; localUrlCode: string; redirectUrl: string; websiteAddress: string; programIds: number[]; createdAt: number }
export interface AffiliatePayout { id: number; affiliateId: number; payDate: number; notes: string | null; amountCents: number; type: 'CASH' | 'CHECK' | 'CREDIT_CARD' | 'ADJUSTMENT'; createdAt: number }
/** A commission an affiliate earned on an order's payment (id = the payment's id); clawedBack when it was taken back. */
export interface Commission { id: number; affiliateId: number; order: Order; payment: Payment; amountCents: number; clawedBack: boolean }
export interface LeadSourceExpense { id: number; leadSourceId: number; recurringId: number | null; title: string; notes: string | null; amountCents: number; incurredAt: number; createdAt: number; updatedAt: number }
export interface RecurringExpense { id: number; leadSourceId: number; title: string; notes: string | null; amountCents: number; startAt: number; endAt: number | null; nextAt: number | null; createdAt: number; updatedAt: number }
export interface CampaignGoal { id: number; campaignId: number; name: string; type: string; last24h: number; last30d: number; next: number[]; previous: number[] }
export interface CampaignSequence { id: number; campaignId: number; name: string; active: number; completed: number; last24h: number; last30d: number }
export interface RestHook { key: string; eventKey: string; hookUrl: string; status: 'Verified' | 'Unverified' | 'Inactive' }
export interface CompanyTag { tagId: number; appliedAt: number }
export interface NoteTemplate { id: number; title: string; description: string; actionType: string; userId: number | null; notify: number[] }
export interface Webform { id: number; name: string; type: 'LEGACY' | 'STANDALONE' | 'FUNNEL' | 'LANDING_PAGE' | 'SURVEY'; slug: string; duplicateCheck: 'EMAIL' | 'EMAIL_AND_NAME' | 'NO_CHECK'; exitOption: 'REDIRECT' | 'MESSAGE' | 'HOSTED'; createdAt: number; updatedAt: number }
export interface SavedReport { id: number; name: string; userIds: number[]; createdAt: number; updatedAt: number }
export type DiscountKind = 'freeTrials' | 'orderTotals' | 'productCategories' | 'products' | 'shipping';
/** A discount of one kind; the fields a kind lacks are unset. Ids run across kinds (kind k: k*100 + i). */
export interface Discount {
  id: number; kind: DiscountKind; name: string; description: string; promoCode: string | null; startAt: number; endAt: number;
  type: 'AMOUNT' | 'PERCENT'; value: number; applyToCommissions: boolean; strategy: 'GROSS' | 'NET';
  productId: number | null; categoryIds: number[]; planId: number | null; trialDays: number; hidePrice: boolean;
}
export const DISCOUNT_KINDS: DiscountKind[] = ['freeTrials', 'orderTotals', 'productCategories', 'products', 'shipping'];
export interface InterestBundle { id: number; name: string; description: string; products: { productId: number; quantity: number; priceCents: number; discount: number }[] }
/** A card saved on a contact: v2 lists it as a payment method, v1 as a credit card (ids differ: id and creditCardId). */
export interface PaymentMethodRec {
  id: number; contactId: number; creditCardId: number; merchantId: number; brand: string; cardType: 'CREDIT' | 'DEBIT' | 'PREPAID';
  lastFour: string; expMonth: number; expYear: number; expired: boolean; fingerprint: string; validation: 'Good' | 'Bad' | 'Unknown'; createdAt: number;
}
export interface Referral { id: number; contactId: number; affiliateId: number; type: 'COOKIE' | 'MANUAL' | 'PERMANENT'; source: string; description: string; referredAt: number; expiresAt: number | null; ip: string | null }
export interface StageMove { id: number; opportunityId: number; from: number; to: number; movedAt: number; prevMovedAt: number | null; userId: number; createdBy: number }
export interface Country { alpha2: string; alpha3: string; name: string; provinces: [code: string, name: string][] }

export const AUTOMATION_CATEGORIES = ['Lead nurture', 'Onboarding', 'Sales follow-up', 'Events', 'Win-back'];
const LINK_TYPES: [string, number][] = [['Spouse', 1], ['Business partner', 5], ['Assistant', 2], ['Referred by', 1]];
const MERCHANTS: Merchant[] = [
  { id: 1, name: 'Keap Payments', type: 'KEAP_PAY', isTest: false }, { id: 2, name: 'Stripe', type: 'STRIPE', isTest: false },
  { id: 3, name: 'PayPal', type: 'PAYPAL', isTest: false }, { id: 4, name: 'Authorize.Net sandbox', type: 'AUTHORIZE', isTest: true },
];
const SHIPPING: ShippingMethod[] = [
  { id: 1, name: 'Standard ground', description: 'Ships in 5–7 business days', type: 'FLAT_RATE', status: 'ACTIVE', international: false, settings: { rate: 7.95 } },
  { id: 2, name: 'Express', description: 'Ships in 2 business days', type: 'FLAT_RATE', status: 'ACTIVE', international: false, settings: { rate: 19.95 } },
  { id: 3, name: 'By weight', description: 'Priced by order weight', type: 'WEIGHT_BASED', status: 'ACTIVE', international: true, settings: { per_pound: 1.5, minimum: 5 } },
  { id: 4, name: 'Local pickup', description: 'Collect from the studio', type: 'FREE', status: 'INACTIVE', international: false, settings: {} },
];
const PRODUCT_CATEGORIES = ['Courses', 'Coaching', 'Books', 'Merchandise', 'Workshops', 'Memberships', 'Online courses', 'Printed books'];
const TEMPLATE_TITLES = ['Welcome', 'Thank you for your order', 'Appointment reminder', 'Invoice due', 'Birthday greeting', 'We miss you', 'Webinar invitation', 'Survey request', 'Referral thanks', 'Renewal notice', 'Password help', 'Monthly newsletter'];
const GOAL_TYPES = ['WebForm', 'LandingPage', 'LinkClick', 'EmailOpened', 'Purchase', 'Tag', 'AppointmentEvent', 'StageMove'];
const NOTE_TEMPLATES: [string, string][] = [['Discovery call', 'Call'], ['Follow-up email', 'Email'], ['Site visit', 'Appointment'], ['Quote sent', 'Other'], ['Renewal check-in', 'Call'], ['Letter mailed', 'Letter']];
const HOOK_EVENTS = ['contact.add', 'contact.edit', 'order.add', 'invoice.payment.add'];
/** GET /v1/hooks/event_keys: every event a hook may subscribe to (HOOK_EVENTS are among them). */
export const HOOK_EVENT_KEYS = [
  'appointment.add', 'appointment.delete', 'appointment.edit', 'company.add', 'company.delete', 'company.edit', 'contact.add', 'contact.delete',
  'contact.edit', 'contact.redact', 'contactGroup.add', 'contactGroup.applied', 'contactGroup.delete', 'contactGroup.edit', 'contactGroup.removed',
  'invoice.add', 'invoice.delete', 'invoice.edit', 'invoice.payment.add', 'invoice.payment.delete', 'invoice.payment.edit', 'leadsource.add',
  'leadsource.delete', 'leadsource.edit', 'opportunity.add', 'opportunity.delete', 'opportunity.edit', 'opportunity.stage_move', 'order.add',
  'order.delete', 'order.edit', 'product.add', 'product.delete', 'product.edit', 'subscription.add', 'subscription.delete', 'subscription.edit',
  'task.add', 'task.delete', 'task.edit',
];
/** The contact dropdowns' options: the same lists application_configuration's contact section holds. */
export const CONTACT_OPTIONS = {
  contact_types: ['Lead', 'Customer', 'Other'], fax_types: ['Work', 'Home'], phone_types: ['Work', 'Home', 'Mobile', 'Other'],
  suffix_types: ['Jr', 'Sr', 'III'], title_types: ['Mr.', 'Mrs.', 'Ms.', 'Dr.'],
};
export const USER_GROUPS = ['Administrators', 'Sales', 'Marketing', 'Support', 'Fulfillment'];
export const WORDPRESS_OPT_INS: [string, string][] = [['newsletter', 'Monthly newsletter'], ['free-guide', 'Free guide download'], ['webinar', 'Webinar registration']];
/** Custom-field tabs: one per record type (ids 1…7 in this order). */
export const TAB_RECORD_TYPES: CustomRecordType[] = ['CONTACT', 'COMPANY', 'OPPORTUNITY', 'ORDER', 'SUBSCRIPTION', 'TASK_NOTE_APPOINTMENT', 'REFERRAL_PARTNER'];
/** Fields of saved reports (by report id): what a run of the report can return. */
export const REPORT_FIELDS: [string, string][][] = [
  [['Month', 'Month'], ['OrderCount', 'Orders'], ['Total', 'Total sales']],
  [['LeadSource', 'Lead source'], ['Contacts', 'Contacts'], ['Customers', 'Customers'], ['Revenue', 'Revenue']],
  [['InvoiceId', 'Invoice'], ['ContactId', 'Contact id'], ['FirstName', 'First name'], ['LastName', 'Last name'], ['TotalDue', 'Total due'], ['DateCreated', 'Date created']],
  [['TagName', 'Tag'], ['Applied', 'Applied'], ['Removed', 'Removed']],
  [['Subject', 'Subject'], ['Sent', 'Sent'], ['Opened', 'Opened'], ['Clicked', 'Clicked']],
];
export interface ProgramResource { id: number; title: string; type: 'EMAIL' | 'BANNER' | 'PAGE'; notes: string | null; url: string | null; order: number; html: string | null; width: number | null; height: number | null; programIds: number[] }
const CARD_BRANDS = ['Visa', 'Visa', 'MasterCard', 'American Express', 'Discover'];
export const COUNTRIES: Country[] = [
  { alpha2: 'US', alpha3: 'USA', name: 'United States', provinces: [] },
  { alpha2: 'CA', alpha3: 'CAN', name: 'Canada', provinces: [['CA-AB', 'Alberta'], ['CA-BC', 'British Columbia'], ['CA-MB', 'Manitoba'], ['CA-ON', 'Ontario'], ['CA-QC', 'Quebec']] },
  { alpha2: 'MX', alpha3: 'MEX', name: 'Mexico', provinces: [['MX-JAL', 'Jalisco'], ['MX-NLE', 'Nuevo León'], ['MX-SON', 'Sonora']] },
  { alpha2: 'GB', alpha3: 'GBR', name: 'United Kingdom', provinces: [['GB-ENG', 'England'], ['GB-SCT', 'Scotland'], ['GB-WLS', 'Wales'], ['GB-NIR', 'Northern Ireland']] },
  { alpha2: 'IE', alpha3: 'IRL', name: 'Ireland', provinces: [] },
  { alpha2: 'AU', alpha3: 'AUS', name: 'Australia', provinces: [['AU-NSW', 'New South Wales'], ['AU-QLD', 'Queensland'], ['AU-VIC', 'Victoria']] },
  { alpha2: 'NZ', alpha3: 'NZL', name: 'New Zealand', provinces: [] },
  { alpha2: 'DE', alpha3: 'DEU', name: 'Germany', provinces: [['DE-BY', 'Bayern'], ['DE-BE', 'Berlin']] },
  { alpha2: 'FR', alpha3: 'FRA', name: 'France', provinces: [] },
  { alpha2: 'ES', alpha3: 'ESP', name: 'Spain', provinces: [] },
];
// the United States' regions are those the contacts' addresses use, so every contact's region is listed
COUNTRIES[0]!.provinces = [...new Map(W.CITIES.map(([, region, code]) => [code, region])).entries()].sort();

/** The added resources of one sandbox: built on demand from its store's seed and sizes. */
export class CoverageData {
  readonly linkTypes: Collection<ContactLinkType>;
  readonly merchants: Collection<Merchant>;
  readonly shippingMethods: Collection<ShippingMethod>;
  readonly productCategories: Collection<ProductCategory>;
  readonly emailTemplates: Collection<EmailTemplate>;
  readonly programs: Collection<CommissionProgram>;
  readonly redirects: Sparse<Redirect>;
  readonly recurringExpenses: Sparse<RecurringExpense>;
  readonly expenses: Sparse<LeadSourceExpense>;
  readonly hooks: RestHook[];
  readonly noteTemplates: Collection<NoteTemplate>;
  readonly webforms: Collection<Webform>;
  readonly reports: Collection<SavedReport>;
  readonly bundles: Collection<InterestBundle>;
  readonly paymentMethods: Sparse<PaymentMethodRec>;
  readonly referrals: Sparse<Referral>;

  constructor(private readonly s: SandboxStore) {
    const seed = s.seed;
    this.linkTypes = new Collection('contact link type', LINK_TYPES.length, (id) => ({ id, name: LINK_TYPES[id - 1]![0], maxLinks: LINK_TYPES[id - 1]![1], createdAt: when(new Rng(seed, K.linkType, id)) }));
    this.merchants = new Collection('merchant', MERCHANTS.length, (id) => MERCHANTS[id - 1]!);
    this.shippingMethods = new Collection('shipping method', SHIPPING.length, (id) => SHIPPING[id - 1]!);
    // the last two are subcategories of the first and third
    this.productCategories = new Collection('product category', PRODUCT_CATEGORIES.length, (id) => ({ id, name: PRODUCT_CATEGORIES[id - 1]!, displayOrder: id, parentId: id === 7 ? 1 : id === 8 ? 3 : null }));
    this.emailTemplates = new Collection('email template', TEMPLATE_TITLES.length, (id) => {
      const r = new Rng(seed, K.emailTemplate, id);
      const title = TEMPLATE_TITLES[id - 1]!;
      return {
        id, title, categories: r.chance(0.5) ? ['Marketing'] : ['Transactional', ...(r.chance(0.3) ? ['Sales'] : [])],
        fromAddress: '~Owner.Email~', toAddress: '~Contact.Email~', cc: r.chance(0.2) ? 'office@sandbox-business.example' : null, bcc: null,
        subject: `${title}, ~Contact.FirstName~`, contentType: r.pick(['HTML', 'MULTIPART', 'TEXT'] as const), mergeContext: r.pick(['CONTACT', 'ORDER', 'OPPORTUNITY']),
      };
    });
    const affiliates = s.sizes.affiliates;
    const programCount = 4;
    this.programs = new Collection('commission program', programCount, (id) => {
      const r = new Rng(seed, K.program, id);
      const members: number[] = [];
      for (let a = 1; a <= affiliates; a++) if (hash32(seed, K.program, a * 8 + id) % programCount === 0 || (a - 1) % programCount === id - 1) members.push(a);
      return { id, name: `${['Standard', 'Partner', 'Influencer', 'Reseller'][id - 1]} program`, priority: id, notes: r.chance(0.5) ? 'Reviewed yearly' : null, createdAt: when(r), affiliateIds: members };
    });
    // two redirect links per affiliate at most: ids affiliate*2-1 and affiliate*2, some missing
    const redirectOf = (id: number): Redirect | undefined => {
      const affiliateId = Math.ceil(id / 2);
      const r = new Rng(seed, K.redirect, id);
      if (id % 2 === 0 && !r.chance(0.5)) return undefined;
      const a = s.affiliates.get(affiliateId);
      if (!a) return undefined;
      const slug = r.pick(['spring-sale', 'free-guide', 'webinar', 'coaching', 'course']);
      return {
        id, name: `${a.name}: ${slug}`, code: `${a.code}-${id}`, affiliateId, localUrlCode: `${slug}-${id}`, redirectUrl: `https://sandbox-business.example/${slug}`,
        websiteAddress: `https://sandbox-business.example/go/${a.code}/${slug}`, programIds: [1 + ((affiliateId - 1) % programCount)], createdAt: Math.max(a.createdAt, when(r)),
      };
    };
    this.redirects = sparse('affiliate redirect', affiliates * 2, redirectOf);
    // lead sources: up to two recurring expenses each (ids source*2-1, source*2), and up to eight expenses
    // (ids source*8-7 … source*8), some incurred by a recurring expense
    const leadSources = s.sizes.leadSources;
    this.recurringExpenses = sparse('lead source recurring expense', leadSources * 2, (id) => {
      const r = new Rng(seed, K.recurring, id);
      if (id % 2 === 0 && !r.chance(0.5)) return undefined;
      const startAt = when(r, DATA_START, DATA_END - 365 * DAY);
      const endAt = r.chance(0.4) ? startAt + r.range(90, 365) * DAY : null;
      const createdAt = startAt - r.range(1, 20) * DAY;
      return { id, leadSourceId: Math.ceil(id / 2), title: r.pick(['Monthly ad budget', 'Directory listing', 'Sponsorship', 'Agency retainer']), notes: r.chance(0.3) ? 'Paid by card' : null, amountCents: r.range(50, 2000) * 100, startAt, endAt, nextAt: endAt === null ? DATA_END + r.range(1, 30) * DAY : null, createdAt, updatedAt: createdAt + r.range(0, 60) * DAY };
    });
    this.expenses = sparse('lead source expense', leadSources * 8, (id) => {
      const r = new Rng(seed, K.expense, id);
      if (!r.chance(0.6)) return undefined;
      const leadSourceId = Math.ceil(id / 8);
      const recurring = this.recurringExpenses.get(leadSourceId * 2 - (r.chance(0.5) ? 1 : 0));
      const incurredAt = when(r);
      return { id, leadSourceId, recurringId: recurring && r.chance(0.5) ? recurring.id : null, title: r.pick(['Print ad', 'Booth fee', 'Mailer', 'Promoted post', 'Radio spot']), notes: r.chance(0.2) ? 'Invoice attached' : null, amountCents: r.range(20, 1500) * 100, incurredAt, createdAt: incurredAt, updatedAt: incurredAt + r.range(0, 10) * DAY };
    });
    const users = s.sizes.users;
    this.noteTemplates = new Collection('note template', NOTE_TEMPLATES.length, (id) => {
      const r = new Rng(seed, K.noteTemplate, id);
      const [title, actionType] = NOTE_TEMPLATES[id - 1]!;
      return { id, title, description: `Template for ${title.toLowerCase()} notes`, actionType, userId: r.chance(0.6) ? r.range(1, users) : null, notify: r.chance(0.4) ? [r.range(1, users)] : [] };
    });
    this.webforms = new Collection('webform', 8, (id) => {
      const r = new Rng(seed, K.webform, id);
      const createdAt = when(r); const name = `${r.pick(['Newsletter', 'Free guide', 'Contact us', 'Webinar', 'Consultation'])} form ${id}`;
      return { id, name, type: r.pick(['LEGACY', 'STANDALONE', 'FUNNEL', 'LANDING_PAGE', 'SURVEY'] as const), slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-'), duplicateCheck: r.pick(['EMAIL', 'EMAIL_AND_NAME', 'NO_CHECK'] as const), exitOption: r.pick(['REDIRECT', 'MESSAGE', 'HOSTED'] as const), createdAt, updatedAt: Math.min(DATA_END, createdAt + r.range(0, 200) * DAY) };
    });
    this.reports = new Collection('report', 5, (id) => {
      const r = new Rng(seed, K.report, id);
      const createdAt = when(r);
      return { id, name: ['Sales by month', 'Lead sources', 'Open invoices', 'Tag growth', 'Email engagement'][id - 1]!, userIds: [1, ...(r.chance(0.5) ? [r.range(2, Math.max(2, users))] : [])], createdAt, updatedAt: Math.min(DATA_END, createdAt + r.range(0, 90) * DAY) };
    });
    this.bundles = new Collection('product interest bundle', 3, (id) => {
      const r = new Rng(seed, K.bundle, id);
      const products = Array.from({ length: 1 + r.int(3) }, () => { const p = s.products.get(r.range(1, s.sizes.products))!; return { productId: p.id, quantity: r.range(1, 3), priceCents: p.priceCents, discount: r.pick([0, 0, 10, 15]) }; });
      return { id, name: ['Starter bundle', 'Growth bundle', 'VIP bundle'][id - 1]!, description: 'Products offered together on quotes and forms', products };
    });
    // about one contact in three has a saved card, one in ten of those a second (ids contact*2-1, contact*2)
    this.paymentMethods = sparse('payment method', s.sizes.contacts * 2, (id) => {
      const contactId = Math.ceil(id / 2);
      if (!s.contacts.has(contactId) || hash32(seed, K.card, contactId * 2 - 1) % 3 !== 0) return undefined;
      const r = new Rng(seed, K.card, id);
      if (id % 2 === 0 && !r.chance(0.3)) return undefined;
      const expYear = r.range(2023, 2031); const expMonth = r.range(1, 12);
      const end = new Date(DATA_END);
      const expired = expYear < end.getUTCFullYear() || (expYear === end.getUTCFullYear() && expMonth <= end.getUTCMonth());
      return {
        id, contactId, creditCardId: 100_000 + id, merchantId: r.pick([1, 1, 2, 4]), brand: r.pick(CARD_BRANDS), cardType: r.chance(0.7) ? 'CREDIT' : r.chance(0.8) ? 'DEBIT' : 'PREPAID',
        lastFour: r.digits(4), expMonth, expYear, expired, fingerprint: hash32(seed, K.card, id * 7).toString(16).padStart(8, '0') + hash32(seed, K.card, id * 7 + 1).toString(16).padStart(8, '0'),
        validation: expired ? 'Bad' : r.chance(0.9) ? 'Good' : 'Unknown', createdAt: when(r, s.contactCreatedAt(contactId)),
      };
    });
    // about one contact in eight was referred by an affiliate (id = the contact's id)
    this.referrals = sparse('referral', s.sizes.contacts, (id) => {
      const h = hash32(seed, K.referral, id);
      const c = s.contacts.get(id);
      if (h % 8 !== 0 || !c || affiliates === 0) return undefined;
      const a = s.affiliates.get(1 + ((h >>> 3) % affiliates));
      if (!a) return undefined;
      const r = new Rng(seed, K.referral, id);
      const type = r.chance(0.6) ? 'COOKIE' : r.chance(0.6) ? 'MANUAL' : 'PERMANENT';
      const referredAt = Math.max(c.createdAt, a.createdAt);
      return {
        id, contactId: id, affiliateId: a.id, type, referredAt, expiresAt: type === 'COOKIE' ? referredAt + a.trackLeadsDays * DAY : null,
        source: type === 'COOKIE' ? `Affiliate link ${a.code}` : type === 'MANUAL' ? 'Added by a user' : 'Affiliate assignment',
        description: type === 'COOKIE' ? 'Visited through a tracking link' : type === 'MANUAL' ? 'Referral recorded by hand' : 'Contact assigned to the affiliate for good',
        ip: type === 'COOKIE' ? `198.51.100.${r.range(1, 254)}` : null,
      } satisfies Referral;
    });
    this.hooks = HOOK_EVENTS.slice(0, 3).map((eventKey, i) => ({ key: String(101 + i), eventKey, hookUrl: `https://hooks.example.com/keap/${eventKey}`, status: i === 2 ? 'Unverified' : 'Verified' }));
  }

  /** Contacts linked to this one: contacts 2k-1 and 2k are linked for about one pair in eight. */
  contactLinks(contactId: number): ContactLink[] {
    const first = contactId % 2 === 1 ? contactId : contactId - 1;
    if (first + 1 > this.s.sizes.contacts || !this.s.contacts.has(first) || !this.s.contacts.has(first + 1)) return [];
    const h = hash32(this.s.seed, K.contactLink, first);
    if (h % 8 !== 0) return [];
    return [{ contact1Id: first, contact2Id: first + 1, linkTypeId: 1 + ((h >>> 3) % LINK_TYPES.length) }];
  }

  /**
   * Commissions on each payment of an order with a sales affiliate (10%). A refunded payment's commission is
   * clawed back, and so is about one in four others (chargebacks, cancelled services).
   */
  commissions(affiliateId?: number): Commission[] {
    const out: Commission[] = [];
    for (const p of this.s.scanPayments()) {
      const o = this.s.orders.get(p.orderId);
      if (!o || o.salesAffiliateId === null || (affiliateId !== undefined && o.salesAffiliateId !== affiliateId)) continue;
      const clawedBack = p.payStatus === 'REFUNDED' || hash32(this.s.seed, K.clawback, p.id) % 4 === 0;
      out.push({ id: p.id, affiliateId: o.salesAffiliateId, order: o, payment: p, amountCents: Math.round(p.amountCents / 10), clawedBack });
    }
    return out;
  }

  /** Payouts to an affiliate: up to three (ids affiliate*4-3 … affiliate*4-1). */
  payouts(affiliateId: number): AffiliatePayout[] {
    const a = this.s.affiliates.get(affiliateId);
    if (!a) return [];
    const out: AffiliatePayout[] = [];
    const n = hash32(this.s.seed, K.payout, affiliateId) % 4;
    for (let k = 0; k < n; k++) {
      const id = affiliateId * 4 - 3 + k;
      const r = new Rng(this.s.seed, K.payout, id);
      const payDate = when(r, a.createdAt);
      out.push({ id, affiliateId, payDate, notes: r.chance(0.3) ? 'Quarterly payout' : null, amountCents: r.range(20, 800) * 100, type: r.pick(['CHECK', 'CASH', 'CREDIT_CARD', 'ADJUSTMENT'] as const), createdAt: payDate });
    }
    return out;
  }

  /** Goals and sequences of a campaign: ids campaign*10+k. */
  goals(campaignId: number): CampaignGoal[] {
    const n = 2 + (hash32(this.s.seed, K.goal, campaignId) % 3);
    const seqs = this.sequences(campaignId).map((x) => x.id);
    return Array.from({ length: n }, (_, k) => {
      const r = new Rng(this.s.seed, K.goal, campaignId * 10 + k);
      const last30d = r.int(400);
      return { id: campaignId * 10 + k, campaignId, name: `${r.pick(['Signed up', 'Bought', 'Clicked', 'Booked', 'Tagged'])} (${k + 1})`, type: r.pick(GOAL_TYPES), last24h: Math.floor(last30d / 30), last30d, next: seqs.slice(k, k + 1), previous: k > 0 ? seqs.slice(k - 1, k) : [] };
    });
  }
  sequences(campaignId: number): CampaignSequence[] {
    const n = 1 + (hash32(this.s.seed, K.sequence, campaignId) % 3);
    return Array.from({ length: n }, (_, k) => {
      const r = new Rng(this.s.seed, K.sequence, campaignId * 10 + k);
      const last30d = r.int(300);
      return { id: campaignId * 10 + k, campaignId, name: r.pick(['Welcome series', 'Follow-up', 'Reminder', 'Offer', 'Thank you']), active: r.int(200), completed: r.int(500), last24h: Math.floor(last30d / 30), last30d };
    });
  }

  /**
   * Custom-field values of a subscription, task, note or affiliate (records that carry none of their own):
   * a pure function of (seed, record type, kind, id); `kind` keeps tasks' and notes' values apart.
   */
  customValues(type: CustomRecordType, kind: 'subscription' | 'task' | 'note' | 'affiliate', id: number): Record<number, CustomValue> {
    const r = new Rng(this.s.seed, K.custom + ['subscription', 'task', 'note', 'affiliate'].indexOf(kind), id);
    const out: Record<number, CustomValue> = {};
    for (const f of this.s.customFields(type)) out[f.id] = customValue(r, f, this.s.sizes.users);
    return out;
  }

  /** The discounts of one kind: two to four each. */
  discounts(kind: DiscountKind): Discount[] {
    const k = DISCOUNT_KINDS.indexOf(kind) + 1;
    const n = 2 + (hash32(this.s.seed, K.discount, k) % 3);
    const plans = [...this.s.products.scan()].flatMap((p) => p.plans.map((x) => x.id));
    return Array.from({ length: n }, (_, i) => {
      const id = k * 100 + i + 1;
      const r = new Rng(this.s.seed, K.discount, id);
      const type = kind === 'productCategories' ? 'PERCENT' : r.pick(['AMOUNT', 'PERCENT'] as const);
      const startAt = when(r, DATA_START, DATA_END - 60 * DAY);
      return {
        id, kind, name: `${r.pick(['Spring', 'Summer', 'Loyalty', 'Welcome', 'Holiday'])} ${kind === 'freeTrials' ? 'trial' : 'discount'} ${i + 1}`,
        description: r.pick(['For returning customers', 'Launch promotion', 'Partner offer']), promoCode: r.chance(0.6) ? `SAVE${r.range(5, 30)}` : null,
        startAt, endAt: startAt + r.range(7, 60) * DAY, type, value: type === 'PERCENT' ? r.range(5, 30) : r.range(5, 50),
        applyToCommissions: r.chance(0.5), strategy: r.pick(['GROSS', 'NET'] as const),
        productId: kind === 'products' ? r.range(1, this.s.sizes.products) : null,
        categoryIds: kind === 'productCategories' ? [r.range(1, 6)] : [], planId: kind === 'freeTrials' && plans.length > 0 ? r.pick(plans) : null,
        trialDays: kind === 'freeTrials' ? r.pick([7, 14, 30]) : 0, hidePrice: r.chance(0.3),
      };
    });
  }

  /** Tags applied to a company: up to three, drawn from the tags (ascending tag id). */
  companyTags(companyId: number): CompanyTag[] {
    const c = this.s.companies.get(companyId);
    if (!c) return [];
    const r = new Rng(this.s.seed, K.companyTag, companyId);
    const tags = this.s.sizes.tags;
    const ids = new Set<number>();
    for (let k = r.int(4); k > 0; k--) ids.add(r.range(1, tags));
    return [...ids].filter((id) => this.s.tags.has(id)).sort((a, b) => a - b).map((tagId) => ({ tagId, appliedAt: when(r, c.createdAt) }));
  }

  /** A contact's lead score and when it last changed (none: the contact has no score). */
  leadScore(contactId: number): { score: string; updatedAt: number } | undefined {
    const c = this.s.contacts.get(contactId);
    if (!c || c.scoreValue === null) return undefined;
    const r = new Rng(this.s.seed, K.referral, -contactId);
    return { score: c.scoreValue, updatedAt: Math.min(c.updatedAt, c.createdAt + r.int(60) * DAY) };
  }

  /**
   * An opportunity's moves through the pipeline (ids opportunity*10 + k): stage by stage from the first to its
   * stage now, or to Closed Lost (the last stage) from an earlier one; spread between creation and last update.
   */
  stageMoves(opportunityId: number): StageMove[] {
    const o = this.s.opportunities.get(opportunityId);
    if (!o) return [];
    const stages = this.s.sizes.stages;
    const r = new Rng(this.s.seed, K.stageMove, opportunityId);
    const path: number[] = [];
    const lastBeforeLost = o.stageId === stages ? 1 + r.int(stages - 2) : o.stageId;
    for (let k = 1; k <= lastBeforeLost; k++) path.push(k);
    if (o.stageId === stages) path.push(stages);
    const n = path.length - 1;
    const span = Math.max(0, o.updatedAt - o.createdAt);
    const out: StageMove[] = [];
    for (let k = 0; k < n; k++) {
      const movedAt = o.createdAt + Math.floor((span * (k + 1)) / (n + 1) / 1000) * 1000;
      out.push({ id: opportunityId * 10 + k + 1, opportunityId, from: path[k]!, to: path[k + 1]!, movedAt, prevMovedAt: k === 0 ? null : out[k - 1]!.movedAt, userId: o.userId, createdBy: r.chance(0.2) ? 1 : o.userId });
    }
    return out;
  }

  /** Products of a product category: products cycle through the first six categories (as /productCategories filters them). */
  categoryProducts(categoryId: number): number[] {
    if (categoryId < 1 || categoryId > 6) return [];
    return [...this.s.products.scanIds(0)].filter((p) => 1 + ((p - 1) % 6) === categoryId);
  }

  /** Promotional resources of the commission programs: each serves one or two programs. */
  programResources(): ProgramResource[] {
    const programs = this.programs.size;
    const rows: [string, ProgramResource['type']][] = [['Welcome email', 'EMAIL'], ['Sidebar banner', 'BANNER'], ['Landing page', 'PAGE'], ['Launch email', 'EMAIL'], ['Leaderboard banner', 'BANNER']];
    return rows.map(([title, type], i) => {
      const id = i + 1;
      const r = new Rng(this.s.seed, K.programResource, id);
      const first = 1 + (i % programs);
      const programIds = r.chance(0.4) ? [...new Set([first, 1 + ((i + 1) % programs)])].sort((a, b) => a - b) : [first];
      return {
        id, title, type, notes: r.chance(0.5) ? 'Approved by marketing' : null, order: i, programIds,
        url: type === 'EMAIL' ? null : `https://sandbox-business.example/partners/${title.toLowerCase().replace(/ /g, '-')}`,
        html: type === 'BANNER' ? null : `<h1>${title}</h1><p>Share ~Affiliate.Link~ with your audience.</p>`,
        width: type === 'PAGE' ? 960 : type === 'BANNER' ? r.pick([300, 728]) : null, height: type === 'PAGE' ? 1200 : type === 'BANNER' ? r.pick([90, 250]) : null,
      };
    });
  }

  /** A user's email signature (HTML). */
  signature(userId: number): string | undefined {
    const u = this.s.users.get(userId);
    return u && `<p>${u.givenName} ${u.familyName}<br>Sandbox Business<br><a href="mailto:${u.email}">${u.email}</a></p>`;
  }
}

/** Generated ids 1..n where the generator may skip an id (that record does not exist); read-only. */
export class Sparse<T extends { id: number }> {
  private readonly cache = new Map<number, T | undefined>();
  constructor(readonly name: string, private readonly n: number, private readonly make: (id: number) => T | undefined) {}
  get(id: number): T | undefined {
    if (!Number.isInteger(id) || id < 1 || id > this.n) return undefined;
    if (!this.cache.has(id)) this.cache.set(id, this.make(id));
    return this.cache.get(id);
  }
  has(id: number): boolean { return this.get(id) !== undefined; }
  *scan(after = 0): Generator<T> { for (let id = Math.max(1, Math.floor(after) + 1); id <= this.n; id++) { const r = this.get(id); if (r) yield r; } }
  *scanIds(after = 0): Generator<number> { for (const r of this.scan(after)) yield r.id; }
  get size(): number { let k = 0; for (const _ of this.scan()) k++; return k; }
}
function sparse<T extends { id: number }>(name: string, n: number, make: (id: number) => T | undefined): Sparse<T> { return new Sparse(name, n, make); }

const byStore = new WeakMap<SandboxStore, CoverageData>();
export function coverageData(s: SandboxStore): CoverageData {
  let d = byStore.get(s);
  if (!d) byStore.set(s, (d = new CoverageData(s)));
  return d;
}

// The data a sandbox serves: generated records (ids 1..n, built on demand) plus an overlay of writes. Memory grows
// with writes, not with the data-set size.
import { DataGenerator } from './generate.js';
import { sizesFor, type DataSizes } from './sizes.js';
import { FragmentCache } from './fragment-cache.js';
import type {
  Contact, Company, Tag, TagCategory, Product, Order, Payment, Subscription, Stage, Opportunity, Task, Note, Campaign,
  SentEmail, User, Appointment, FileMeta, Affiliate, TagApplication, CustomFieldDef, CustomRecordType, CustomValue, LeadSource, LeadSourceCategory,
} from './model.js';

/** One kind of record: generated ones by index, with writes layered on top. Ids ascend in scan order. */
export class Collection<T extends { id: number }> {
  private readonly overlay = new Map<number, T | null>();
  private readonly created: number[] = [];
  private deletedBase = 0;
  private nextId: number;

  constructor(readonly name: string, private readonly baseCount: number, private readonly generate: (id: number) => T,
    /** small cache of generated records: list pages and their neighbours are asked for repeatedly */
    private readonly cacheSize = 0,
    /** told about every write, so caches of serialised records can drop them */
    private readonly onChange?: (id: number) => void) {
    this.nextId = baseCount + 1;
  }
  private cache = new Map<number, T>();

  get(id: number): T | undefined {
    if (!Number.isInteger(id) || id < 1) return undefined;
    const o = this.overlay.get(id);
    if (o !== undefined) return o ?? undefined;
    if (id > this.baseCount) return undefined;
    if (this.cacheSize === 0) return this.generate(id);
    let rec = this.cache.get(id);
    if (rec === undefined) {
      rec = this.generate(id);
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(id, rec);
    }
    return rec;
  }
  has(id: number): boolean { return this.get(id) !== undefined; }
  get size(): number { return this.baseCount - this.deletedBase + this.created.length; }
  /** ids below this are generated (unless deleted), so callers can test cheaply without building the record */
  get generatedCount(): number { return this.baseCount; }
  isOverlaid(id: number): boolean { return this.overlay.has(id); }

  /** Records in ascending id order, starting after `afterId`. */
  *scan(afterId = 0): Generator<T> {
    for (let id = Math.max(1, Math.floor(afterId) + 1); id <= this.baseCount; id++) {
      const rec = this.get(id);
      if (rec) yield rec;
    }
    for (const id of this.created) if (id > afterId) { const rec = this.overlay.get(id); if (rec) yield rec; }
  }
  /** Ids only, for scans that can decide without the record (cheap columns). */
  *scanIds(afterId = 0): Generator<number> {
    for (let id = Math.max(1, Math.floor(afterId) + 1); id <= this.baseCount; id++) {
      if (this.overlay.get(id) === null) continue;
      yield id;
    }
    for (const id of this.created) if (id > afterId && this.overlay.get(id)) yield id;
  }

  insert(make: (id: number) => T): T {
    const id = this.nextId++;
    const rec = make(id);
    this.overlay.set(id, rec); this.created.push(id);
    return rec;
  }
  put(rec: T): void {
    if (!this.has(rec.id)) throw new Error(`${this.name} ${rec.id} does not exist`);
    this.overlay.set(rec.id, rec); this.cache.delete(rec.id);
    this.onChange?.(rec.id);
  }
  delete(id: number): boolean {
    if (!this.has(id)) return false;
    if (id <= this.baseCount) this.deletedBase++;
    else this.created.splice(this.created.indexOf(id), 1);
    this.overlay.set(id, null);
    this.cache.delete(id);
    this.onChange?.(id);
    return true;
  }
  /** the id of the k-th record (0-based) in id order */
  nthId(k: number): number | undefined {
    if (this.deletedBase === 0) return k < this.baseCount ? k + 1 : this.created[k - this.baseCount];
    let i = 0;
    for (const id of this.scanIds(0)) { if (i === k) return id; i++; }
    return undefined;
  }
  /** Number of records changed by writes: what the overlay costs. */
  get overlaySize(): number { return this.overlay.size; }
}

export interface SandboxStore {
  readonly seed: number;
  readonly sizes: DataSizes;
  readonly generator: DataGenerator;
  readonly contacts: Collection<Contact>;
  /** serialised v2 contacts, invalidated by writes to the contact or its tags */
  readonly contactJson: FragmentCache;
  readonly companies: Collection<Company>;
  readonly users: Collection<User>;
  readonly tagCategories: Collection<TagCategory>;
  readonly tags: Collection<Tag>;
  readonly products: Collection<Product>;
  readonly orders: Collection<Order>;
  readonly subscriptions: Collection<Subscription>;
  readonly stages: Collection<Stage>;
  readonly opportunities: Collection<Opportunity>;
  readonly tasks: Collection<Task>;
  readonly notes: Collection<Note>;
  readonly campaigns: Collection<Campaign>;
  readonly emails: Collection<SentEmail>;
  readonly appointments: Collection<Appointment>;
  readonly files: Collection<FileMeta>;
  readonly affiliates: Collection<Affiliate>;
  readonly leadSources: Collection<LeadSource>;
  readonly leadSourceCategories: Collection<LeadSourceCategory>;
  customFields(recordType: CustomRecordType): CustomFieldDef[];
  /** tags applied to a contact (generated or changed by writes), ascending tag id */
  contactTags(contactId: number): TagApplication[];
  setContactTags(contactId: number, tags: TagApplication[]): void;
  /** payments of an order, ascending id (id = orderId*4 + k) */
  orderPayments(orderId: number): Payment[];
  /** every payment, ascending id, starting after `afterId` */
  scanPayments(afterId?: number): Generator<Payment>;
  contactUpdatedAt(id: number): number;
  /** a searchable contact field read from a column built once (on first use) instead of from the record */
  contactColumn(name: ContactColumn): (id: number) => string | string[] | null;
  /** a company's name, without building the company record */
  companyName(id: number): string | undefined;
  /** a contact's custom-field values by field id */
  contactCustomFields(c: Contact): Record<number, CustomValue>;
  contactCreatedAt(id: number): number;
}

export type ContactColumn = 'given_name' | 'family_name' | 'middle_name' | 'emails';

/** Default byte budget of the serialised-contact cache: a million contacts' default fields fit. */
export const DEFAULT_JSON_CACHE_BYTES = 1_000_000_000;

export function createStore(seed: number, contacts: number, jsonCacheBytes = DEFAULT_JSON_CACHE_BYTES): SandboxStore {
  const sizes = sizesFor(contacts);
  const g = new DataGenerator(seed, sizes);
  const tagOverlay = new Map<number, TagApplication[]>();
  const contactJson = new FragmentCache(sizes.contacts, jsonCacheBytes);
  const contactsC = new Collection<Contact>('contact', sizes.contacts, (id) => g.contact(id), 4096, (id) => contactJson.invalidate(id));
  const orders = new Collection<Order>('order', sizes.orders, (id) => g.order(id), 2048);
  // searchable columns of the generated contacts, built together on first use (one generation pass)
  let columns: { given: string[]; family: string[]; middle: (string | null)[]; emails: string[][] } | undefined;
  const buildColumns = (): NonNullable<typeof columns> => {
    const n = sizes.contacts;
    const c = { given: new Array<string>(n + 1), family: new Array<string>(n + 1), middle: new Array<string | null>(n + 1), emails: new Array<string[]>(n + 1) };
    for (let id = 1; id <= n; id++) {
      const r = g.contact(id);
      c.given[id] = r.givenName; c.family[id] = r.familyName; c.middle[id] = r.middleName; c.emails[id] = r.emails.map((e) => e.email);
    }
    return c;
  };
  const fromRecord = (name: ContactColumn, r: Contact | undefined): string | string[] | null => {
    if (!r) return null;
    switch (name) {
      case 'given_name': return r.givenName;
      case 'family_name': return r.familyName;
      case 'middle_name': return r.middleName;
      case 'emails': return r.emails.map((e) => e.email);
    }
  };

  const store: SandboxStore = {
    seed, sizes, generator: g,
    contacts: contactsC, contactJson,
    companies: new Collection('company', sizes.companies, (id) => g.company(id), 1024),
    users: new Collection('user', sizes.users, (id) => g.user(id), 200),
    tagCategories: new Collection('tag category', sizes.tagCategories, (id) => g.tagCategory(id), 100),
    tags: new Collection('tag', sizes.tags, (id) => g.tag(id), 1000),
    products: new Collection('product', sizes.products, (id) => g.product(id), 1000),
    orders,
    subscriptions: new Collection('subscription', sizes.subscriptions, (id) => g.subscription(id)),
    stages: new Collection('stage', sizes.stages, (id) => g.stage(id), 100),
    opportunities: new Collection('opportunity', sizes.opportunities, (id) => g.opportunity(id)),
    tasks: new Collection('task', sizes.tasks, (id) => g.task(id)),
    notes: new Collection('note', sizes.notes, (id) => g.note(id)),
    campaigns: new Collection('campaign', sizes.campaigns, (id) => g.campaign(id), 100),
    emails: new Collection('email', sizes.emails, (id) => g.email(id)),
    appointments: new Collection('appointment', sizes.appointments, (id) => g.appointment(id)),
    files: new Collection('file', sizes.files, (id) => g.file(id)),
    affiliates: new Collection('affiliate', sizes.affiliates, (id) => g.affiliate(id), 1000),
    leadSources: new Collection('lead source', sizes.leadSources, (id) => g.leadSource(id), 100),
    leadSourceCategories: new Collection('lead source category', sizes.leadSourceCategories, (id) => g.leadSourceCategory(id), 100),
    customFields: (t) => g.fieldsFor(t),
    contactTags(contactId) {
      const o = tagOverlay.get(contactId);
      if (o) return o;
      if (contactId > sizes.contacts) return [];
      return g.contactTags(contactId).filter((a) => store.tags.has(a.tagId));
    },
    setContactTags(contactId, tags) { tagOverlay.set(contactId, [...tags].sort((a, b) => a.tagId - b.tagId)); contactJson.invalidate(contactId); },
    orderPayments(orderId) {
      const o = orders.get(orderId);
      return o ? g.orderPayments(o) : [];
    },
    *scanPayments(afterId = 0) {
      for (const o of orders.scan(Math.floor(afterId / 4) - 1)) for (const p of g.orderPayments(o)) if (p.id > afterId) yield p;
    },
    contactColumn(name) {
      return (id) => {
        // written records are read from the overlay; generated ones from the column
        if (id > sizes.contacts || contactsC.isOverlaid(id)) return fromRecord(name, contactsC.get(id));
        columns ??= buildColumns();
        switch (name) {
          case 'given_name': return columns.given[id]!;
          case 'family_name': return columns.family[id]!;
          case 'middle_name': return columns.middle[id]!;
          case 'emails': return columns.emails[id]!;
        }
      };
    },
    companyName(id) {
      if (store.companies.isOverlaid(id) || id > sizes.companies || id < 1) return store.companies.get(id)?.name;
      return g.companyName(id);
    },
    contactCustomFields(c) { return c.customFields ?? g.contactCustomFields(c.id); },
    contactUpdatedAt(id) { return contactsC.isOverlaid(id) || id > sizes.contacts ? (contactsC.get(id)?.updatedAt ?? 0) : g.contactUpdatedAt(id); },
    contactCreatedAt(id) { return contactsC.isOverlaid(id) || id > sizes.contacts ? (contactsC.get(id)?.createdAt ?? 0) : g.contactCreatedAt(id); },
  };
  return store;
}

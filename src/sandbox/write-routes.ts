// Writes that let data change under a running keapgres (reference §6): contacts, contact tags, tasks, notes, orders.
import { ApiError } from './http-errors.js';
import { parseTime } from './formats.js';
import { json, type Route, type RouteEnv, type RequestContext, type Reply } from './routes.js';
import { listParam, fieldSet } from './listing.js';
import * as V2 from './serialize-v2.js';
import * as V1 from './serialize-v1.js';
import type { Company, Contact, CustomFieldDef, CustomValue, EmailAddress, EmailStatus, PhoneNumber, PostalAddress, Task, Note, Order, OrderItem, Tag, Opportunity, Product, Appointment } from './model.js';
import type { SandboxStore } from './store.js';

const REST = '/crm/rest';
type Body = Record<string, unknown>;

const obj = (b: unknown): Body => {
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new ApiError(400, 'Request body must be a JSON object');
  return b as Body;
};
const idOf = (c: RequestContext, name: string): number => {
  const raw = c.params[name]!;
  if (!/^\d+$/.test(raw)) throw new ApiError(404, `Invalid id: ${raw}`);
  return Number(raw);
};
const str = (v: unknown, name: string): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new ApiError(400, `${name} must be a string`);
  return v;
};
const intId = (v: unknown, name: string): number | null => {
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ApiError(400, `${name} must be an id`);
  return n;
};
const time = (v: unknown, name: string): number | null => {
  if (v === undefined || v === null || v === '') return null;
  const t = typeof v === 'string' ? parseTime(v) : undefined;
  if (t === undefined) throw new ApiError(400, `${name} must be a date-time`);
  return t;
};
const arr = (v: unknown, name: string): Body[] => {
  if (!Array.isArray(v)) throw new ApiError(400, `${name} must be an array`);
  return v.map(obj);
};

const V1_STATUS_TO_V2: Record<string, EmailStatus> = { SingleOptIn: 'SINGLE_OPT_IN', DoubleOptin: 'DOUBLE_OPT_IN', Confirmed: 'CONFIRMED', UnengagedMarketable: 'UNENGAGED_MARKETABLE', NonMarketable: 'NON_MARKETABLE' };

function customValues(store: SandboxStore, defs: CustomFieldDef[], items: Body[], current: Record<number, CustomValue>): Record<number, CustomValue> {
  const out = { ...current };
  for (const it of items) {
    const id = intId(it.id, 'custom_fields[].id');
    const def = defs.find((d) => d.id === id);
    if (!def) throw new ApiError(400, `Unknown custom field id: ${String(it.id)}`);
    const v = it.content;
    if (v === null || v === undefined) { out[def.id] = null; continue; }
    switch (def.type) {
      case 'Date': case 'DateTime': out[def.id] = time(v, def.label); break;
      case 'WholeNumber': case 'DecimalNumber': case 'Currency': case 'Percent': case 'Year': case 'Month': case 'User': {
        const n = Number(v); if (Number.isNaN(n)) throw new ApiError(400, `${def.label} must be a number`); out[def.id] = n; break;
      }
      case 'YesNo': out[def.id] = v === true || v === 'true' || v === 1 || v === 'Yes'; break;
      default: out[def.id] = String(v);
    }
  }
  void store;
  return out;
}

/** Applies a create/update body (either version's names) to a contact; arrays sent replace the stored ones. */
function applyContact(store: SandboxStore, c: Contact, b: Body, version: 'v1' | 'v2', mask: string[] | null): Contact {
  const has = (k: string): boolean => (mask ? mask.includes(k) : k in b);
  const next: Contact = { ...c };
  if (has('given_name')) next.givenName = str(b.given_name, 'given_name') ?? '';
  if (has('family_name')) next.familyName = str(b.family_name, 'family_name') ?? '';
  if (has('middle_name')) next.middleName = str(b.middle_name, 'middle_name');
  if (has('preferred_name')) next.preferredName = str(b.preferred_name, 'preferred_name');
  if (has('prefix')) next.prefix = str(b.prefix, 'prefix');
  if (has('suffix')) next.suffix = str(b.suffix, 'suffix');
  if (has('job_title')) next.jobTitle = str(b.job_title, 'job_title');
  if (has('website')) next.website = str(b.website, 'website');
  if (has('spouse_name')) next.spouseName = str(b.spouse_name, 'spouse_name');
  if (has('contact_type')) next.contactType = str(b.contact_type, 'contact_type') ?? 'Lead';
  if (has('time_zone')) next.timeZone = str(b.time_zone, 'time_zone') ?? next.timeZone;
  if (has('preferred_locale')) next.preferredLocale = str(b.preferred_locale, 'preferred_locale') ?? next.preferredLocale;
  if (has('owner_id')) next.ownerId = intId(b.owner_id, 'owner_id');
  const ls = version === 'v2' ? 'leadsource_id' : 'lead_source_id';
  if (has(ls)) next.leadSourceId = intId(b[ls], ls);
  if (has('company')) { const co = b.company === null ? null : obj(b.company); next.companyId = co ? intId(co.id, 'company.id') : null; if (next.companyId !== null && !store.companies.has(next.companyId)) throw new ApiError(400, `Company ${next.companyId} does not exist`); }
  if (has('email_addresses')) {
    next.emails = arr(b.email_addresses ?? [], 'email_addresses').map((e, k): EmailAddress => {
      const email = str(e.email, 'email_addresses[].email');
      if (!email || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new ApiError(400, `Invalid email address: ${email ?? '(none)'}`);
      const field = (str(e.field, 'field') ?? `EMAIL${k + 1}`) as EmailAddress['field'];
      if (!['EMAIL1', 'EMAIL2', 'EMAIL3'].includes(field)) throw new ApiError(400, `Invalid email field: ${field}`);
      // Keap keeps an address's opt-in status with the address: sending the same address again does not reset it
      const known = c.emails.find((x) => x.email.toLowerCase() === email.toLowerCase());
      const status = (version === 'v2' ? (str(e.email_opt_status, 'email_opt_status') as EmailStatus | null) : null) ?? known?.status ?? 'UNENGAGED_MARKETABLE';
      return { email, field, status, optInReason: str(e.opt_in_reason, 'opt_in_reason') ?? known?.optInReason ?? null };
    });
  }
  // v1 opt_in_reason opts the primary address in, with or without email_addresses in the same body
  if (version === 'v1' && typeof b.opt_in_reason === 'string' && next.emails[0]) next.emails[0] = { ...next.emails[0], status: 'SINGLE_OPT_IN', optInReason: b.opt_in_reason };
  if (version === 'v1' && typeof b.email_status === 'string' && next.emails[0]) next.emails[0] = { ...next.emails[0], status: V1_STATUS_TO_V2[b.email_status] ?? next.emails[0].status };
  if (has('phone_numbers')) {
    next.phones = arr(b.phone_numbers ?? [], 'phone_numbers').map((p, k): PhoneNumber => {
      const number = str(p.number, 'phone_numbers[].number') ?? '';
      const digits = number.replace(/\D/g, '');
      return { number, e164: digits.length === 10 ? `+1${digits}` : `+${digits}`, extension: str(p.extension, 'extension'), type: str(p.type, 'type') ?? 'Other', field: str(p.field, 'field') ?? `PHONE${k + 1}` };
    });
  }
  if (has('addresses')) {
    next.addresses = arr(b.addresses ?? [], 'addresses').map((a): PostalAddress => {
      const region = str(a.region, 'region');
      const countryCode = str(a.country_code, 'country_code');
      if (region && !countryCode) throw new ApiError(400, 'country_code is required when region is given');
      return {
        field: (str(a.field, 'field') ?? 'BILLING') as PostalAddress['field'], line1: str(a.line1, 'line1') ?? '', line2: str(a.line2, 'line2'),
        locality: str(a.locality, 'locality') ?? '', region: region ?? '', regionCode: str(a.region_code, 'region_code') ?? '', countryCode: countryCode ?? '',
        country: str(a.country, 'country') ?? '', postalCode: str(a.postal_code, 'postal_code') ?? str(a.zip_code, 'zip_code') ?? '', zipFour: str(a.zip_four, 'zip_four'),
      };
    });
  }
  if (has('custom_fields')) next.customFields = customValues(store, store.customFields('CONTACT'), arr(b.custom_fields ?? [], 'custom_fields'), store.contactCustomFields(c));
  return next;
}

function blankContact(id: number, now: number): Contact {
  return {
    id, givenName: '', middleName: null, familyName: '', preferredName: null, prefix: null, suffix: null, spouseName: null, jobTitle: null,
    contactType: 'Lead', website: null, timeZone: 'America/Phoenix', preferredLocale: 'en_US', emails: [], phones: [], faxes: [], addresses: [], social: [],
    companyId: null, ownerId: null, leadSourceId: null, sourceType: 'API', origin: null, birthDate: null, anniversaryDate: null, scoreValue: null,
    referralCode: null, customFields: {}, createdAt: now, updatedAt: now,
  };
}

export function writeRoutes(env: RouteEnv): Route[] {
  const s = env.store;
  const routes: Route[] = [];
  const add = (method: string, version: 'v1' | 'v2', pattern: string, handle: (c: RequestContext) => Reply): void => { routes.push({ method, pattern: `${REST}/${version}${pattern}`, version, handle }); };
  const noContent: Reply = { status: 204 };
  const fullV1Props = new Set([...V1.CONTACT_DEFAULT_PROPERTIES, ...V1.CONTACT_OPTIONAL_PROPERTIES]);

  // ---- contacts ----
  const createContact = (c: RequestContext, version: 'v1' | 'v2'): Contact => {
    const b = obj(c.body);
    const probe = applyContact(s, blankContact(0, c.now), b, version, null);
    if (version === 'v1' && probe.emails.length === 0 && probe.phones.length === 0) throw new ApiError(400, 'Contact must contain an e-mail address or phone number');
    if (version === 'v2' && probe.emails.length === 0 && probe.phones.length === 0 && probe.addresses.length === 0) throw new ApiError(400, 'Contact must contain an email address, phone number or address');
    return s.contacts.insert((id) => ({ ...probe, id }));
  };
  add('POST', 'v1', '/contacts', (c) => json(201, V1.contactV1(s, createContact(c, 'v1'), fullV1Props)));
  // upsert (reference §5.1): duplicate_option Email | EmailAndName (| EmailAndNameAndCompany in v2) picks the match
  const findDuplicate = (probe: Contact, option: string, version: 'v1' | 'v2'): Contact | undefined => {
    const allowed = version === 'v1' ? ['Email', 'EmailAndName'] : ['Email', 'EmailAndName', 'EmailAndNameAndCompany'];
    if (!allowed.includes(option)) throw new ApiError(400, `Invalid duplicate_option '${option}'. Allowed: ${allowed.join(', ')}`);
    const email = probe.emails[0]?.email.toLowerCase();
    if (!email) return undefined;
    for (const x of s.contacts.scan()) {
      if (!x.emails.some((e) => e.email.toLowerCase() === email)) continue;
      if (option !== 'Email' && (x.givenName.toLowerCase() !== probe.givenName.toLowerCase() || x.familyName.toLowerCase() !== probe.familyName.toLowerCase())) continue;
      if (option === 'EmailAndNameAndCompany' && x.companyId !== probe.companyId) continue;
      return x;
    }
    return undefined;
  };
  const upsert = (c: RequestContext, version: 'v1' | 'v2', option: string): { contact: Contact; created: boolean } => {
    const b = obj(c.body);
    const probe = applyContact(s, blankContact(0, c.now), b, version, null);
    const dup = findDuplicate(probe, option, version);
    if (!dup) return { contact: createContact(c, version), created: true };
    const next = { ...applyContact(s, dup, b, version, null), id: dup.id, createdAt: dup.createdAt, updatedAt: Math.max(c.now, dup.updatedAt + 1) };
    s.contacts.put(next);
    return { contact: next, created: false };
  };
  add('PUT', 'v1', '/contacts', (c) => {
    const b = obj(c.body);
    const r = upsert(c, 'v1', typeof b.duplicate_option === 'string' ? b.duplicate_option : 'Email');
    return json(200, V1.contactV1(s, r.contact, fullV1Props));
  });
  add('POST', 'v2', '/contacts', (c) => {
    const option = c.query.get('duplicate_option');
    if (option === null) return json(201, V2.contactV2(s, createContact(c, 'v2'), new Set(V2.CONTACT_FIELDS)));
    const r = upsert(c, 'v2', option);
    return json(r.created ? 201 : 200, V2.contactV2(s, r.contact, new Set(V2.CONTACT_FIELDS)));
  });
  const updateContact = (c: RequestContext, param: string, version: 'v1' | 'v2'): Contact => {
    const id = idOf(c, param);
    const cur = s.contacts.get(id);
    if (!cur) throw new ApiError(404, 'Unable to find this Contact');
    const mask = listParam(c.query, 'update_mask');
    const next = { ...applyContact(s, cur, obj(c.body), version, mask), id, updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    s.contacts.put(next);
    return next;
  };
  add('PATCH', 'v1', '/contacts/{contactId}', (c) => json(200, V1.contactV1(s, updateContact(c, 'contactId', 'v1'), fullV1Props)));
  add('PATCH', 'v2', '/contacts/{contact_id}', (c) => {
    const next = updateContact(c, 'contact_id', 'v2');
    return json(200, V2.contactV2(s, next, c.query.has('fields') ? fieldSet(c.query, { all: V2.CONTACT_FIELDS, defaults: V2.CONTACT_DEFAULT_FIELDS }) : new Set(V2.CONTACT_FIELDS)));
  });
  const deleteContact = (c: RequestContext, param: string): Reply => {
    if (!s.contacts.delete(idOf(c, param))) throw new ApiError(404, 'Unable to find this Contact');
    return noContent;
  };
  add('DELETE', 'v1', '/contacts/{contactId}', (c) => deleteContact(c, 'contactId'));
  add('DELETE', 'v2', '/contacts/{contact_id}', (c) => deleteContact(c, 'contact_id'));

  // ---- contact tags ----
  const touch = (contactId: number, now: number): void => {
    const c = s.contacts.get(contactId);
    if (c) s.contacts.put({ ...c, updatedAt: Math.max(now, c.updatedAt + 1) });
  };
  const applyTag = (contactId: number, tagId: number, now: number): string => {
    if (!s.contacts.has(contactId)) return 'CONTACT_NOT_FOUND';
    if (!s.tags.has(tagId)) return 'TAG_ID_NOT_FOUND';
    const cur = s.contactTags(contactId);
    if (cur.some((t) => t.tagId === tagId)) return 'DUPLICATE';
    s.setContactTags(contactId, [...cur, { tagId, appliedAt: now }]);
    touch(contactId, now);
    return 'SUCCESS';
  };
  const removeTag = (contactId: number, tagId: number, now: number): void => {
    const cur = s.contactTags(contactId);
    if (!cur.some((t) => t.tagId === tagId)) return;
    s.setContactTags(contactId, cur.filter((t) => t.tagId !== tagId));
    touch(contactId, now);
  };
  const idList = (v: unknown, name: string): number[] => {
    if (!Array.isArray(v)) throw new ApiError(400, `${name} must be an array of ids`);
    return v.map((x) => { const n = intId(x, name); if (n === null) throw new ApiError(400, `${name} must be an array of ids`); return n; });
  };
  const queryIds = (c: RequestContext): number[] => (listParam(c.query, 'ids') ?? []).map((x) => { const n = Number(x); if (!Number.isInteger(n)) throw new ApiError(400, `Invalid id: ${x}`); return n; });
  add('POST', 'v1', '/contacts/{contactId}/tags', (c) => {
    const cid = idOf(c, 'contactId'); if (!s.contacts.has(cid)) throw new ApiError(404, 'Unable to find this Contact');
    const out: Record<string, string> = {};
    for (const t of idList(obj(c.body).tagIds, 'tagIds')) out[String(t)] = applyTag(cid, t, c.now);
    return json(200, out);
  });
  add('DELETE', 'v1', '/contacts/{contactId}/tags', (c) => { const cid = idOf(c, 'contactId'); if (!s.contacts.has(cid)) throw new ApiError(404, 'Unable to find this Contact'); for (const t of queryIds(c)) removeTag(cid, t, c.now); return noContent; });
  add('DELETE', 'v1', '/contacts/{contactId}/tags/{tagId}', (c) => { const cid = idOf(c, 'contactId'); if (!s.contacts.has(cid)) throw new ApiError(404, 'Unable to find this Contact'); removeTag(cid, idOf(c, 'tagId'), c.now); return noContent; });
  add('POST', 'v1', '/tags/{tagId}/contacts', (c) => {
    const tid = idOf(c, 'tagId'); if (!s.tags.has(tid)) throw new ApiError(404, 'Unable to find this Tag');
    const out: Record<string, string> = {};
    for (const cid of idList(obj(c.body).ids, 'ids')) out[String(cid)] = applyTag(cid, tid, c.now);
    return json(200, out);
  });
  add('DELETE', 'v1', '/tags/{tagId}/contacts', (c) => { const tid = idOf(c, 'tagId'); if (!s.tags.has(tid)) throw new ApiError(404, 'Unable to find this Tag'); for (const cid of queryIds(c)) removeTag(cid, tid, c.now); return noContent; });
  add('DELETE', 'v1', '/tags/{tagId}/contacts/{contactId}', (c) => { removeTag(idOf(c, 'contactId'), idOf(c, 'tagId'), c.now); return noContent; });
  add('POST', 'v2', '/tags/{tag_id}/contacts:applyTags', (c) => {
    const tid = idOf(c, 'tag_id'); if (!s.tags.has(tid)) throw new ApiError(404, 'Tag not found');
    const results: Record<string, string> = {};
    for (const cid of idList(obj(c.body).contact_ids, 'contact_ids')) results[String(cid)] = applyTag(cid, tid, c.now);
    return json(200, { results });
  });
  add('POST', 'v2', '/tags/{tag_id}/contacts:removeTags', (c) => {
    const tid = idOf(c, 'tag_id'); if (!s.tags.has(tid)) throw new ApiError(404, 'Tag not found');
    for (const cid of idList(obj(c.body).contact_ids, 'contact_ids')) removeTag(cid, tid, c.now);
    return noContent;
  });

  // ---- tasks ----
  const PRIORITY_V1: Record<number, Task['priority']> = { 1: 'NONESSENTIAL', 2: 'ESSENTIAL', 3: 'CRITICAL' };
  const applyTask = (t: Task, b: Body, version: 'v1' | 'v2'): Task => {
    const n: Task = { ...t };
    if ('title' in b) n.title = str(b.title, 'title') ?? '';
    if ('description' in b) n.description = str(b.description, 'description');
    if ('type' in b) n.type = str(b.type, 'type') ?? 'Other';
    if ('completed' in b) { n.completed = b.completed === true; n.completedAt = n.completed ? (n.completedAt ?? t.updatedAt) : null; }
    if (version === 'v1') {
      if ('due_date' in b) n.dueAt = time(b.due_date, 'due_date');
      if ('priority' in b) n.priority = PRIORITY_V1[Number(b.priority)] ?? 'ESSENTIAL';
      if ('user_id' in b) n.userId = intId(b.user_id, 'user_id') ?? n.userId;
      if ('contact' in b) n.contactId = b.contact === null ? null : intId(obj(b.contact).id, 'contact.id');
      if ('remind_time' in b) n.remindMins = intId(b.remind_time, 'remind_time');
      if ('completion_date' in b) n.completedAt = time(b.completion_date, 'completion_date');
    } else {
      if ('due_time' in b) n.dueAt = time(b.due_time, 'due_time');
      if ('priority' in b) n.priority = (str(b.priority, 'priority') as Task['priority'] | null) ?? 'ESSENTIAL';
      if ('assigned_to_user_id' in b) n.userId = intId(b.assigned_to_user_id, 'assigned_to_user_id') ?? n.userId;
      if ('contact_id' in b) n.contactId = intId(b.contact_id, 'contact_id');
      if ('remind_time_mins' in b) n.remindMins = intId(b.remind_time_mins, 'remind_time_mins');
      if ('completion_time' in b) n.completedAt = time(b.completion_time, 'completion_time');
    }
    if (n.contactId !== null && !s.contacts.has(n.contactId)) throw new ApiError(400, `Contact ${n.contactId} does not exist`);
    return n;
  };
  const newTask = (c: RequestContext, version: 'v1' | 'v2'): Task => {
    const b = obj(c.body);
    if (!str(b.title, 'title')) throw new ApiError(400, 'title is required');
    if (version === 'v1' && !b.due_date) throw new ApiError(400, 'due_date is required');
    const base: Task = { id: 0, title: '', description: null, type: 'Other', priority: 'ESSENTIAL', completed: false, completedAt: null, dueAt: null, remindMins: null, contactId: null, userId: 1, createdAt: c.now, updatedAt: c.now };
    const t = applyTask(base, b, version);
    return s.tasks.insert((id) => ({ ...t, id }));
  };
  const updateTask = (c: RequestContext, param: string, version: 'v1' | 'v2'): Task => {
    const cur = s.tasks.get(idOf(c, param)); if (!cur) throw new ApiError(404, 'Unable to find this Task');
    const next = { ...applyTask({ ...cur, updatedAt: c.now }, obj(c.body), version), updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    s.tasks.put(next); return next;
  };
  add('POST', 'v1', '/tasks', (c) => json(200, V1.taskV1(s, newTask(c, 'v1'))));
  add('POST', 'v2', '/tasks', (c) => json(201, V2.taskV2(newTask(c, 'v2'))));
  add('PATCH', 'v1', '/tasks/{taskId}', (c) => json(200, V1.taskV1(s, updateTask(c, 'taskId', 'v1'))));
  add('PUT', 'v1', '/tasks/{taskId}', (c) => json(200, V1.taskV1(s, updateTask(c, 'taskId', 'v1'))));
  add('PATCH', 'v2', '/tasks/{task_id}', (c) => json(200, V2.taskV2(updateTask(c, 'task_id', 'v2'))));
  add('DELETE', 'v1', '/tasks/{taskId}', (c) => { if (!s.tasks.delete(idOf(c, 'taskId'))) throw new ApiError(404, 'Unable to find this Task'); return noContent; });
  add('DELETE', 'v2', '/tasks/{task_id}', (c) => { if (!s.tasks.delete(idOf(c, 'task_id'))) throw new ApiError(404, 'Task not found'); return noContent; });

  // ---- notes ----
  const TYPES = ['Appointment', 'Call', 'Email', 'Fax', 'Letter', 'Other'];
  const applyNote = (n: Note, b: Body, version: 'v1' | 'v2'): Note => {
    const x: Note = { ...n };
    if ('title' in b) x.title = str(b.title, 'title') ?? '';
    const bodyKey = version === 'v1' ? 'body' : 'text';
    if (bodyKey in b) x.body = str(b[bodyKey], bodyKey) ?? '';
    if ('type' in b) { const t = str(b.type, 'type') ?? 'Other'; const norm = TYPES.find((y) => y.toUpperCase() === t.toUpperCase()); if (!norm) throw new ApiError(400, `Invalid note type: ${t}`); x.type = norm as Note['type']; }
    if (version === 'v1' && 'user_id' in b) x.userId = intId(b.user_id, 'user_id') ?? x.userId;
    if (version === 'v2' && 'assigned_to_user_id' in b) x.userId = intId(b.assigned_to_user_id, 'assigned_to_user_id') ?? x.userId;
    if (version === 'v2' && 'user_id' in b) x.userId = intId(b.user_id, 'user_id') ?? x.userId;
    return x;
  };
  const createNote = (c: RequestContext, contactId: number | null, version: 'v1' | 'v2'): Note => {
    const b = obj(c.body);
    const cid = contactId ?? intId(b.contact_id, 'contact_id');
    if (cid === null || !s.contacts.has(cid)) throw new ApiError(version === 'v1' ? 400 : 404, 'Unable to find this Contact');
    const n = applyNote({ id: 0, title: '', body: '', type: 'Other', contactId: cid, userId: 1, createdAt: c.now, updatedAt: c.now }, b, version);
    if (!n.title && !n.body) throw new ApiError(400, version === 'v1' ? 'Note must contain a title or body' : 'Note must contain a title or text');
    return s.notes.insert((id) => ({ ...n, id }));
  };
  const updateNote = (c: RequestContext, noteId: number, contactId: number | null, version: 'v1' | 'v2'): Note => {
    const cur = s.notes.get(noteId);
    if (!cur || (contactId !== null && cur.contactId !== contactId)) throw new ApiError(404, 'Unable to find this Note');
    const next = { ...applyNote(cur, obj(c.body), version), updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    s.notes.put(next); return next;
  };
  add('POST', 'v1', '/notes', (c) => json(201, V1.noteV1(s, createNote(c, null, 'v1'))));
  add('PATCH', 'v1', '/notes/{noteId}', (c) => json(200, V1.noteV1(s, updateNote(c, idOf(c, 'noteId'), null, 'v1'))));
  add('PUT', 'v1', '/notes/{noteId}', (c) => json(200, V1.noteV1(s, updateNote(c, idOf(c, 'noteId'), null, 'v1'))));
  add('DELETE', 'v1', '/notes/{noteId}', (c) => { if (!s.notes.delete(idOf(c, 'noteId'))) throw new ApiError(404, 'Unable to find this Note'); return noContent; });
  add('POST', 'v2', '/contacts/{contact_id}/notes', (c) => json(201, V2.noteV2(s, createNote(c, idOf(c, 'contact_id'), 'v2'))));
  add('PATCH', 'v2', '/contacts/{contact_id}/notes/{note_id}', (c) => json(200, V2.noteV2(s, updateNote(c, idOf(c, 'note_id'), idOf(c, 'contact_id'), 'v2'))));
  add('DELETE', 'v2', '/contacts/{contact_id}/notes/{note_id}', (c) => {
    const n = s.notes.get(idOf(c, 'note_id'));
    if (!n || n.contactId !== idOf(c, 'contact_id')) throw new ApiError(404, 'Note not found');
    s.notes.delete(n.id); return noContent;
  });

  // ---- orders ----
  const orderItems = (b: Body, orderId: number): OrderItem[] => arr(b.order_items ?? [], 'order_items').map((it, k) => {
    const productId = intId(it.product_id, 'order_items[].product_id');
    const p = productId !== null ? s.products.get(productId) : undefined;
    if (!p) throw new ApiError(400, `Product ${String(it.product_id)} does not exist`);
    const quantity = intId(it.quantity ?? 1, 'quantity') ?? 1;
    const price = it.price !== undefined && it.price !== null ? Math.round(Number(it.price) * 100) : p.priceCents;
    return { id: orderId * 10 + k, productId: p.id, name: p.name, description: str(it.description, 'description') ?? p.shortDescription, quantity, priceCents: price, costCents: Math.round(p.priceCents * 0.4), discountCents: 0, type: 'PRODUCT' };
  });
  const createOrder = (c: RequestContext, version: 'v1' | 'v2'): Order => {
    const b = obj(c.body);
    const contactId = intId(b.contact_id, 'contact_id');
    if (contactId === null || !s.contacts.has(contactId)) throw new ApiError(400, 'contact_id must name an existing contact');
    const orderedAt = time(version === 'v1' ? b.order_date : b.order_time, version === 'v1' ? 'order_date' : 'order_time') ?? c.now;
    const typeRaw = String(b.order_type ?? 'Offline').toUpperCase();
    if (typeRaw !== 'ONLINE' && typeRaw !== 'OFFLINE') throw new ApiError(400, `Invalid order_type: ${String(b.order_type)}`);
    return s.orders.insert((id) => {
      const items = orderItems(b, id);
      const total = items.reduce((a, i) => a + i.priceCents * i.quantity, 0);
      return {
        id, contactId, title: str(version === 'v1' ? b.order_title : (b.order_title ?? b.title), 'order_title') ?? (items[0]?.name ?? 'Order'), status: 'DRAFT', orderType: typeRaw,
        sourceType: 'API', items, totalCents: total, paidCents: 0, refundCents: 0, invoiceNumber: 10000 + id, leadAffiliateId: intId(b.lead_affiliate_id, 'lead_affiliate_id'),
        salesAffiliateId: intId(b.sales_affiliate_id, 'sales_affiliate_id'), notes: str(b.notes, 'notes'), terms: str(b.terms, 'terms'), orderedAt, createdAt: c.now, updatedAt: c.now, customFields: {},
      };
    });
  };
  add('POST', 'v1', '/orders', (c) => json(201, V1.orderV1(s, createOrder(c, 'v1'))));
  add('POST', 'v2', '/orders', (c) => json(201, V2.orderV2(s, createOrder(c, 'v2'), true)));
  add('PATCH', 'v2', '/orders/{order_id}', (c) => {
    const cur = s.orders.get(idOf(c, 'order_id')); if (!cur) throw new ApiError(404, 'Order not found');
    const b = obj(c.body); const next: Order = { ...cur, updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    if ('order_title' in b || 'title' in b) next.title = str(b.order_title ?? b.title, 'title') ?? next.title;
    if ('notes' in b) next.notes = str(b.notes, 'notes');
    if ('terms' in b) next.terms = str(b.terms, 'terms');
    if ('order_time' in b) next.orderedAt = time(b.order_time, 'order_time') ?? next.orderedAt;
    if ('custom_fields' in b) next.customFields = customValues(s, s.customFields('ORDER'), arr(b.custom_fields, 'custom_fields'), cur.customFields);
    s.orders.put(next);
    return json(200, V2.orderV2(s, next, true));
  });
  add('DELETE', 'v1', '/orders/{orderId}', (c) => { if (!s.orders.delete(idOf(c, 'orderId'))) throw new ApiError(404, 'Unable to find this Order'); return noContent; });
  add('DELETE', 'v2', '/orders/{order_id}', (c) => { if (!s.orders.delete(idOf(c, 'order_id'))) throw new ApiError(404, 'Order not found'); return noContent; });

  // ---- companies, tags, opportunities, products (v2; reference §6 and the v2 spec's request bodies) ----
  // PATCH takes update_mask: only the named properties change; without it, every property sent.
  const masked = (c: RequestContext, b: Body): ((k: string) => boolean) => {
    const mask = listParam(c.query, 'update_mask');
    return (k) => (mask ? mask.includes(k) : k in b);
  };
  const boolOf = (v: unknown, name: string): boolean => {
    if (typeof v !== 'boolean') throw new ApiError(400, `${name} must be a boolean`);
    return v;
  };
  const numOf = (v: unknown, name: string): number => {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new ApiError(400, `${name} must be a number`);
    return n;
  };
  const emailOk = (e: string, name: string): string => {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e)) throw new ApiError(400, `Invalid email address: ${e}`);
    if (e.length > 75) throw new ApiError(400, `${name} must be at most 75 characters`);
    return e;
  };

  const applyCompany = (co: Company, b: Body, has: (k: string) => boolean): Company => {
    const n: Company = { ...co };
    if (has('company_name')) {
      const name = str(b.company_name, 'company_name');
      if (!name || !name.trim()) throw new ApiError(400, 'company_name is required');
      n.name = name;
    }
    if (has('website')) n.website = str(b.website, 'website');
    if (has('notes')) n.notes = str(b.notes, 'notes');
    if (has('email_address')) {
      const e = b.email_address === null ? null : obj(b.email_address);
      n.email = e ? emailOk(str(e.email, 'email_address.email') ?? '', 'email_address.email') : null;
    }
    if (has('phone_number')) {
      const ph = b.phone_number === null ? null : obj(b.phone_number);
      n.phone = ph ? str(ph.number, 'phone_number.number') : null;
      n.phoneExt = ph ? str(ph.extension, 'phone_number.extension') : null;
    }
    if (has('fax_number')) { const f = b.fax_number === null ? null : obj(b.fax_number); n.fax = f ? str(f.number, 'fax_number.number') : null; }
    if (has('address')) {
      const a = b.address === null ? null : obj(b.address);
      if (a) {
        const region = str(a.region, 'region');
        const countryCode = str(a.country_code, 'country_code');
        if (region && !countryCode) throw new ApiError(400, 'country_code is required when region is given');
        n.address = {
          field: 'BILLING', line1: str(a.line1, 'line1') ?? '', line2: str(a.line2, 'line2'), locality: str(a.locality, 'locality') ?? '',
          region: region ?? '', regionCode: str(a.region_code, 'region_code') ?? '', countryCode: countryCode ?? '', country: '',
          postalCode: str(a.postal_code, 'postal_code') ?? str(a.zip_code, 'zip_code') ?? '', zipFour: str(a.zip_four, 'zip_four'),
        };
      } else n.address = null;
    }
    if (has('custom_fields')) n.customFields = customValues(s, s.customFields('COMPANY'), arr(b.custom_fields ?? [], 'custom_fields'), co.customFields);
    return n;
  };
  const companyFields = new Set(V2.COMPANY_FIELDS);
  add('POST', 'v2', '/companies', (c) => {
    const b = obj(c.body);
    if (!str(b.company_name, 'company_name')?.trim()) throw new ApiError(400, 'company_name is required');
    const base: Company = { id: 0, name: '', email: null, emailStatus: 'UNENGAGED_MARKETABLE', phone: null, phoneExt: null, fax: null, address: null, website: null, notes: null, ownerId: null, customFields: {}, createdAt: c.now, updatedAt: c.now };
    const n = applyCompany(base, b, (k) => k in b);
    // Keap refuses a second company of the same name
    for (const x of s.companies.scan()) if (x.name.toLowerCase() === n.name.toLowerCase()) throw new ApiError(400, `A company named '${n.name}' already exists (duplicate)`);
    return json(201, V2.companyV2(s, s.companies.insert((id) => ({ ...n, id })), companyFields));
  });
  add('PATCH', 'v2', '/companies/{company_id}', (c) => {
    const cur = s.companies.get(idOf(c, 'company_id')); if (!cur) throw new ApiError(404, 'Company not found');
    const b = obj(c.body);
    const next = { ...applyCompany(cur, b, masked(c, b)), updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    s.companies.put(next);
    return json(200, V2.companyV2(s, next, companyFields));
  });
  add('DELETE', 'v2', '/companies/{company_id}', (c) => { if (!s.companies.delete(idOf(c, 'company_id'))) throw new ApiError(404, 'Company not found'); return noContent; });

  const applyTagDef = (t: Tag, b: Body, has: (k: string) => boolean): Tag => {
    const n: Tag = { ...t };
    if (has('name')) { const name = str(b.name, 'name'); if (!name || !name.trim()) throw new ApiError(400, 'name is required'); n.name = name; }
    if (has('description')) n.description = str(b.description, 'description') ?? '';
    if (has('category')) {
      const cat = b.category === null ? null : obj(b.category);
      const id = cat ? intId(cat.id, 'category.id') : null;
      if (id === null || !s.tagCategories.has(id)) throw new ApiError(400, `Tag category ${String(cat?.id ?? null)} does not exist`);
      n.categoryId = id;
    }
    // tag names are unique within their category
    for (const x of s.tags.scan()) if (x.id !== t.id && x.categoryId === n.categoryId && x.name.toLowerCase() === n.name.toLowerCase()) throw new ApiError(400, `A tag named '${n.name}' already exists in this category (duplicate)`);
    return n;
  };
  add('POST', 'v2', '/tags', (c) => {
    const b = obj(c.body);
    if (!str(b.name, 'name')?.trim()) throw new ApiError(400, 'name is required');
    const n = applyTagDef({ id: 0, name: '', description: '', categoryId: 1, createdAt: c.now, updatedAt: c.now }, b, (k) => k in b);
    return json(201, V2.tagV2(s.tags.insert((id) => ({ ...n, id }))));
  });
  add('PATCH', 'v2', '/tags/{tag_id}', (c) => {
    const cur = s.tags.get(idOf(c, 'tag_id')); if (!cur) throw new ApiError(404, 'Tag not found');
    const b = obj(c.body);
    const next = { ...applyTagDef(cur, b, masked(c, b)), updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    s.tags.put(next);
    return json(200, V2.tagV2(next));
  });
  add('DELETE', 'v2', '/tags/{tag_id}', (c) => { if (!s.tags.delete(idOf(c, 'tag_id'))) throw new ApiError(404, 'Tag not found'); return noContent; });

  const applyOpp = (o: Opportunity, b: Body, has: (k: string) => boolean): Opportunity => {
    const n: Opportunity = { ...o };
    if (has('opportunity_title')) { const t = str(b.opportunity_title, 'opportunity_title'); if (!t || !t.trim()) throw new ApiError(400, 'opportunity_title is required'); n.title = t; }
    if (has('contact_id')) { const id = intId(b.contact_id, 'contact_id'); if (id === null || !s.contacts.has(id)) throw new ApiError(400, `Contact ${String(b.contact_id)} does not exist`); n.contactId = id; }
    if (has('stage_id')) { const id = intId(b.stage_id, 'stage_id'); if (id === null || !s.stages.has(id)) throw new ApiError(400, `Stage ${String(b.stage_id)} does not exist`); n.stageId = id; }
    if (has('user_id')) { const id = intId(b.user_id, 'user_id'); if (id === null || !s.users.has(id)) throw new ApiError(400, `User ${String(b.user_id)} does not exist`); n.userId = id; }
    if (has('next_action_time')) n.nextActionAt = time(b.next_action_time, 'next_action_time');
    if (has('next_action_notes')) n.nextActionNotes = str(b.next_action_notes, 'next_action_notes');
    if (has('opportunity_notes')) n.notes = str(b.opportunity_notes, 'opportunity_notes');
    if (has('estimated_close_time')) n.estimatedCloseAt = time(b.estimated_close_time, 'estimated_close_time') ?? n.estimatedCloseAt;
    if (has('include_in_forecast')) n.includeInForecast = boolOf(b.include_in_forecast, 'include_in_forecast');
    if (has('projected_revenue_low')) n.revenueLow = numOf(b.projected_revenue_low, 'projected_revenue_low');
    if (has('projected_revenue_high')) n.revenueHigh = numOf(b.projected_revenue_high, 'projected_revenue_high');
    if (has('affiliate_id')) n.affiliateId = intId(b.affiliate_id, 'affiliate_id');
    if (has('custom_fields')) n.customFields = customValues(s, s.customFields('OPPORTUNITY'), arr(b.custom_fields ?? [], 'custom_fields'), o.customFields);
    if (n.revenueLow > n.revenueHigh) throw new ApiError(400, 'projected_revenue_low must not be greater than projected_revenue_high');
    return n;
  };
  add('POST', 'v2', '/opportunities', (c) => {
    const b = obj(c.body);
    if (!str(b.opportunity_title, 'opportunity_title')?.trim()) throw new ApiError(400, 'opportunity_title is required');
    const base: Opportunity = { id: 0, title: '', contactId: 0, stageId: 1, userId: 1, notes: null, nextActionNotes: null, nextActionAt: null, estimatedCloseAt: c.now, includeInForecast: true, revenueLow: 0, revenueHigh: 0, affiliateId: null, customFields: {}, createdAt: c.now, updatedAt: c.now };
    const n = applyOpp(base, b, (k) => k in b);
    if (!s.contacts.has(n.contactId)) throw new ApiError(400, 'contact_id is required');
    return json(201, V2.opportunityV2(s, s.opportunities.insert((id) => ({ ...n, id })), true));
  });
  add('PATCH', 'v2', '/opportunities/{opportunity_id}', (c) => {
    const cur = s.opportunities.get(idOf(c, 'opportunity_id')); if (!cur) throw new ApiError(404, 'Opportunity not found');
    const b = obj(c.body);
    const next = { ...applyOpp(cur, b, masked(c, b)), updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    s.opportunities.put(next);
    return json(200, V2.opportunityV2(s, next, true));
  });
  add('DELETE', 'v2', '/opportunities/{opportunity_id}', (c) => { if (!s.opportunities.delete(idOf(c, 'opportunity_id'))) throw new ApiError(404, 'Opportunity not found'); return noContent; });

  const applyProduct = (p: Product, b: Body, has: (k: string) => boolean): Product => {
    const n: Product = { ...p };
    if (has('name')) { const v = str(b.name, 'name'); if (!v || !v.trim()) throw new ApiError(400, 'name is required'); n.name = v; }
    if (has('short_description')) { const v = str(b.short_description, 'short_description'); if (v === null) throw new ApiError(400, 'short_description is required'); n.shortDescription = v; }
    if (has('description')) n.description = str(b.description, 'description') ?? '';
    if (has('sku')) n.sku = str(b.sku, 'sku') ?? '';
    if (has('price')) {
      const v = b.price;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new ApiError(400, 'price must be an integer amount in the currency\u2019s smallest unit');
      if (v < 0) throw new ApiError(400, 'price must be greater than or equal to 0');
      n.priceCents = v;
    }
    if (has('active')) n.active = boolOf(b.active, 'active');
    if (has('shippable')) n.shippable = boolOf(b.shippable, 'shippable');
    if (has('taxable')) n.taxable = boolOf(b.taxable, 'taxable');
    if (has('subscription_only')) n.subscriptionOnly = boolOf(b.subscription_only, 'subscription_only');
    if (has('weight')) n.weight = numOf(b.weight, 'weight');
    return n;
  };
  add('POST', 'v2', '/products', (c) => {
    const b = obj(c.body);
    for (const k of ['name', 'price', 'short_description']) if (b[k] === undefined || b[k] === null) throw new ApiError(400, `${k} is required`);
    const base: Product = { id: 0, name: '', description: '', shortDescription: '', sku: '', priceCents: 0, active: true, shippable: false, taxable: false, weight: 0, subscriptionOnly: false, plans: [], createdAt: c.now, updatedAt: c.now };
    const n = applyProduct(base, b, (k) => k in b);
    if (n.sku) for (const x of s.products.scan()) if (x.sku === n.sku) throw new ApiError(400, `A product with sku '${n.sku}' already exists (duplicate)`);
    return json(201, V2.productV2(s.products.insert((id) => ({ ...n, id }))));
  });
  add('PATCH', 'v2', '/products/{product_id}', (c) => {
    const cur = s.products.get(idOf(c, 'product_id')); if (!cur) throw new ApiError(404, 'Product not found');
    const b = obj(c.body);
    const next = { ...applyProduct(cur, b, masked(c, b)), updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    s.products.put(next);
    return json(200, V2.productV2(next));
  });
  add('DELETE', 'v2', '/products/{product_id}', (c) => { if (!s.products.delete(idOf(c, 'product_id'))) throw new ApiError(404, 'Product not found'); return noContent; });

  // ---- appointments (v1 only: POST /v1/appointments, PATCH/DELETE /v1/appointments/{appointmentId}) ----
  const applyAppointment = (a: Appointment, b: Body): Appointment => {
    const n: Appointment = { ...a };
    if ('title' in b) { const t = str(b.title, 'title'); if (!t || !t.trim()) throw new ApiError(400, 'title is required'); n.title = t; }
    if ('description' in b) n.description = str(b.description, 'description');
    if ('location' in b) n.location = str(b.location, 'location');
    if ('start_date' in b) n.startAt = time(b.start_date, 'start_date') ?? n.startAt;
    if ('end_date' in b) n.endAt = time(b.end_date, 'end_date') ?? n.endAt;
    if ('contact_id' in b) { const id = intId(b.contact_id, 'contact_id'); if (id !== null && !s.contacts.has(id)) throw new ApiError(400, `Contact ${id} does not exist`); n.contactId = id ?? 0; }
    if ('user' in b) { const id = intId(b.user, 'user'); if (id === null || !s.users.has(id)) throw new ApiError(400, `User ${String(b.user)} does not exist`); n.userId = id; }
    if ('remind_time' in b) n.remindMins = intId(b.remind_time, 'remind_time');
    if (n.endAt < n.startAt) throw new ApiError(400, 'end_date must not be before start_date');
    return n;
  };
  add('POST', 'v1', '/appointments', (c) => {
    const b = obj(c.body);
    for (const k of ['title', 'start_date', 'end_date']) if (b[k] === undefined || b[k] === null || b[k] === '') throw new ApiError(400, `${k} is required`);
    const n = applyAppointment({ id: 0, title: '', description: null, location: null, contactId: 0, userId: 1, startAt: c.now, endAt: c.now, remindMins: null, updatedAt: c.now }, b);
    return json(201, V1.appointmentV1(s.appointments.insert((id) => ({ ...n, id }))));
  });
  add('PATCH', 'v1', '/appointments/{appointmentId}', (c) => {
    const cur = s.appointments.get(idOf(c, 'appointmentId')); if (!cur) throw new ApiError(404, 'Unable to find this Appointment');
    const next = { ...applyAppointment(cur, obj(c.body)), updatedAt: Math.max(c.now, cur.updatedAt + 1) };
    s.appointments.put(next);
    return json(200, V1.appointmentV1(next));
  });
  add('DELETE', 'v1', '/appointments/{appointmentId}', (c) => { if (!s.appointments.delete(idOf(c, 'appointmentId'))) throw new ApiError(404, 'Unable to find this Appointment'); return noContent; });

  // ---- order items (v2: POST /v2/orders/{order_id}/items, PATCH/DELETE …/items/{order_item_id}); totals follow ----
  const itemJson = (o: Order, id: number): unknown => ((V2.orderV2(s, o, false).order_items as Array<{ id: string }>) ?? []).find((x) => x.id === String(id));
  const withItems = (o: Order, items: OrderItem[], now: number): Order => ({ ...o, items, totalCents: items.reduce((a, i) => a + i.priceCents * i.quantity - i.discountCents, 0), updatedAt: Math.max(now, o.updatedAt + 1) });
  const positive = (v: unknown, name: string): number => { const n = intId(v, name); if (n === null || n < 1) throw new ApiError(400, `${name} must be a positive integer`); return n; };
  const cents = (v: unknown, name: string): number => { if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ApiError(400, `${name} must be a non-negative integer amount in the currency's smallest unit`); return v; };
  add('POST', 'v2', '/orders/{order_id}/items', (c) => {
    const o = s.orders.get(idOf(c, 'order_id')); if (!o) throw new ApiError(404, 'Order not found');
    const b = obj(c.body);
    for (const k of ['product_id', 'quantity']) if (b[k] === undefined || b[k] === null) throw new ApiError(400, `${k} is required`);
    const p = s.products.get(intId(b.product_id, 'product_id') ?? 0); if (!p) throw new ApiError(400, `Product ${String(b.product_id)} does not exist`);
    const id = Math.max(o.id * 10 - 1, ...o.items.map((i) => i.id)) + 1;
    const item: OrderItem = {
      id, productId: p.id, name: str(b.name, 'name') ?? p.name, description: str(b.description, 'description') ?? p.shortDescription, quantity: positive(b.quantity, 'quantity'),
      priceCents: b.price_per_unit !== undefined && b.price_per_unit !== null ? cents(b.price_per_unit, 'price_per_unit') : p.priceCents,
      costCents: b.cost_per_unit !== undefined && b.cost_per_unit !== null ? cents(b.cost_per_unit, 'cost_per_unit') : Math.round(p.priceCents * 0.4), discountCents: 0,
      type: ((str(b.item_type, 'item_type') ?? 'PRODUCT').toUpperCase()) as OrderItem['type'],
    };
    const next = withItems(o, [...o.items, item], c.now);
    s.orders.put(next);
    return json(201, itemJson(next, id));
  });
  add('PATCH', 'v2', '/orders/{order_id}/items/{order_item_id}', (c) => {
    const o = s.orders.get(idOf(c, 'order_id')); if (!o) throw new ApiError(404, 'Order not found');
    const id = idOf(c, 'order_item_id');
    const cur = o.items.find((i) => i.id === id); if (!cur) throw new ApiError(404, 'Order item not found');
    const b = obj(c.body);
    const n: OrderItem = { ...cur };
    if ('quantity' in b) n.quantity = positive(b.quantity, 'quantity');
    if ('price_per_unit' in b) n.priceCents = cents(b.price_per_unit, 'price_per_unit');
    if ('cost_per_unit' in b) n.costCents = cents(b.cost_per_unit, 'cost_per_unit');
    if ('name' in b) n.name = str(b.name, 'name') ?? n.name;
    if ('description' in b) n.description = str(b.description, 'description') ?? '';
    const next = withItems(o, o.items.map((i) => (i.id === id ? n : i)), c.now);
    s.orders.put(next);
    return json(200, itemJson(next, id));
  });
  add('DELETE', 'v2', '/orders/{order_id}/items/{order_item_id}', (c) => {
    const o = s.orders.get(idOf(c, 'order_id')); if (!o) throw new ApiError(404, 'Order not found');
    const id = idOf(c, 'order_item_id');
    if (!o.items.some((i) => i.id === id)) throw new ApiError(404, 'Order item not found');
    s.orders.put(withItems(o, o.items.filter((i) => i.id !== id), c.now));
    return noContent;
  });

  // ---- campaign sequences and email (v2 spec: :addContacts/:removeContacts answer per contact; emails:send 202) ----
  const sequence = (c: RequestContext): Set<number> => {
    const campaignId = idOf(c, 'campaign_id');
    if (!s.campaigns.has(campaignId)) throw new ApiError(404, 'Campaign not found');
    return sequenceSet(s, campaignId, idOf(c, 'sequence_id'));
  };
  add('POST', 'v2', '/campaigns/{campaign_id}/sequences/{sequence_id}:addContacts', (c) => {
    const set = sequence(c);
    const results: Record<string, string> = {};
    for (const id of idList(obj(c.body).contact_ids, 'contact_ids')) {
      if (!s.contacts.has(id)) { results[String(id)] = 'CONTACT_NOT_FOUND'; continue; }
      set.add(id);
      touch(id, c.now);
      results[String(id)] = 'SUCCESS';
    }
    return json(200, { add_to_sequence_results: results });
  });
  add('POST', 'v2', '/campaigns/{campaign_id}/sequences/{sequence_id}:removeContacts', (c) => {
    const set = sequence(c);
    const results: Record<string, string> = {};
    for (const id of idList(obj(c.body).contact_ids, 'contact_ids')) {
      results[String(id)] = set.delete(id) ? 'SUCCESS' : 'CONTACT_NOT_IN_SEQUENCE';
      if (results[String(id)] === 'SUCCESS') touch(id, c.now);
    }
    return json(200, { remove_from_sequence_results: results });
  });
  add('POST', 'v2', '/emails:send', (c) => {
    const b = obj(c.body);
    for (const k of ['contacts', 'subject', 'user_id']) if (b[k] === undefined || b[k] === null || b[k] === '') throw new ApiError(400, `${k} is required`);
    const user = s.users.get(intId(b.user_id, 'user_id') ?? 0);
    if (!user) throw new ApiError(400, `User ${String(b.user_id)} does not exist`);
    for (const k of ['html_content', 'plain_content']) {
      const v = b[k];
      if (v !== undefined && v !== null && (typeof v !== 'string' || Buffer.from(v, 'base64').toString('base64') !== v.replace(/\s/g, ''))) throw new ApiError(400, `${k} must be Base64`);
    }
    const ids = idList(b.contacts, 'contacts');
    for (const id of ids) if (!s.contacts.has(id)) throw new ApiError(400, `Contact ${id} does not exist`);
    for (const id of ids) {
      const to = s.contacts.get(id)!.emails[0]?.email ?? '';
      s.emails.insert((eid) => ({ id: eid, contactId: id, subject: String(b.subject), fromAddress: user.email, toAddress: to, sentAt: c.now, receivedAt: c.now, openedAt: null, clickedAt: null, provider: 'INFUSIONSOFT' }));
    }
    return { status: 202 };
  });

  return routes;
}

const sequences = new WeakMap<SandboxStore, Map<string, Set<number>>>();
function sequenceSet(store: SandboxStore, campaignId: number, sequenceId: number): Set<number> {
  let m = sequences.get(store);
  if (!m) sequences.set(store, (m = new Map()));
  const key = `${campaignId}/${sequenceId}`;
  let set = m.get(key);
  if (!set) m.set(key, (set = new Set()));
  return set;
}

/** The contacts a campaign sequence holds (added through the API), ascending. */
export function sequenceMembers(store: SandboxStore, campaignId: number, sequenceId: number): number[] {
  return [...sequenceSet(store, campaignId, sequenceId)].sort((a, b) => a - b);
}

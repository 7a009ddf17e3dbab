// List endpoints of both versions over any record source: v2 `page_size`/`page_token`/`filter`/`order_by`/`fields`,
// v1 `limit`/`offset`/`count`/`next`/`previous` with per-endpoint query parameters.
import { ApiError } from './http-errors.js';
import { parseFilter, type FilterSpec, type ParsedFilter } from './filters.js';
import type { CustomFieldDef, CustomValue } from './model.js';
import { RawJson, type FragmentCache } from './fragment-cache.js';

type Json = Record<string, unknown>;

/** Records by ascending id. Collections are sources; so are derived lists (a tag's contacts, an order's payments). */
export interface Source<T> {
  get(id: number): T | undefined;
  scanIds(afterId: number): Iterable<number>;
  /** total records, when known without a scan */
  readonly size?: number;
  /** the id of the k-th record (0-based) when it can be found without a scan */
  nthId?(k: number): number | undefined;
}

export type SortKey<T> = (rec: T) => string | number | boolean | null | undefined;

export interface V2List<T> {
  envelope: string;
  maxPageSize: number;
  filters: FilterSpec<T>;
  custom?: { defs: CustomFieldDef[]; values: (rec: T) => Record<number, CustomValue> };
  orderBy: Record<string, SortKey<T>>;
  /** optional properties: every name `fields` may list and those sent when it lists none */
  fields?: { all: readonly string[]; defaults: readonly string[] };
  serialize(rec: T, fields: ReadonlySet<string>): unknown;
  /** the same record as JSON text, written directly (must equal JSON.stringify(serialize(...))) */
  serializeJson?(rec: T, fields: ReadonlySet<string>): string;
  /** serialised records to reuse, keyed by the field set (hot lists: contacts) */
  cache?: FragmentCache;
}

interface PageToken { a?: number; o?: number }
const encodeToken = (t: PageToken): string => Buffer.from(JSON.stringify(t)).toString('base64url');
function decodeToken(s: string): PageToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as PageToken;
    if (typeof t === 'object' && t && (Number.isInteger(t.a) || Number.isInteger(t.o))) return t;
  } catch { /* fall through */ }
  throw new ApiError(400, `Invalid page_token: '${s}'`);
}

/** `fields=a,b` and the repeated form `fields=a&fields=b` */
export function listParam(q: URLSearchParams, name: string): string[] | null {
  const all = q.getAll(name);
  if (all.length === 0) return null;
  return all.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

export function fieldSet(q: URLSearchParams, fields: { all: readonly string[]; defaults: readonly string[] } | undefined): Set<string> {
  if (!fields) return new Set();
  const asked = listParam(q, 'fields');
  if (!asked || asked.length === 0) return new Set(fields.defaults);
  for (const f of asked) if (!fields.all.includes(f)) throw new ApiError(400, `Invalid field '${f}'. Available fields are: ${fields.all.join(',')}`);
  // id is always sent (without it a record cannot be addressed); the rest in one canonical order, so the bytes of a
  // record do not depend on how a request ordered its field list (and cached records stay interchangeable)
  return new Set(['id', ...fields.all.filter((f) => f !== 'id' && asked.includes(f))]);
}

function parseOrderBy<T>(q: URLSearchParams, orderBy: Record<string, SortKey<T>>): { key: SortKey<T>; desc: boolean } | null {
  const raw = q.get('order_by');
  if (raw === null || raw.trim() === '') return null;
  const [name, dir, extra] = raw.trim().split(/\s+/);
  const d = (dir ?? 'asc').toLowerCase();
  if (extra !== undefined || (d !== 'asc' && d !== 'desc')) throw new ApiError(400, `Invalid order_by '${raw}': expected '<field> asc' or '<field> desc'`);
  const key = orderBy[name!];
  if (!key) throw new ApiError(400, `Invalid order_by field '${name}'. Allowed: ${Object.keys(orderBy).join(', ')}`);
  if (name === 'id' && d === 'asc') return null; // the natural order: keyset paging
  return { key, desc: d === 'desc' };
}

function* candidateIds<T>(source: Source<T>, f: ParsedFilter<T>, after: number): Generator<number> {
  if (f.idSet) {
    for (const id of f.idSet) if (id > after && id >= f.idLo && id <= f.idHi) yield id;
    return;
  }
  if (f.idLo > f.idHi) return;
  for (const id of source.scanIds(Math.max(after, f.idLo - 1))) {
    if (id > f.idHi) return;
    yield id;
  }
}

function compareKeys(a: unknown, b: unknown): number {
  const an = a === null || a === undefined; const bn = b === null || b === undefined;
  if (an || bn) return an && bn ? 0 : an ? 1 : -1; // unset values last
  if (typeof a === 'string' && typeof b === 'string') { const x = a.toLowerCase(); const y = b.toLowerCase(); return x < y ? -1 : x > y ? 1 : 0; }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** All matching records sorted by `key` (ties by id), for orders other than the natural one. */
function sortedMatches<T extends { id: number }>(source: Source<T>, f: ParsedFilter<T>, key: SortKey<T>, desc: boolean): T[] {
  const out: { rec: T; k: unknown }[] = [];
  for (const id of candidateIds(source, f, 0)) {
    let rec: T | undefined;
    const lazy = (): T | undefined => (rec ??= source.get(id));
    if (!f.matches(id, lazy)) continue;
    const r = lazy();
    if (r) out.push({ rec: r, k: key(r) });
  }
  out.sort((x, y) => { const c = compareKeys(x.k, y.k); return (desc ? -c : c) || x.rec.id - y.rec.id; });
  return out.map((x) => x.rec);
}

export function listV2<T extends { id: number }>(source: Source<T>, spec: V2List<T>, q: URLSearchParams): Json | RawJson {
  const sizeRaw = q.get('page_size');
  let pageSize = spec.maxPageSize;
  if (sizeRaw !== null && sizeRaw !== '') {
    const n = Number(sizeRaw);
    if (!Number.isInteger(n) || n < 0 || n > spec.maxPageSize) throw new ApiError(400, `page_size must be between 0 and ${spec.maxPageSize}`);
    if (n > 0) pageSize = n; // 0 means "the default"
  }
  const fields = fieldSet(q, spec.fields);
  const filter = parseFilter(q.get('filter'), spec.filters, spec.custom);
  const order = parseOrderBy(q, spec.orderBy);
  const tokenRaw = q.get('page_token');
  const token = tokenRaw ? decodeToken(tokenRaw) : {};
  const items: unknown[] = [];
  const cache = spec.cache;
  const variant = cache ? [...fields].sort().join(',') : '';
  const raw: Buffer[] = [];
  const emit = (r: T): void => {
    if (!cache) { items.push(spec.serialize(r, fields)); return; }
    let b = cache.get(variant, r.id);
    if (!b) {
      const text = spec.serializeJson ? spec.serializeJson(r, fields) : JSON.stringify(spec.serialize(r, fields));
      b = cache.set(variant, r.id, text) ?? Buffer.from(text);
    }
    raw.push(b);
  };
  let next = '';
  if (!order) {
    let last = token.a ?? 0; let found = 0;
    for (const id of candidateIds(source, filter, last)) {
      let rec: T | undefined;
      const lazy = (): T | undefined => (rec ??= source.get(id));
      if (!filter.empty && !filter.matches(id, lazy)) continue;
      // a cached record needs no building: scanIds has already skipped deleted ids
      const hit = cache?.get(variant, id);
      if (hit === undefined && !lazy()) continue;
      if (found === pageSize) { next = encodeToken({ a: last }); break; }
      if (hit) raw.push(hit); else emit(rec!);
      last = id; found++;
    }
  } else {
    const all = sortedMatches(source, filter, order.key, order.desc);
    const offset = token.o ?? 0;
    for (const r of all.slice(offset, offset + pageSize)) emit(r);
    if (offset + pageSize < all.length) next = encodeToken({ o: offset + pageSize });
  }
  if (!cache) return { [spec.envelope]: items, next_page_token: next };
  const parts: Buffer[] = [Buffer.from(`{${JSON.stringify(spec.envelope)}:[`)];
  raw.forEach((b, i) => { if (i > 0) parts.push(COMMA); parts.push(b); });
  parts.push(Buffer.from(`],"next_page_token":${JSON.stringify(next)}}`));
  return new RawJson(Buffer.concat(parts));
}
const COMMA = Buffer.from(',');

// ---------------- v1 ----------------

export type V1Param<T> = (raw: string) => (rec: T) => boolean;

export interface V1List<T> {
  envelope: string;
  params: Record<string, V1Param<T>>;
  /** parameters decided from the id alone (cheap columns), checked before the record is built */
  idParams?: Record<string, (raw: string) => (id: number) => boolean>;
  order: Record<string, SortKey<T>>;
  /** lists that carry a `sync_token` (products, tasks, appointments) */
  syncToken?: boolean;
  serialize(rec: T, q: URLSearchParams): unknown;
}

export const V1_MAX_LIMIT = 1000;

export function listV1<T extends { id: number }>(source: Source<T>, spec: V1List<T>, q: URLSearchParams, selfUrl: string): Json {
  const limitRaw = q.get('limit'); const offsetRaw = q.get('offset');
  let limit = limitRaw === null || limitRaw === '' ? V1_MAX_LIMIT : Number(limitRaw);
  const offset = offsetRaw === null || offsetRaw === '' ? 0 : Number(offsetRaw);
  if (!Number.isInteger(limit) || limit < 0) throw new ApiError(400, `Invalid limit: '${limitRaw}'`);
  if (!Number.isInteger(offset) || offset < 0) throw new ApiError(400, `Invalid offset: '${offsetRaw}'`);
  if (limit === 0 || limit > V1_MAX_LIMIT) limit = V1_MAX_LIMIT;
  const preds: ((rec: T) => boolean)[] = [];
  const idPreds: ((id: number) => boolean)[] = [];
  for (const [name, make] of Object.entries(spec.params)) {
    const v = q.get(name);
    if (v === null || v === '') continue;
    const cheap = spec.idParams?.[name];
    if (cheap) idPreds.push(cheap(v)); else preds.push(make(v));
  }
  const orderName = q.get('order');
  let key: SortKey<T> | null = null;
  if (orderName !== null && orderName !== '') {
    const k = spec.order[orderName];
    if (!k) throw new ApiError(400, `Invalid order '${orderName}'. Allowed: ${Object.keys(spec.order).join(', ')}`);
    key = k;
  }
  const dirRaw = (q.get('order_direction') ?? 'ASCENDING').toUpperCase();
  if (dirRaw !== 'ASCENDING' && dirRaw !== 'DESCENDING') throw new ApiError(400, `Invalid order_direction '${q.get('order_direction')}'`);
  const desc = dirRaw === 'DESCENDING';
  const idOrder = key === null || orderName === 'id';

  let count: number; let page: T[];
  if (preds.length === 0 && idPreds.length === 0 && idOrder && !desc && source.size !== undefined && source.nthId) {
    count = source.size; page = [];
    const first = offset < count ? source.nthId(offset) : undefined;
    if (first !== undefined) for (const id of source.scanIds(first - 1)) { const r = source.get(id); if (r) page.push(r); if (page.length === limit) break; }
  } else {
    const all: T[] = [];
    for (const id of source.scanIds(0)) {
      if (!idPreds.every((p) => p(id))) continue;
      const r = source.get(id);
      if (r && preds.every((p) => p(r))) all.push(r);
    }
    if (!idOrder) { const k = key!; all.sort((a, b) => compareKeys(k(a), k(b)) || a.id - b.id); }
    if (desc) all.reverse();
    count = all.length; page = all.slice(offset, offset + limit);
  }
  const items = page.map((r) => spec.serialize(r, q));
  // next/previous repeat the query with a new window; Keap sends them even past the end ([AMP] fixtures)
  const link = (lim: number, off: number): string => {
    const p = new URLSearchParams();
    p.set('limit', String(lim)); p.set('offset', String(off));
    for (const [k, v] of q) if (k !== 'limit' && k !== 'offset') p.append(k, v);
    return `${selfUrl}?${p.toString()}`;
  };
  const out: Json = { [spec.envelope]: items, count, next: link(items.length > 0 ? items.length : limit, offset + limit), previous: link(limit, Math.max(0, offset - limit)) };
  if (spec.syncToken) out.sync_token = Buffer.from(`sync:${count}`).toString('base64url');
  return out;
}

// Helpers for v1 parameters
export const v1Eq = <T>(get: (r: T) => unknown): V1Param<T> => (raw) => { const w = raw.toLowerCase(); return (r) => { const v = get(r); return Array.isArray(v) ? v.some((x) => String(x).toLowerCase() === w) : v !== null && v !== undefined && String(v).toLowerCase() === w; }; };
export const v1Bool = <T>(get: (r: T) => boolean): V1Param<T> => (raw) => { const b = raw.toLowerCase() === 'true'; return (r) => get(r) === b; };
export const v1Since = <T>(get: (r: T) => number | null, parse: (s: string) => number | undefined): V1Param<T> => (raw) => {
  const t = parse(raw); if (t === undefined) throw new ApiError(400, `Invalid date: '${raw}'`);
  return (r) => { const v = get(r); return v !== null && v >= t; };
};
export const v1Until = <T>(get: (r: T) => number | null, parse: (s: string) => number | undefined): V1Param<T> => (raw) => {
  const t = parse(raw); if (t === undefined) throw new ApiError(400, `Invalid date: '${raw}'`);
  return (r) => { const v = get(r); return v !== null && v <= t; };
};

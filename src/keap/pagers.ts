// Paging to the end of a Keap list, by each version's rules, as fast as the rate limit allows.
// v1 (limit/offset) answers with the total `count`, so once the first page is in, every other offset is
// known and fetched concurrently. v2 (page_token) is sequential by nature; where the table can filter on
// a range of its ids, the id space is cut into ranges that are paged concurrently.
import { SqlError, SQLSTATE } from '../errors.js';
import type { KeapHttpClient } from './http-client.js';

export type Query = Record<string, string>;

/** Rows still wanted, shared by concurrent fetchers of one table. */
export class RowBudget {
  private left: number;
  constructor(max: number) {
    this.left = max;
  }
  get exhausted(): boolean {
    return this.left <= 0;
  }
  get remaining(): number {
    return this.left;
  }
  /** How many of `n` rows may still be kept. */
  take(n: number): number {
    const granted = Math.max(0, Math.min(n, this.left));
    this.left -= granted;
    return granted;
  }
}

export interface PagerContext {
  http: KeapHttpClient;
  signal: AbortSignal;
  /** requests in flight at most for this fetch */
  concurrency: number;
  budget: RowBudget;
  /** hands one page on; false when the consumer is gone (stop fetching) */
  emit(records: unknown[]): Promise<boolean>;
  /** the fetch stopped at the row budget while the API had more rows */
  markMore(): void;
}

export interface ListRequest {
  path: string;
  listKey: string | null;
  /** filter, order, fields and constant parameters, without paging parameters */
  query: Query;
  pageSize: number;
}

export function recordsOf(body: unknown, listKey: string | null, path: string): unknown[] {
  const list = listKey === null ? body : (body as Record<string, unknown> | null)?.[listKey];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    throw new SqlError(SQLSTATE.systemError, 'unexpected answer from the Keap API', {
      detail: `GET ${path} did not return a list${listKey ? ` under "${listKey}"` : ''}.`,
    });
  }
  return list;
}

/** Keeps what the budget allows of a page and hands it on; false to stop. */
async function keep(ctx: PagerContext, records: unknown[]): Promise<boolean> {
  const granted = ctx.budget.take(records.length);
  if (granted < records.length) ctx.markMore();
  if (granted === 0) return false;
  return ctx.emit(granted === records.length ? records : records.slice(0, granted));
}

/** One GET returns the whole list (no paging parameters). */
export async function fetchUnpaged(ctx: PagerContext, req: ListRequest): Promise<void> {
  const body = await ctx.http.getJson(req.path, req.query, ctx.signal);
  await keep(ctx, recordsOf(body, req.listKey, req.path));
}

/** v1: first page, then every remaining offset below `count` (and the budget) concurrently. */
export async function fetchV1Pages(ctx: PagerContext, req: ListRequest): Promise<void> {
  const limit = Math.min(req.pageSize, Math.max(1, ctx.budget.remaining));
  const first = await ctx.http.getJson(req.path, { ...req.query, limit: String(limit), offset: '0' }, ctx.signal);
  const records = recordsOf(first, req.listKey, req.path);
  if (!(await keep(ctx, records)) || records.length === 0) return;
  const count = (first as { count?: unknown }).count;
  if (typeof count !== 'number' || !Number.isFinite(count)) return fetchV1Sequential(ctx, req, records.length, limit);
  // An endpoint that caps `limit` below what we asked pages by its own size.
  const step = records.length < limit && count > records.length ? records.length : limit;
  const end = Math.min(count, step + ctx.budget.remaining);
  if (count > end) ctx.markMore();
  const offsets: number[] = [];
  for (let offset = step; offset < end; offset += step) offsets.push(offset);
  await runPool(offsets, ctx.concurrency, async (offset) => {
    const body = await ctx.http.getJson(req.path, { ...req.query, limit: String(step), offset: String(offset) }, ctx.signal);
    return keep(ctx, recordsOf(body, req.listKey, req.path));
  });
}

async function fetchV1Sequential(ctx: PagerContext, req: ListRequest, firstLength: number, limit: number): Promise<void> {
  let offset = firstLength;
  if (firstLength < limit) return;
  for (;;) {
    if (ctx.budget.exhausted) return ctx.markMore();
    const body = await ctx.http.getJson(req.path, { ...req.query, limit: String(limit), offset: String(offset) }, ctx.signal);
    const records = recordsOf(body, req.listKey, req.path);
    if (records.length === 0 || !(await keep(ctx, records)) || records.length < limit) return;
    offset += records.length;
  }
}

/** v2: follow `next_page_token` to the end (absent or empty token, or an empty page). */
export async function fetchV2Pages(ctx: PagerContext, req: ListRequest, startToken?: string): Promise<void> {
  let token = startToken;
  for (;;) {
    const pageSize = Math.min(req.pageSize, Math.max(1, ctx.budget.remaining));
    const query: Query = { ...req.query, page_size: String(pageSize) };
    if (token) query.page_token = token;
    const body = await ctx.http.getJson(req.path, query, ctx.signal);
    const records = recordsOf(body, req.listKey, req.path);
    if (!(await keep(ctx, records))) return;
    const next = (body as { next_page_token?: unknown } | null)?.next_page_token;
    if (typeof next !== 'string' || next === '' || records.length === 0) return;
    if (ctx.budget.exhausted) return ctx.markMore();
    token = next;
  }
}

export interface IdRangeRequest extends ListRequest {
  /** `query` plus ordering by id descending */
  descendingQuery: Query;
  /** `query` plus ordering by id ascending */
  ascendingQuery: Query;
  /** `query` with the id range [low, high) added to the filter */
  rangeQuery(low: bigint, high: bigint): Query;
  idOf(record: unknown): bigint | undefined;
}

/**
 * v2 with an id-range filter: the first page (highest ids first) gives the top of the id space and shows
 * whether there is more; one probe gives the bottom; the rest is cut into ranges paged concurrently.
 * Range widths are whole pages at the density seen on the first page, so few partial pages are fetched.
 */
export async function fetchV2IdRanges(ctx: PagerContext, req: IdRangeRequest): Promise<void> {
  const first = await ctx.http.getJson(req.path, { ...req.descendingQuery, page_size: String(req.pageSize) }, ctx.signal);
  const records = recordsOf(first, req.listKey, req.path);
  if (!(await keep(ctx, records))) return;
  const next = (first as { next_page_token?: unknown } | null)?.next_page_token;
  if (typeof next !== 'string' || next === '' || records.length === 0) return;
  if (ctx.budget.exhausted) return ctx.markMore();

  const ids = records.map(req.idOf);
  // Ids we cannot read give no ranges: keep following this listing's tokens.
  if (ids.some((id) => id === undefined)) return fetchV2Pages(ctx, { ...req, query: req.descendingQuery }, next);
  const top = ids.reduce((a, b) => ((a as bigint) > (b as bigint) ? a : b)) as bigint;
  const lowestSeen = ids.reduce((a, b) => ((a as bigint) < (b as bigint) ? a : b)) as bigint;
  const probe = await ctx.http.getJson(req.path, { ...req.ascendingQuery, page_size: '1' }, ctx.signal);
  const bottomRecord = recordsOf(probe, req.listKey, req.path)[0];
  const bottom = bottomRecord === undefined ? undefined : req.idOf(bottomRecord);
  if (bottom === undefined || bottom >= lowestSeen) return;

  const span = lowestSeen - bottom;
  const density = Math.min(1, records.length / Number(top - lowestSeen + 1n));
  const idsPerPage = BigInt(Math.max(1, Math.ceil(req.pageSize / density)));
  const estimatedPages = Math.ceil((Number(span) * density) / req.pageSize);
  const rangeCount = BigInt(Math.max(1, Math.min(ctx.concurrency, estimatedPages)));
  const pagesPerRange = (span + rangeCount * idsPerPage - 1n) / (rangeCount * idsPerPage);
  const width = (pagesPerRange > 0n ? pagesPerRange : 1n) * idsPerPage;
  const ranges: Array<[bigint, bigint]> = [];
  for (let low = bottom; low < lowestSeen; low += width) ranges.push([low, low + width < lowestSeen ? low + width : lowestSeen]);

  await runPool(ranges, ctx.concurrency, async ([low, high]) => {
    await fetchV2Pages(ctx, { ...req, query: req.rangeQuery(low, high) });
    return !ctx.budget.exhausted;
  });
}

/**
 * Runs `work` over `items` with at most `concurrency` at a time. A worker answering false stops new items;
 * the first failure rejects (the caller aborts the others through the shared signal).
 */
export async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<boolean>): Promise<void> {
  let next = 0;
  let stop = false;
  const runner = async (): Promise<void> => {
    while (!stop && next < items.length) {
      const item = items[next++] as T;
      if (!(await work(item))) stop = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, runner));
}

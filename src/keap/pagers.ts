// Paging to the end of a Keap list, by each version's rules, as fast as the rate limit allows.
// v1 (limit/offset) answers with the total `count`, so once the first page is in, every other offset is
// known and fetched concurrently. v2 (page_token) is sequential by nature; where the table can filter on
// a range of its ids, the id space is cut into ranges that are paged concurrently.
import { SqlError, SQLSTATE } from '../errors.js';
import { SKIPPED, type KeapHttpClient } from './http-client.js';

/** What the pagers need of the HTTP client: list pages (possibly decoded elsewhere, see page-decoder.ts). */
export type ListHttp = Pick<KeapHttpClient, 'getJson' | 'getJsonUnless'>;
import { KeapApiError } from './api-errors.js';

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
  http: ListHttp;
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
  /** the body is one record (TableSource.single) */
  single?: boolean;
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

/** A single-record body as a list of one: an object as it is, a bare value (a signature's HTML) as {value}. */
function singleRecord(body: unknown): unknown[] {
  if (body === null || body === undefined || body === '') return [];
  return [typeof body === 'object' && !Array.isArray(body) ? body : { value: body }];
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
  await keep(ctx, req.single ? singleRecord(body) : recordsOf(body, req.listKey, req.path));
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
  /** `query` plus ordering by id ascending, and the id bound `>= low` when given */
  ascendingQuery(low: bigint | undefined): Query;
  /** `query` with the id range [low, high) added to the filter; undefined when no id of the range can match */
  rangeQuery(low: bigint, high: bigint): Query | undefined;
  idOf(record: unknown): bigint | undefined;
  /** asks how many records the listing holds (the API's count, asked alongside the first head page) */
  expectedTotal?: () => Promise<number | undefined>;
}

interface IdRange {
  low: bigint;
  high: bigint;
  state: 'pending' | 'done' | 'skipped';
  records: number;
}

/**
 * v2 with an id-range filter, without knowing where the ids end. A head page in id order shows where the ids
 * start, how dense they are and whether there is more; then consecutive ranges of about one page of ids each
 * are fetched concurrently, in order, until one comes back empty. Ranges still waiting for their pacing slot
 * then stand down, and the next head page (ids from the first range not fetched) either finds nothing — the
 * end — or jumps the gap and starts another round. Every id is covered once: ranges are contiguous, and
 * a range is only given up before its request left, after which a later head page covers it.
 * When the API's count is known, no more ranges are sent than the missing records need, and the fetch ends
 * when they are in: no empty range, no last head page.
 */
export async function fetchV2IdRanges(ctx: PagerContext, req: IdRangeRequest): Promise<void> {
  let low: bigint | undefined;
  let spanIds = 0;
  let spanRecords = 0;
  let received = 0;
  let expected: number | undefined;
  let counting: Promise<number | undefined> | undefined;
  for (let round = 0; ; round++) {
    const heading = ctx.http.getJson(req.path, { ...req.ascendingQuery(low), page_size: String(req.pageSize) }, ctx.signal);
    // The count is asked after the head page took its pacing slot: the first rows come first.
    if (round === 0) counting = req.expectedTotal?.();
    const head = await heading;
    const records = recordsOf(head, req.listKey, req.path);
    const from = low;
    if (from !== undefined && records.some((r) => (req.idOf(r) ?? from) < from)) throw rangeIgnored(req.path);
    if (!(await keep(ctx, records))) return;
    received += records.length;
    const next = (head as { next_page_token?: unknown } | null)?.next_page_token;
    if (typeof next !== 'string' || next === '' || records.length === 0) return;
    if (ctx.budget.exhausted) return ctx.markMore();
    if (round === 0) {
      expected = await counting;
      // a count already reached while the listing says there is more: the data moved; trust the listing
      if (expected !== undefined && received >= expected) expected = undefined;
    }
    const ids = records.map(req.idOf);
    const ascending = ids.every((id, i) => id !== undefined && (i === 0 || (ids[i - 1] as bigint) < id));
    // Ids we cannot read or an order we did not ask for: keep following this listing's tokens.
    if (!ascending) return fetchV2Pages(ctx, { ...req, query: req.ascendingQuery(low) }, next);
    const first = ids[0] as bigint;
    const last = ids[ids.length - 1] as bigint;
    spanIds += Number(last - (low ?? first)) + 1;
    spanRecords += records.length;

    const ranges: IdRange[] = [];
    let nextLow = last + 1n;
    let stop = false;
    let pending = 0;
    const worker = async (): Promise<void> => {
      while (!stop && !ctx.budget.exhausted) {
        // Enough ranges under way to bring the count: this worker rests (the last one busy re-checks).
        if (expected !== undefined && received + pending * req.pageSize >= expected) return;
        // Each range is about one page at the density seen so far, so most ranges cost one request.
        const density = Math.min(1, Math.max(1e-9, spanRecords / Math.max(1, spanIds)));
        const width = BigInt(Math.max(1, Math.floor(req.pageSize / density)));
        const range: IdRange = { low: nextLow, high: nextLow + width, state: 'pending', records: 0 };
        nextLow = range.high;
        ranges.push(range);
        pending++;
        try {
          await fetchRange(ctx, req, range, () => stop);
        } finally {
          pending--;
        }
        if (range.state === 'skipped') return;
        received += range.records;
        spanIds += Number(range.high - range.low);
        spanRecords += range.records;
        if (range.records === 0) stop = true;
      }
    };
    const settled = await Promise.allSettled(
      Array.from({ length: ctx.concurrency }, () =>
        worker().catch((err: unknown) => {
          stop = true; // the other workers finish what they sent and take no new range
          throw err;
        }),
      ),
    );
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      // The id bounds are our addition, not the statement's: if the API refuses them (400) before any range
      // brought rows, page the plain listing instead.
      const err: unknown = failure.reason;
      const refused = (err instanceof KeapApiError && err.httpStatus === 400) || err instanceof RangeIgnored;
      if (!refused || ranges.some((r) => r.records > 0)) throw err;
      return fetchV2Pages(ctx, { ...req, query: req.ascendingQuery(low) }, next);
    }
    if (ctx.budget.exhausted) return ctx.markMore();
    if (expected !== undefined && received >= expected) return;

    // Resume at the first range not fetched; ranges are handed out in pacing order, so none above it was fetched.
    const firstSkipped = ranges.find((r) => r.state === 'skipped');
    low = firstSkipped ? firstSkipped.low : nextLow;
    const above = ranges.filter((r) => r.state === 'done' && r.low >= (low as bigint));
    if (above.length > 0) {
      // Not expected (pacing order), but never fetch a range twice: fill the holes one by one instead.
      for (const r of ranges.filter((x) => x.state === 'skipped')) await fetchRange(ctx, req, r, () => false);
      low = nextLow;
    }
  }
}

class RangeIgnored extends SqlError {}

function rangeIgnored(path: string): RangeIgnored {
  return new RangeIgnored(SQLSTATE.systemError, 'the Keap API ignored an id range filter', {
    detail: `GET ${path} returned records outside the id range it was asked for.`,
    hint: 'The table schema declares an id filter this endpoint does not apply; remove its range operators.',
  });
}

async function fetchRange(ctx: PagerContext, req: IdRangeRequest, range: IdRange, standDown: () => boolean): Promise<void> {
  let token: string | undefined;
  const rangeQuery = req.rangeQuery(range.low, range.high);
  if (!rangeQuery) {
    range.state = 'done';
    return;
  }
  for (;;) {
    const query: Query = { ...rangeQuery, page_size: String(req.pageSize) };
    if (token) query.page_token = token;
    const body = await ctx.http.getJsonUnless(req.path, query, ctx.signal, token ? undefined : standDown);
    if (body === SKIPPED) {
      range.state = 'skipped';
      return;
    }
    const records = recordsOf(body, req.listKey, req.path);
    // An API that ignored the bounds would hand every range the whole table, forever: check before keeping.
    // The ends of the page suffice (a listing that ignored them starts at the table's first ids).
    const outside = (r: unknown): boolean => {
      const id = req.idOf(r);
      return id === undefined || id < range.low || id >= range.high;
    };
    if (records.length > 0 && (outside(records[0]) || outside(records[records.length - 1]))) throw rangeIgnored(req.path);
    range.records += records.length;
    const kept = await keep(ctx, records);
    const next = (body as { next_page_token?: unknown } | null)?.next_page_token;
    if (!kept || typeof next !== 'string' || next === '' || records.length === 0) break;
    if (ctx.budget.exhausted) {
      ctx.markMore();
      break;
    }
    token = next;
  }
  range.state = 'done';
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

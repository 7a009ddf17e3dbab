// The Keap connector: for one table and one fetch plan, the API records, streamed page by page, fetched with
// the fewest calls the plan allows (pushed filters, pushed LIMIT, the API's count) and as concurrently as the
// rate limit allows. One connector per configured Keap connection; every session's fetches share its pacer.
import type { Logger } from 'pino';
import { SqlError, SQLSTATE } from '../errors.js';
import type { FetchPlan, PushedCondition } from '../planner/types.js';
import type { Catalog, PushableFilter, TableSchema } from '../schema/types.js';
import { cancelledError, KeapApiError } from './api-errors.js';
import { encodeFilter, encodeOrder, encodeValue, filterFor } from './filter-encoding.js';
import { KeapHttpClient, SKIPPED, type HttpClientStats, type WriteResponse } from './http-client.js';
export { UncertainWrite, type WriteResponse } from './http-client.js';
import { RequestPacer, type RateShare } from './pacer.js';
import { PageQueue } from './page-queue.js';
import { readPath } from './read-path.js';
import { copyOfStandIns, sharedPageDecoders, type CopyChunk, type FetchDecoder, type PageDecoderPool } from './page-decoder.js';
import { CopyRowEncoder } from '../schema/rows.js';
import {
  fetchUnpaged,
  fetchV1Pages,
  fetchV2IdRanges,
  fetchV2Pages,
  RowBudget,
  runPool,
  type ListRequest,
  type PagerContext,
  type Query,
} from './pagers.js';
import type { RetryPolicyOptions } from './retry-policy.js';
import type { CredentialSource, FetchResult } from './types.js';

export interface KeapConnectorOptions {
  /** e.g. "https://api.infusionsoft.com/crm/rest" */
  apiBase: string;
  credentials: CredentialSource;
  /** Pagesize: records per request, default 1000, capped by each table's pageSizeMax */
  pageSize?: number;
  /** Timeout: seconds one HTTP request may take (each retry gets its own); 0 = none. Default 60. */
  timeoutSeconds?: number;
  /** MaxRows: most records fetched per table reference; -1 or 0 = no limit */
  maxRows?: number;
  /** requests in flight at most, per fetch and over the connection pool; default 8 */
  maxConcurrency?: number;
  /** Keap's spike-arrest limit in requests per second; default 25 */
  spikePerSecond?: number;
  /** needed for per-parent tables whose parents are not pinned by the plan (the parent table is fetched) */
  catalog?: Catalog;
  retry?: Partial<RetryPolicyOptions>;
  logger?: Logger;
  /** threads that decode list pages for fetchCopy; false: decode on the calling thread. Default: shared ones */
  pageDecoders?: PageDecoderPool | false;
}

/** One table's fetch. Iterate it (or `records`) once; `truncated()` is final when iteration has ended. */
export interface KeapFetch<T = unknown[]> extends FetchResult<T>, AsyncIterable<T> {
  /**
   * Pages of API records as the endpoint returns them (or what `mapPage` made of each). Per-parent tables:
   * each record carries the parent under the key "$parent" (the parent table's record, or
   * `{<parent column path>: id}` when the plan pinned the parent ids), so "$parent.<path>" column paths
   * resolve by plain property lookup.
   */
  readonly records: AsyncIterable<T>;
  /** true when MaxRows cut the fetch short while the API had more records */
  truncated(): boolean;
  /** API requests this fetch has sent so far (retries not counted) */
  requests(): number;
  /** conditions the API applied; the rest (`dropped`) the engine alone applies */
  readonly pushed: readonly PushedCondition[];
  readonly dropped: readonly PushedCondition[];
  /** the plan's LIMIT went to the API (false when some condition or the order could not be pushed) */
  readonly limitPushed: boolean;
}

/** A plan as the list request it becomes (see KeapConnector.describe). */
export interface RequestDescription {
  path: string;
  query: Query;
  pageSize: number;
  pushed: readonly PushedCondition[];
  dropped: readonly PushedCondition[];
  limitPushed: boolean;
  /** per-parent tables: the parent table, and the parent ids when conditions pin them */
  perParent?: { table: string; ids?: string[] };
}

export interface FetchOptions {
  /** per-parent tables: the parent ids to fetch for, instead of fetching the whole parent table */
  parentIds?: Iterable<string | number>;
  /** a fetch expected to be small (the changes since a time): page in order, no speculative id ranges */
  small?: boolean;
}

/** How pages reach the consumer: records as parsed, or COPY text made as each page arrives. */
interface PageForm<T> {
  /** the table's pages decoded elsewhere (the pagers then see stand-ins for records) */
  decode?: (bytes: ArrayBuffer) => Promise<unknown>;
  map(records: unknown[]): T;
  close(): void;
}

export type { CopyChunk } from './page-decoder.js';

const DEFAULT_PAGE_SIZE = 1000;

export class KeapConnector {
  private readonly http: KeapHttpClient;
  private readonly pacer: RequestPacer;
  private readonly pageSize: number;
  private readonly maxRows: number;
  private readonly concurrency: number;

  constructor(private readonly opts: KeapConnectorOptions) {
    this.concurrency = Math.max(1, Math.floor(opts.maxConcurrency ?? 8));
    this.pacer = new RequestPacer({ spikePerSecond: opts.spikePerSecond ?? 25 });
    this.http = new KeapHttpClient({
      apiBase: opts.apiBase,
      credentials: opts.credentials,
      pacer: this.pacer,
      timeoutSeconds: opts.timeoutSeconds ?? 60,
      connections: this.concurrency,
      retry: opts.retry,
      logger: opts.logger,
    });
    this.pageSize = Math.max(1, Math.floor(opts.pageSize ?? DEFAULT_PAGE_SIZE));
    this.maxRows = opts.maxRows !== undefined && opts.maxRows > 0 ? Math.floor(opts.maxRows) : Infinity;
    if (opts.pageDecoders !== false) (opts.pageDecoders ?? sharedPageDecoders()).warm();
  }

  /** Requests of one second the instances sharing this app may send between them (src/shared-state). */
  get sharedBudget(): number {
    return this.pacer.sharedBudget;
  }

  /** Sends within `share` from now on: several instances call Keap with this app. */
  shareRate(share: RateShare): void {
    this.pacer.shareWith(share);
  }

  /** Requests per second the pacer allows now (after what the gateway's headers and 429s taught it). */
  get ratePerSecond(): number {
    return this.pacer.ratePerSecond;
  }

  /** Requests sent, retries, 429s seen (since start). */
  get stats(): Readonly<HttpClientStats> {
    return this.http.stats;
  }

  /** GET one API path (relative to the base, e.g. "/v2/contacts/model") as JSON, paced and retried. */
  getJson(path: string, query: Record<string, string>, signal: AbortSignal): Promise<unknown> {
    return this.http.getJson(path, query, signal);
  }

  /** A write call (src/writes decides which), paced with every other request of the connection. */
  send(method: string, path: string, query: Array<[string, string]>, body: unknown, signal: AbortSignal, idempotent: boolean, contentType?: string): Promise<WriteResponse> {
    return this.http.send(method, path, query, body, signal, idempotent, contentType);
  }

  /**
   * The number of records matching the plan by the API's count (v1 `count` with `limit=1`): one call.
   * Undefined when the table has no count or a condition cannot be given to the count endpoint.
   */
  async count(table: TableSchema, plan: FetchPlan, signal: AbortSignal): Promise<number | undefined> {
    const count = table.source.count;
    // Rows of an unnest or per-parent table are not the endpoint's records: its count counts something else.
    if (!count || table.source.unnest || table.source.perParent) return undefined;
    // The table's filters name the parameters of its own endpoint: they fit the count endpoint only when both
    // are v1. A v2 table counts through v1 only when there is nothing to filter.
    if (plan.conditions.length > 0 && table.source.version !== count.version) return undefined;
    const encoded = encodeFilter(table, plan.conditions);
    if (encoded.dropped.length > 0) return undefined;
    const query: Query = { ...(table.source.version === count.version ? table.source.query : {}), ...encoded.query, limit: '1' };
    const body = await this.http.getJson(count.path, query, signal);
    const n = (body as Record<string, unknown> | null)?.[count.key];
    return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
  }

  fetch(table: TableSchema, plan: FetchPlan, signal: AbortSignal, options: FetchOptions = {}): KeapFetch<unknown[]> {
    return this.start(table, plan, signal, options, { map: (records) => records, close: () => undefined });
  }

  /**
   * The fetch as COPY text for the table, page by page. Pages are parsed and converted by decoder threads
   * where the table allows (not per-parent tables, whose records need their parent), else here as each page
   * arrives: either way a page waiting for the consumer is compact text, not a large graph of parsed records
   * outliving garbage collections.
   */
  fetchCopy(table: TableSchema, plan: FetchPlan, signal: AbortSignal, options: FetchOptions = {}): KeapFetch<CopyChunk> {
    const pool = this.opts.pageDecoders === undefined ? sharedPageDecoders() : this.opts.pageDecoders;
    if (pool && !table.source.perParent && !table.source.single) {
      const pk = table.primaryKey.length === 1 ? table.columns.find((c) => c.name === table.primaryKey[0])?.path : undefined;
      // opened with the first page, so a fetch never iterated holds nothing in a decoder thread
      let decoder: FetchDecoder | undefined;
      let closed = false;
      return this.start(table, plan, signal, options, {
        decode: (bytes) => {
          // a body that arrived after the fetch ended: nobody wants it, and a decoder opened now would never close
          if (closed) return Promise.reject(new SqlError(SQLSTATE.queryCanceled, 'fetch abandoned'));
          return (decoder ??= pool.open(table, table.source.listKey, pk)).decode(bytes);
        },
        map: copyOfStandIns,
        close: () => {
          closed = true;
          decoder?.close();
        },
      });
    }
    const encoder = new CopyRowEncoder(table);
    return this.start(table, plan, signal, options, {
      map: (records) => {
        const before = encoder.rowCount;
        const bytes = Buffer.from(encoder.encode(records), 'utf8');
        return { bytes, rows: encoder.rowCount - before };
      },
      close: () => undefined,
    });
  }

  /**
   * The list request a plan becomes, without sending it: what the API applies (pushed), what the engine alone
   * applies (dropped), the query parameters and page size. EXPLAIN shows it; the cache keys entries by it.
   */
  describe(table: TableSchema, plan: FetchPlan): RequestDescription {
    const r = this.requestPlan(table, plan);
    const parent = table.source.perParent;
    return {
      path: table.source.path,
      query: r.baseQuery,
      pageSize: r.pageSize,
      pushed: r.pushed,
      dropped: r.dropped,
      limitPushed: r.limit !== Infinity,
      perParent: parent ? { table: parent.table, ids: r.pin?.ids } : undefined,
    };
  }

  private requestPlan(table: TableSchema, plan: FetchPlan) {
    const source = table.source;
    const pin = source.perParent ? parentPin(table, plan.conditions) : undefined;
    const encoded = encodeFilter(table, pin ? pin.rest : plan.conditions);
    const pushed = pin ? [...pin.pinned, ...encoded.pushed] : encoded.pushed;
    const dropped = pin ? [...pin.unusable, ...encoded.dropped] : encoded.dropped;

    // LIMIT may go to the API only when the API applies every condition and can order as asked;
    // otherwise the API's first n rows need not be the statement's first n rows. Nor for unnest tables:
    // n parent records may hold fewer than n rows.
    let order: Query | undefined = {};
    let limit = Infinity;
    if (plan.limit !== undefined && dropped.length === 0 && !source.perParent && !source.unnest) {
      order = encodeOrder(table, plan.orderBy);
      if (order) limit = Math.max(0, Math.floor(plan.limit));
    }
    if (limit === Infinity) order = {};
    const budgetRows = Math.min(limit, this.maxRows);
    const baseQuery: Query = { ...(source.query ?? {}), ...encoded.query, ...order };
    if (source.fields && source.fields.length > 0) {
      baseQuery[source.version === 2 ? 'fields' : 'optional_properties'] = source.fields.join(',');
    }
    const pageSize = Math.max(1, Math.min(this.pageSize, source.pageSizeMax, Number.isFinite(budgetRows) ? budgetRows : Infinity));
    return { pin, encoded, pushed, dropped, limit, budgetRows, baseQuery, pageSize };
  }

  private start<T>(table: TableSchema, plan: FetchPlan, signal: AbortSignal, options: FetchOptions, form: PageForm<T>): KeapFetch<T> {
    const source = table.source;
    const { pin, encoded, pushed, dropped, limit, budgetRows, baseQuery, pageSize } = this.requestPlan(table, plan);
    const maxRows = this.maxRows;
    const budget = new RowBudget(budgetRows);
    let more = false;
    let requests = 0;

    const self = this;
    async function* pages(): AsyncGenerator<T> {
      if (budget.exhausted) return; // LIMIT 0
      const controller = new AbortController();
      const queue = new PageQueue<T>(self.concurrency * 2);
      const onAbort = (): void => {
        controller.abort(signal.reason);
        queue.end(cancelledError(signal));
      };
      if (signal.aborted) throw cancelledError(signal);
      signal.addEventListener('abort', onAbort, { once: true });
      const decode = form.decode;
      // requests this fetch sent (EXPLAIN ANALYZE shows them); a request the pager stood down from is none
      const counted = <R>(p: Promise<R>): Promise<R> => p.then((r) => {
        if (r !== SKIPPED) requests++;
        return r;
      }, (err: unknown) => {
        requests++;
        throw err;
      });
      const ctx: PagerContext = {
        http: {
          getJson: (path, query, sig) => counted(self.http.getJsonUnless(path, query, sig, undefined, decode)),
          getJsonUnless: (path, query, sig, skip) => counted(self.http.getJsonUnless(path, query, sig, skip, decode)),
        },
        signal: controller.signal,
        concurrency: self.concurrency,
        budget,
        emit: (records) => (records.length === 0 ? Promise.resolve(true) : queue.push(form.map(records))),
        markMore: () => {
          more = true;
        },
      };
      const run = source.perParent
        ? self.fetchPerParent(ctx, table, baseQuery, pageSize, pin?.ids ?? options.parentIds)
        : self.fetchLists(ctx, table, plan, baseQuery, pageSize, !options.small && self.worthSplitting(budget, pageSize, limit, encoded.pushed));
      run.then(
        () => queue.end(),
        (err: unknown) => {
          controller.abort(err);
          queue.end(signal.aborted ? cancelledError(signal) : err);
        },
      );
      try {
        yield* queue.drain();
      } finally {
        // The consumer finished, failed or went away: nothing of this fetch may stay in flight.
        signal.removeEventListener('abort', onAbort);
        controller.abort(new SqlError(SQLSTATE.queryCanceled, 'fetch abandoned'));
        queue.end();
        form.close();
      }
    }

    const records = pages();
    return {
      records,
      [Symbol.asyncIterator]: () => records,
      truncated: () => more && maxRows <= limit,
      requests: () => requests,
      pushed,
      dropped,
      limitPushed: limit !== Infinity,
    };
  }

  /**
   * Id ranges cost a few speculative requests past the end of the ids: worth it for a scan of many pages, not
   * for a pushed LIMIT, a selective filter (likely one page), or a MaxRows that a few sequential pages reach.
   */
  private worthSplitting(budget: RowBudget, pageSize: number, limit: number, pushed: readonly PushedCondition[]): boolean {
    if (limit !== Infinity || hasSelectiveCondition(pushed)) return false;
    return budget.remaining > pageSize * this.concurrency * 2;
  }

  private async fetchLists(
    ctx: PagerContext,
    table: TableSchema,
    plan: FetchPlan,
    baseQuery: Query,
    pageSize: number,
    mayRangeSplit: boolean,
  ): Promise<void> {
    const source = table.source;
    const paths = [source.path, ...(source.extraPaths ?? [])];
    for (const path of paths) {
      if (ctx.budget.exhausted) return;
      const req: ListRequest = { path, listKey: source.listKey, query: baseQuery, pageSize, ...(source.single ? { single: true } : {}) };
      if (source.unpaged) await fetchUnpaged(ctx, req);
      else if (source.version === 1) await fetchV1Pages(ctx, req);
      else {
        const ranges = mayRangeSplit && path === source.path ? idRangeSplit(table, plan, baseQuery) : undefined;
        // The API's count (where the table has one) tells the range split when it has everything.
        const expectedTotal = ranges && table.source.count ? () => this.count(table, plan, ctx.signal).catch(() => undefined) : undefined;
        if (ranges) await fetchV2IdRanges(ctx, { ...req, ...ranges, expectedTotal });
        else await fetchV2Pages(ctx, req);
      }
    }
  }

  private async fetchPerParent(
    ctx: PagerContext,
    table: TableSchema,
    baseQuery: Query,
    pageSize: number,
    given: Iterable<string | number> | undefined,
  ): Promise<void> {
    const source = table.source;
    const perParent = source.perParent as NonNullable<typeof source.perParent>;
    const parentTable = this.opts.catalog?.tables.get(perParent.table);
    const parentPath = parentTable?.columns.find((c) => c.name === perParent.column)?.path ?? perParent.column;
    let parents: Array<{ id: string; record: unknown }>;
    if (given) {
      parents = [...new Set([...given].map(String))].map((id) => ({ id, record: recordWithPath(parentPath, id) }));
    } else {
      if (!parentTable) {
        throw new SqlError(SQLSTATE.internalError, `cannot fetch ${table.name}: its parent table ${perParent.table} is unknown`);
      }
      parents = [];
      const parentFetch = this.fetch(parentTable, { table: parentTable.name, conditions: [] }, ctx.signal);
      for await (const page of parentFetch) {
        for (const record of page) {
          const id = readPath(record, parentPath);
          if (typeof id === 'string' || typeof id === 'number') parents.push({ id: String(id), record });
        }
      }
    }
    const placeholder = `{${perParent.param}}`;
    await runPool(parents, ctx.concurrency, async (parent) => {
      const path = source.path.split(placeholder).join(encodeURIComponent(parent.id));
      const childCtx: PagerContext = {
        ...ctx,
        emit: (records) => {
          for (const r of records) if (r && typeof r === 'object') (r as Record<string, unknown>).$parent = parent.record;
          return ctx.emit(records);
        },
      };
      const req: ListRequest = { path, listKey: source.listKey, query: baseQuery, pageSize, ...(source.single ? { single: true } : {}) };
      try {
        if (source.unpaged) await fetchUnpaged(childCtx, req);
        else if (source.version === 1) await fetchV1Pages({ ...childCtx, concurrency: 1 }, req);
        else await fetchV2Pages(childCtx, req);
      } catch (e) {
        // a parent named by a condition (WHERE tag_id = 999) that Keap does not know has no children
        if (!(given && e instanceof KeapApiError && e.httpStatus === 404)) throw e;
      }
      return !ctx.budget.exhausted;
    });
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/** A stand-in parent record holding only the pinned value, at its (dot) path: {codes: {alpha3: 'CAN'}}. */
function recordWithPath(path: string, value: string): Record<string, unknown> {
  const keys = path.split('.');
  const record: Record<string, unknown> = {};
  let at = record;
  for (const k of keys.slice(0, -1)) at = (at[k] = {}) as Record<string, unknown>;
  at[keys[keys.length - 1]!] = value;
  return record;
}

/** The text of the NOTICE a session sends when MaxRows cut a table short. */
export function truncationNotice(table: string, maxRows: number): string {
  return `table "${table}" was truncated at ${maxRows} rows (MaxRows=${maxRows}); the result may be incomplete`;
}

function hasSelectiveCondition(pushed: readonly PushedCondition[]): boolean {
  return pushed.some((c) => c.op === '=' || c.op === 'in' || c.op === 'prefix' || c.op === 'isnull');
}

/**
 * Per-parent tables: conditions on the column whose filter parameter is the path placeholder (e.g. tag_id
 * for /v2/tags/{tag_id}/contacts) choose the parents. Unusable values leave every parent in play.
 */
function parentPin(
  table: TableSchema,
  conditions: readonly PushedCondition[],
): { ids?: string[]; pinned: PushedCondition[]; unusable: PushedCondition[]; rest: PushedCondition[] } {
  const param = table.source.perParent?.param;
  // The schema names it as the placeholder, with or without braces ("{tag_id}").
  const pinFilter = table.filters.find((f) => f.param === param || f.param === `{${param}}`);
  if (!pinFilter) return { pinned: [], unusable: [], rest: [...conditions] };
  const rest: PushedCondition[] = [];
  const unusable: PushedCondition[] = [];
  let best: { ids: string[]; cond: PushedCondition } | undefined;
  for (const cond of conditions) {
    // The placeholder column is never a query parameter: its conditions pin parents or stay with the engine.
    if (cond.column !== pinFilter.column) {
      rest.push(cond);
      continue;
    }
    const ids = (cond.op === '=' || cond.op === 'in') && pinFilter.ops.includes(cond.op) ? pinIds(pinFilter, cond) : undefined;
    if (ids && (!best || ids.length < best.ids.length)) {
      if (best) unusable.push(best.cond);
      best = { ids, cond };
    } else unusable.push(cond);
  }
  return { ids: best?.ids, pinned: best ? [best.cond] : [], unusable, rest };
}

function pinIds(filter: PushableFilter, cond: PushedCondition): string[] | undefined {
  const values = cond.op === 'in' ? (cond.values ?? []) : [cond.value ?? null];
  const ids: string[] = [];
  for (const v of values) {
    if (v === null) continue; // matches nothing
    const text = encodeValue({ ...filter, format: filter.format ?? 'id' }, v, 2, 'list');
    if (text === undefined) return undefined;
    ids.push(text);
  }
  return ids;
}

/** How to page a v2 table by id ranges, when its filter and ordering allow it. */
function idRangeSplit(table: TableSchema, plan: FetchPlan, baseQuery: Query) {
  if (table.primaryKey.length !== 1) return undefined;
  const pk = table.primaryKey[0] as string;
  const lowFilter = filterFor(table, pk, '>=');
  const highFilter = filterFor(table, pk, '<');
  const pkPath = table.columns.find((c) => c.name === pk)?.path;
  const ascending = encodeOrder(table, { column: pk, direction: 'asc' });
  if (!lowFilter || !highFilter || !pkPath || !ascending || lowFilter.format !== 'id' || highFilter.format !== 'id') return undefined;
  // The statement's own bounds on the key are folded into every range, so no range reaches outside them.
  const others = plan.conditions.filter((c) => !(c.column === pk && ['<', '<=', '>', '>='].includes(c.op)));
  let floor: bigint | undefined;
  let ceiling: bigint | undefined;
  for (const c of plan.conditions) {
    if (c.column !== pk || c.value === undefined || c.value === null) continue;
    const text = String(c.value);
    if (!/^-?\d{1,19}$/.test(text)) continue; // not an integer: the engine applies it
    const v = BigInt(text);
    if (c.op === '>' || c.op === '>=') {
      const lo = c.op === '>' ? v + 1n : v;
      floor = floor === undefined || lo > floor ? lo : floor;
    } else if (c.op === '<' || c.op === '<=') {
      const hi = c.op === '<=' ? v + 1n : v;
      ceiling = ceiling === undefined || hi < ceiling ? hi : ceiling;
    }
  }
  const withIds = (low: bigint | undefined, high: bigint | undefined): Query => {
    const bounds: PushedCondition[] = [];
    const lo = low === undefined ? floor : floor === undefined || low > floor ? low : floor;
    if (lo !== undefined) bounds.push({ column: pk, op: '>=', value: (lo < 0n ? 0n : lo).toString() });
    const hi = high === undefined ? ceiling : ceiling === undefined || high < ceiling ? high : ceiling;
    if (hi !== undefined) bounds.push({ column: pk, op: '<', value: (hi < 0n ? 0n : hi).toString() });
    const encoded = encodeFilter(table, [...bounds, ...others]);
    const query: Query = { ...baseQuery };
    delete query.filter;
    return { ...query, ...encoded.query };
  };
  return {
    ascendingQuery(low: bigint | undefined): Query {
      return { ...withIds(low, undefined), ...ascending };
    },
    rangeQuery(low: bigint, high: bigint): Query | undefined {
      if (ceiling !== undefined && low >= ceiling) return undefined;
      return withIds(low, high);
    },
    idOf(record: unknown): bigint | undefined {
      const v = readPath(record, pkPath);
      const text = typeof v === 'number' ? String(v) : v;
      return typeof text === 'string' && /^\d{1,19}$/.test(text) ? BigInt(text) : undefined;
    },
  };
}


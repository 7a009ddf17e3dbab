// The shared cache of one served database (one Keap account): every session's fetches go through it.
// An entry holds the rows Keap returned for one table and one set of conditions Keap applied; a full entry
// (no conditions) answers any query on its table, a filtered one the queries whose conditions include its
// own. The engine still evaluates every statement, so a cached answer equals an uncached one.
//
// Freshness: an entry older than the tolerance is synchronised before use — by the records changed since
// its last synchronisation where Keap filters by update time (with Keap's count to notice deletions, then
// a sweep of ids), else by fetching it again. Either way the new version's changed keys are remembered, so
// engines holding the old version load only those rows.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { SqlError, SQLSTATE } from '../errors.js';
import type { CopyChunk, KeapConnector, RequestDescription } from '../keap/connector.js';
import { readPath } from '../keap/read-path.js';
import type { FetchPlan, PushedCondition } from '../planner/types.js';
import type { TableSchema } from '../schema/types.js';
import { CacheEntry } from './entry.js';
import type { CacheFiles } from './cache-files.js';
import { Flight } from './flight.js';
import type { CacheBackplane, RemoteHead } from './backplane.js';
import { TableRows } from './table-rows.js';

export interface SharedCacheOptions {
  connector: KeapConnector;
  /** an entry older than this is synchronised before use (0: before every use) */
  toleranceMs: number;
  /** bytes of rows the cache may hold; least recently used entries go first */
  maxBytes?: number;
  /** never call Keap: entries of any age answer, tables not cached are empty */
  offline?: boolean;
  files?: CacheFiles;
  logger: Logger;
  /** subtracted from the last synchronisation's start when asking Keap for changes (clock skew, late index) */
  overlapMs?: number;
  /** a filtered query is fetched on its own rather than answered from a full entry of more rows than this */
  largeEntryRows?: number;
  /** CacheConnection: entries shared with other instances (what one fetched serves all; one synchronises) */
  backplane?: CacheBackplane;
  now?: () => number;
}

/** How a table reference will be answered, decided without any call. */
export type CacheMode = 'hit' | 'refresh by changes' | 'full refetch' | 'fetch' | 'offline, not cached';

export interface CachePlan {
  request: RequestDescription;
  mode: CacheMode;
  entry?: CacheEntry;
  /** CacheConnection: the stored entry is looked at first (another instance may hold it, or a fresher one) */
  shared?: boolean;
}

/** What a synchronisation cost (EXPLAIN ANALYZE). */
export interface SyncCost {
  calls: number;
  rows: number;
  bytes: number;
  ms: number;
}

export type Synced =
  | { kind: 'entry'; entry: CacheEntry; cost: SyncCost }
  /** a cold fetch: its pages as they arrive, and the entry it becomes */
  | { kind: 'flight'; pages: AsyncIterable<CopyChunk>; done: Promise<{ entry?: CacheEntry; truncated: boolean }>; cost: () => SyncCost }
  | { kind: 'offline-miss' };

export interface CacheEntryInfo {
  table: string;
  conditions: string;
  rows: number;
  bytes: number;
  version: number;
  syncedAt: Date;
  hits: number;
  truncated: boolean;
}

const DEFAULT_OVERLAP_MS = 120_000;

export class SharedCache {
  private readonly o: SharedCacheOptions;
  private readonly entries = new Map<string, CacheEntry>();
  /** key → the cold fetch under way */
  private readonly flights = new Map<string, { flight: Flight; done: Promise<{ entry?: CacheEntry; truncated: boolean }>; calls: () => number; started: number }>();
  /** entry id → the synchronisation under way */
  private readonly syncing = new Map<number, Promise<SyncCost>>();
  /** entry id → writes (src/writes) made while its synchronisation ran */
  private readonly writesDuringSync = new Map<number, Array<{ lines: readonly string[]; deleted: readonly string[] }>>();
  /** key → this instance's turn at a shared entry (waiting for the other instances, pulling, synchronising) */
  private readonly sharedTurns = new Map<string, Promise<SyncCost>>();
  /** this instance's changes to shared entries, in order: a later look at an entry sees them stored */
  private remoteQueue: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(o: SharedCacheOptions, tables: ReadonlyMap<string, TableSchema>) {
    this.o = o;
    this.now = o.now ?? Date.now;
    for (const s of o.files?.readAll() ?? []) {
      const table = tables.get(s.table);
      if (!table || !s.key.startsWith(shapeKey(table))) continue; // written for other columns (custom fields changed)
      const rows = new TableRows(table);
      rows.upsertText(s.rows);
      const e = new CacheEntry(s.table, s.key, s.pushed, s.limited, rows, s.truncated, s.syncedAt);
      e.hits = s.hits;
      this.entries.set(s.key, e);
    }
  }

  get offline(): boolean {
    return this.o.offline === true;
  }

  /** How `plan` would be answered now, without calling Keap (EXPLAIN). */
  plan(table: TableSchema, plan: FetchPlan): CachePlan {
    const request = this.o.connector.describe(table, plan);
    const entry = this.containing(table, request, plan);
    if (this.offline) return { request, entry, mode: entry ? 'hit' : 'offline, not cached' };
    const shared = this.o.backplane !== undefined;
    if (!entry) return { request, mode: 'fetch', shared };
    if (this.fresh(entry)) return { request, entry, mode: 'hit', shared };
    return { request, entry, mode: this.changesPlan(table, entry) ? 'refresh by changes' : 'full refetch', shared };
  }

  /** The full entry of a table when the cache has one (any age). */
  fullEntry(table: TableSchema): CacheEntry | undefined {
    const e = this.entries.get(entryKey(table, [], false));
    return e && e.full ? e : undefined;
  }

  /**
   * The rows for `plan`, fresh within the tolerance: a cached entry (synchronised first when stale), or a
   * fetch from Keap that every session asking for the same rows meanwhile shares.
   */
  async sync(table: TableSchema, plan: FetchPlan, signal: AbortSignal): Promise<Synced> {
    const request = this.o.connector.describe(table, plan);
    const entry = this.containing(table, request, plan);
    if (this.offline) return entry ? this.use(entry, zeroCost()) : { kind: 'offline-miss' };
    if (this.o.backplane) return this.syncShared(this.o.backplane, table, plan, request, entry, signal);
    if (entry) {
      if (this.fresh(entry)) return this.use(entry, zeroCost());
      const cost = await this.refresh(table, entry, signal);
      return this.use(entry, cost);
    }
    return this.join(table, plan, request, signal);
  }

  /**
   * With other instances (CacheConnection): the stored entry decides. This instance's copy is used when it is
   * the stored version and fresh; a newer stored version is caught up with by its changed rows; a stale or
   * missing one is synchronised (or fetched) by one instance at a time, the others then read its result.
   */
  private async syncShared(bp: CacheBackplane, table: TableSchema, plan: FetchPlan, request: RequestDescription, local: CacheEntry | undefined, signal: AbortSignal): Promise<Synced> {
    let key = local?.key ?? entryKey(table, request.pushed, request.limitPushed, plan);
    if (this.flights.has(key)) return this.join(table, plan, request, signal);
    let turn = this.sharedTurns.get(key);
    if (!turn) {
      await this.remoteQueue;
      let head: RemoteHead | undefined;
      try {
        // nothing here yet for a filtered query: the stored whole table answers it as a local one would
        const fullKey = !local && request.pushed.length > 0 && !request.limitPushed ? entryKey(table, [], false) : undefined;
        const heads = await bp.heads(fullKey ? [key, fullKey] : [key]);
        head = heads.get(key);
        const full = fullKey ? heads.get(fullKey) : undefined;
        if (!head && full && !full.truncated && this.wholeAnswers(table, request, full.rows)) {
          key = fullKey!;
          head = full;
          plan = { table: table.name, conditions: [] };
          request = this.o.connector.describe(table, plan);
          turn = this.sharedTurns.get(key);
        }
      } catch (err) {
        // the shared PostgreSQL is down: what this instance holds still answers within the tolerance
        if (local && this.fresh(local)) {
          this.o.logger.warn({ table: table.name, err: err instanceof Error ? err.message : String(err) }, 'shared cache unreachable: answering from this instance\'s copy');
          return this.use(local, zeroCost());
        }
        throw err;
      }
      if (local && head && sameVersion(local, head) && this.fresh(local)) return this.use(local, zeroCost());
      if (!turn) {
        const mine = this.sharedTurn(bp, table, plan, request, key, head);
        const k = key;
        this.sharedTurns.set(k, mine);
        void mine.catch(() => undefined).finally(() => { if (this.sharedTurns.get(k) === mine) this.sharedTurns.delete(k); });
        turn = mine;
      }
    }
    const cost = await abortable(turn, signal);
    if (this.flights.has(key)) return this.join(table, plan, request, signal);
    const entry = this.entries.get(key);
    if (!entry) throw new SqlError(SQLSTATE.internalError, `the shared cache entry of ${table.name} vanished while it was read`);
    return this.use(entry, cost);
  }

  private async sharedTurn(bp: CacheBackplane, table: TableSchema, plan: FetchPlan, request: RequestDescription, key: string, seen: RemoteHead | undefined): Promise<SyncCost> {
    // a newer version someone stored and still fresh: this instance's copy catches up by it, no lock needed
    if (seen && this.freshAt(seen.syncedAt)) {
      await this.pull(bp, table, request, key);
      return zeroCost();
    }
    const release = await bp.lock(key, AbortSignal.timeout(30 * 60_000));
    let handedOn = false;
    try {
      const head = (await bp.heads([key])).get(key);
      let local = this.entries.get(key);
      if (head && (!local || !sameVersion(local, head))) local = await this.pull(bp, table, request, key);
      if (head && local && this.freshAt(head.syncedAt)) return zeroCost(); // another instance synchronised it meanwhile
      if (!head && local && this.fresh(local)) {
        await this.publish(bp, local, undefined, undefined); // held here before the others shared it
        return zeroCost();
      }
      if (local) {
        const before = local.version;
        const base = local.remote;
        const cost = await this.refresh(table, local, AbortSignal.timeout(30 * 60_000));
        await this.publish(bp, local, before, base);
        return cost;
      }
      // cold everywhere: this instance fetches, its sessions read the pages as they come; stored when complete
      const f = this.startFlight(table, plan, request, key);
      handedOn = true;
      void f.done
        .then(async (r) => { if (r.entry) await this.publish(bp, r.entry, undefined, undefined); })
        .catch((err: unknown) => this.o.logger.warn({ table: table.name, err: err instanceof Error ? err.message : String(err) }, 'a fetched table was not stored in the shared cache'))
        .finally(() => void release());
      return zeroCost();
    } finally {
      if (!handedOn) await release();
    }
  }

  /** Brings this instance's copy of `key` to the stored version: by the rows changed since its own, or whole. */
  private async pull(bp: CacheBackplane, table: TableSchema, request: RequestDescription, key: string): Promise<CacheEntry | undefined> {
    let entry = this.entries.get(key);
    const r = await bp.rows(key, entry?.rows.keyed ? entry.remote : undefined);
    if (!r) return entry;
    if (entry && !r.whole) {
      const changed: string[] = [];
      for (const line of r.lines) entry.rows.upsertLine(line, changed);
      const removed = r.deleted.filter((k) => entry!.rows.delete(k));
      entry.truncated = r.truncated;
      entry.advance([...new Set(changed)], removed, r.syncedAt);
    } else {
      const rows = new TableRows(table);
      for (const line of r.lines) rows.upsertLine(line);
      if (entry) entry.replaceRows(rows, r.truncated, r.syncedAt);
      else {
        entry = new CacheEntry(table.name, key, request.pushed, request.limitPushed, rows, r.truncated, r.syncedAt);
        this.entries.set(key, entry);
      }
    }
    entry.remote = { id: r.id, version: r.version };
    this.persist(entry);
    this.evict();
    return entry;
  }

  /** Stores what this instance made of an entry: the rows changed since `before` on `base`, or every row. */
  private async publish(bp: CacheBackplane, entry: CacheEntry, before: number | undefined, base: { id: number; version: number } | undefined): Promise<void> {
    const changes = before !== undefined && base && entry.rows.keyed ? entry.changesSince(before) : undefined;
    const keys = changes ? [...changes.changed] : [...entry.rows.keys()];
    const changed: Array<readonly [string, string]> = [];
    for (const k of keys) {
      const line = entry.rows.get(k);
      if (line !== undefined) changed.push([k, line]);
    }
    const head = await bp.publish({
      table: entry.table, key: entry.key, pushed: entry.pushed, limited: entry.limited, truncated: entry.truncated, syncedAt: entry.syncedAt, rows: entry.rows.count,
      changed, deleted: changes ? [...changes.deleted] : [], base: changes ? base : undefined,
    });
    entry.remote = { id: head.id, version: head.version };
  }

  /** Queues a change to the stored entries; a failure is logged (the stored entry then ages out). */
  private remote(what: string, f: (bp: CacheBackplane) => Promise<void>): void {
    const bp = this.o.backplane;
    if (!bp) return;
    this.remoteQueue = this.remoteQueue.then(() => f(bp)).catch((err: unknown) => {
      this.o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, `the shared cache was not told of ${what}`);
    });
  }

  /** Makes `entry` fresh (single-flight per entry); the previous version stays whole if it fails. */
  private refresh(table: TableSchema, entry: CacheEntry, signal: AbortSignal): Promise<SyncCost> {
    let running = this.syncing.get(entry.id);
    if (!running) {
      // Every session waiting for it may cancel; the synchronisation itself ends only on its own terms.
      running = this.synchronise(table, entry).finally(() => {
        this.syncing.delete(entry.id);
        // writes made while Keap was read may be missing from (or older in) what was read: applied again on top
        const writes = this.writesDuringSync.get(entry.id);
        this.writesDuringSync.delete(entry.id);
        for (const w of writes ?? []) this.applyToEntry(entry, w.lines, w.deleted);
      });
      this.syncing.set(entry.id, running);
    }
    return abortable(running, signal);
  }

  private async synchronise(table: TableSchema, entry: CacheEntry): Promise<SyncCost> {
    const started = this.now();
    const t0 = performance.now();
    const cost = { calls: 0, rows: 0, bytes: 0, ms: 0 };
    const signal = AbortSignal.timeout(30 * 60_000);
    const changes = this.changesPlan(table, entry);
    if (changes) {
      const ok = await this.syncChanges(table, entry, changes, started, signal, cost);
      if (!ok) await this.refetch(table, entry, started, signal, cost);
    } else {
      await this.refetch(table, entry, started, signal, cost);
    }
    cost.ms = performance.now() - t0;
    this.o.logger.debug({ table: table.name, version: entry.version, rows: entry.rows.count, calls: cost.calls, changes: changes !== undefined, ms: Math.round(cost.ms) }, 'cache entry synchronised');
    this.persist(entry);
    this.evict();
    return cost;
  }

  /**
   * The records changed since the last synchronisation, merged by key; then Keap's count: fewer records than
   * the entry holds means deletions, found by a sweep of ids. False when the result cannot be trusted (more
   * records at Keap than in the entry: a change was missed) and the entry must be fetched again.
   */
  private async syncChanges(table: TableSchema, entry: CacheEntry, column: string, started: number, signal: AbortSignal, cost: SyncCost): Promise<boolean> {
    const since = new Date(entry.syncedAt - (this.o.overlapMs ?? DEFAULT_OVERLAP_MS)).toISOString();
    const plan: FetchPlan = { table: table.name, conditions: [{ column, op: '>=', value: since }] };
    const countPromise = this.o.connector.count(table, { table: table.name, conditions: [] }, signal);
    countPromise.catch(() => undefined);
    const fetch = this.o.connector.fetchCopy(table, plan, signal, { small: true });
    const rows = entry.rows;
    const lines: string[] = [];
    for await (const page of fetch.records) {
      cost.rows += page.rows;
      cost.bytes += page.bytes.length;
      forEachLine(page.bytes.toString('utf8'), (line) => lines.push(line));
    }
    const total = await countPromise;
    cost.calls += fetch.requests() + 1;
    if (fetch.truncated() || total === undefined) return false;
    const keys = new Set(rows.keys());
    for (const line of lines) keys.add(rows.keyOf(line));
    // Every record created or changed since is among the lines: more keys than Keap counts are deletions.
    let deleted: string[] = [];
    if (keys.size > total) {
      const swept = await this.sweepIds(table, signal, cost);
      if (swept === undefined) return false;
      deleted = [...keys].filter((k) => !swept.has(k));
    }
    if (keys.size - deleted.length < total) return false; // Keap has records the changes did not bring
    // Applied at once, with no await between: every reader sees the old version or the new one.
    const changed: string[] = [];
    for (const line of lines) rows.upsertLine(line, changed);
    for (const k of deleted) rows.delete(k);
    entry.advance([...new Set(changed)], deleted, started);
    return true;
  }

  /** Every id at Keap, fetching only the key (v2 `fields`); undefined when the table cannot do it. */
  private async sweepIds(table: TableSchema, signal: AbortSignal, cost: SyncCost): Promise<Set<string> | undefined> {
    if (table.primaryKey.length !== 1) return undefined;
    const pk = table.columns.find((c) => c.name === table.primaryKey[0]);
    if (!pk || (pk.type !== 'bigint' && pk.type !== 'integer')) return undefined;
    const idsOnly: TableSchema = { ...table, source: { ...table.source, fields: table.source.version === 2 ? [pk.path] : undefined } };
    const fetch = this.o.connector.fetch(idsOnly, { table: table.name, conditions: [] }, signal);
    const ids = new Set<string>();
    for await (const page of fetch.records) {
      for (const r of page) {
        const v = readPath(r, pk.path);
        if (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))) ids.add(String(BigInt(v)));
      }
    }
    cost.calls += fetch.requests();
    return fetch.truncated() ? undefined : ids;
  }

  /** The entry's request again, whole; the difference becomes the new version. */
  private async refetch(table: TableSchema, entry: CacheEntry, started: number, signal: AbortSignal, cost: SyncCost): Promise<void> {
    const fetch = this.o.connector.fetchCopy(table, { table: table.name, conditions: [...entry.pushed] }, signal);
    const next = new TableRows(table);
    for await (const page of fetch.records) {
      cost.rows += page.rows;
      cost.bytes += page.bytes.length;
      next.upsertText(page.bytes.toString('utf8'));
    }
    cost.calls += fetch.requests();
    entry.replaceRows(next, fetch.truncated(), started);
  }

  /** A cold fetch: one per key at a time, its pages shared by every session that asks meanwhile. */
  private join(table: TableSchema, plan: FetchPlan, request: RequestDescription, signal: AbortSignal): Synced {
    const key = entryKey(table, request.pushed, request.limitPushed, plan);
    const f = this.flights.get(key) ?? this.startFlight(table, plan, request, key);
    const { flight, done, calls, started } = f;
    let rows = 0;
    let bytes = 0;
    async function* pages(): AsyncGenerator<CopyChunk> {
      for await (const page of flight.read(signal)) {
        rows += page.rows;
        bytes += page.bytes.length;
        yield page;
      }
    }
    return {
      kind: 'flight',
      pages: pages(),
      done: done.then((r) => {
        if (r.entry) r.entry.hits++;
        return r;
      }),
      cost: () => ({ calls: calls(), rows, bytes, ms: performance.now() - started }),
    };
  }

  private startFlight(table: TableSchema, plan: FetchPlan, request: RequestDescription, key: string): { flight: Flight; done: Promise<{ entry?: CacheEntry; truncated: boolean }>; calls: () => number; started: number } {
    const flight = new Flight();
    const started = this.now();
    const fetch = this.o.connector.fetchCopy(table, plan, flight.signal);
    const done = (async () => {
      const rows = new TableRows(table);
      try {
        for await (const page of fetch.records) {
          rows.upsertText(page.bytes.toString('utf8'));
          flight.push(page);
        }
      } catch (err) {
        flight.finish(err);
        return { truncated: false };
      } finally {
        this.flights.delete(key);
      }
      const entry = new CacheEntry(table.name, key, request.pushed, request.limitPushed, rows, fetch.truncated(), started);
      this.entries.set(key, entry);
      flight.finish();
      this.persist(entry);
      this.evict();
      return { entry, truncated: entry.truncated };
    })();
    const f = { flight, done, calls: () => fetch.requests(), started: performance.now() };
    this.flights.set(key, f);
    return f;
  }

  private use(entry: CacheEntry, cost: SyncCost): Synced {
    entry.hits++;
    entry.lastUsed = this.now();
    return { kind: 'entry', entry, cost };
  }

  private fresh(entry: CacheEntry): boolean {
    return this.freshAt(entry.syncedAt);
  }

  private freshAt(syncedAt: number): boolean {
    return this.now() - syncedAt < this.o.toleranceMs;
  }

  /** The column to ask Keap for changes by, when the entry can be refreshed that way. */
  private changesPlan(table: TableSchema, entry: CacheEntry): string | undefined {
    const column = table.source.changedSince;
    if (!column || !entry.full || !table.source.count || table.source.unnest || table.source.perParent) return undefined;
    const probe = this.o.connector.describe(table, { table: table.name, conditions: [{ column, op: '>=', value: new Date(0).toISOString() }] });
    return probe.pushed.length === 1 ? column : undefined;
  }

  /**
   * The smallest entry whose rows include every row `request` asks for: the same request, or one whose
   * conditions are a subset of the request's (so it holds a superset of rows). A large full entry does not
   * answer a selective query the engine has not loaded: one call is cheaper than loading every row.
   */
  private containing(table: TableSchema, request: RequestDescription, plan: FetchPlan): CacheEntry | undefined {
    const exact = this.entries.get(entryKey(table, request.pushed, request.limitPushed, plan));
    if (exact && !exact.truncated) return exact;
    const wanted = new Set(request.pushed.map(conditionKey));
    const shape = shapeKey(table);
    let best: CacheEntry | undefined;
    for (const e of this.entries.values()) {
      if (e.table !== table.name || e.limited || e.truncated || !e.key.startsWith(shape)) continue;
      if (!e.pushed.every((c) => wanted.has(conditionKey(c)))) continue;
      if (!best || e.rows.count < best.rows.count) best = e;
    }
    if (best && best.pushed.length === 0 && !this.offline && !this.wholeAnswers(table, request, best.rows.count)) return undefined;
    return best ?? (exact && this.offline ? exact : undefined);
  }

  /** Whether a whole table of `rows` rows should answer `request`: a selective query on a large one is fetched on its own. */
  private wholeAnswers(table: TableSchema, request: RequestDescription, rows: number): boolean {
    if (request.pushed.length === 0 || rows <= (this.o.largeEntryRows ?? 20_000)) return true;
    const selective = request.pushed.some((c) => c.op === '=' || c.op === 'in' || c.op === 'prefix');
    return !selective || pinsKey(table, request.pushed);
  }

  /**
   * The whole-table entries sessions used lately, most recent first, up to `maxBytes` of rows: what an engine
   * kept for the next sessions is worth holding (loading a table takes seconds; a query over it, milliseconds).
   */
  workingSet(withinMs: number, maxBytes: number): CacheEntry[] {
    const since = this.now() - withinMs;
    const out: CacheEntry[] = [];
    let bytes = 0;
    for (const e of [...this.entries.values()].filter((x) => x.full && x.lastUsed >= since).sort((a, b) => b.lastUsed - a.lastUsed)) {
      if (bytes + e.bytes > maxBytes) continue;
      bytes += e.bytes;
      out.push(e);
    }
    return out;
  }

  /**
   * What a write made Keap hold (src/writes): rows by COPY line and deleted keys. A full entry of the table takes
   * them as a new version (engines holding it catch up by those rows); entries of some rows are dropped, since a
   * changed row may now belong to one they lack. Returns the full entry and its version before, when there is one.
   */
  applyWrite(table: TableSchema, lines: readonly string[], deleted: readonly string[]): { entry: CacheEntry; before: number } | undefined {
    let full: { entry: CacheEntry; before: number } | undefined;
    const shape = shapeKey(table);
    for (const [key, e] of this.entries) {
      if (e.table !== table.name) continue;
      if (e.full && key.startsWith(shape) && key === entryKey(table, [], false)) {
        const before = e.version;
        const base = e.remote;
        this.applyToEntry(e, lines, deleted);
        this.remote('a write', (bp) => this.publish(bp, e, before, base));
        if (this.syncing.has(e.id)) {
          let w = this.writesDuringSync.get(e.id);
          if (!w) this.writesDuringSync.set(e.id, (w = []));
          w.push({ lines, deleted });
        }
        full = { entry: e, before };
        continue;
      }
      // an entry of some keys (id = 5, id IN (…)) still holds exactly its keys' rows
      const pinned = !e.limited && e.pushed.every((c) => c.column === table.primaryKey[0]) ? pinnedKeys(table, e.pushed) : undefined;
      if (pinned && key.startsWith(shape)) {
        const keys = new Set(pinned);
        const before = e.version;
        const base = e.remote;
        const changed: string[] = [];
        for (const line of lines) if (keys.has(e.rows.keyOf(line))) e.rows.upsertLine(line, changed);
        const removed = deleted.filter((k) => e.rows.delete(k));
        e.advance([...new Set(changed)], removed, e.syncedAt);
        this.persist(e);
        if (e.version !== before) this.remote('a write', (bp) => this.publish(bp, e, before, base));
        continue;
      }
      this.entries.delete(key);
      void this.o.files?.remove(key);
      this.remote('a write', (bp) => bp.remove([key]));
    }
    return full;
  }

  private applyToEntry(e: CacheEntry, lines: readonly string[], deleted: readonly string[]): void {
    const changed: string[] = [];
    for (const line of lines) e.rows.upsertLine(line, changed);
    const removed = deleted.filter((k) => e.rows.delete(k));
    e.advance([...new Set(changed)], removed, e.syncedAt);
    this.persist(e);
  }

  /** Makes every entry of a table stale: the next use synchronises it (by changes where the table can). */
  expire(table: TableSchema): void {
    // earlier than the tolerance allows, never later than it was: changes are then asked since no later than before
    const stale = this.now() - this.o.toleranceMs - 1;
    for (const e of this.entries.values()) if (e.table === table.name) e.syncedAt = Math.min(e.syncedAt, stale);
    // and the stored entries, which other instances' copies follow
    this.remote('a change at Keap', (bp) => bp.expire(table.name, this.o.toleranceMs + 1000));
  }

  /** The entries, for the keapgres_cache view. */
  list(): CacheEntryInfo[] {
    return [...this.entries.values()].map((e) => ({
      table: e.table,
      conditions: e.pushed.map(describeCondition).join(' AND ') + (e.limited ? ' (ordered, limited)' : ''),
      rows: e.rows.count,
      bytes: e.bytes,
      version: e.version,
      syncedAt: new Date(e.syncedAt),
      hits: e.hits,
      truncated: e.truncated,
    }));
  }

  /** Empties the cache, or one table's entries; returns how many entries went. */
  clear(table?: string): number {
    let n = 0;
    for (const [key, e] of this.entries) {
      if (table !== undefined && e.table !== table) continue;
      this.entries.delete(key);
      void this.o.files?.remove(key);
      n++;
    }
    this.remote('a cleared entry', (bp) => bp.clear(table));
    return n;
  }

  /** Resolves when the cache files are written (tests, shutdown). */
  async flush(): Promise<void> {
    await this.remoteQueue;
    await this.o.files?.flush();
  }

  private persist(entry: CacheEntry): void {
    if (!this.o.files || this.entries.get(entry.key) !== entry) return;
    void this.o.files.write({
      table: entry.table, key: entry.key, pushed: [...entry.pushed], limited: entry.limited, truncated: entry.truncated,
      version: entry.version, syncedAt: entry.syncedAt, hits: entry.hits, rows: entry.rows.text(),
    });
  }

  private evict(): void {
    const max = this.o.maxBytes;
    if (max === undefined) return;
    let total = 0;
    for (const e of this.entries.values()) total += e.bytes;
    if (total <= max) return;
    const byAge = [...this.entries.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of byAge) {
      if (total <= max) break;
      if (this.syncing.has(e.id)) continue;
      this.entries.delete(e.key);
      void this.o.files?.remove(e.key);
      total -= e.bytes;
      this.o.logger.debug({ table: e.table, bytes: e.bytes }, 'cache entry evicted');
    }
  }
}

/** Entries are keyed by the table's columns (custom fields change them), the pushed conditions and any pushed LIMIT. */
export function entryKey(table: TableSchema, pushed: readonly PushedCondition[], limited: boolean, plan?: FetchPlan): string {
  const conds = pushed.map(conditionKey).sort();
  return shapeKey(table) + JSON.stringify([conds, limited && plan ? [plan.limit ?? null, plan.orderBy ?? null] : null]);
}

/** The table and a digest of its columns: rows of another column list (custom fields changed) never match. */
function shapeKey(table: TableSchema): string {
  const digest = createHash('sha256').update(table.columns.map((c) => `${c.name}/${c.type}/${c.path}`).join(',')).digest('hex').slice(0, 16);
  return `${table.name}:${digest}|`;
}

function conditionKey(c: PushedCondition): string {
  return JSON.stringify([c.column, c.op, c.value ?? null, c.values ?? null]);
}

function describeCondition(c: PushedCondition): string {
  if (c.op === 'in') return `${c.column} IN (${(c.values ?? []).map(String).join(', ')})`;
  if (c.op === 'isnull') return `${c.column} IS NULL`;
  if (c.op === 'prefix') return `${c.column} LIKE '${String(c.value)}%'`;
  return `${c.column} ${c.op} ${String(c.value)}`;
}

/** Conditions that pick rows by the primary key: the loader takes just those rows from a full entry. */
export function pinnedKeys(table: TableSchema, pushed: readonly PushedCondition[]): string[] | undefined {
  if (table.primaryKey.length !== 1) return undefined;
  const pk = table.primaryKey[0];
  const col = table.columns.find((c) => c.name === pk);
  if (!col || (col.type !== 'bigint' && col.type !== 'integer')) return undefined;
  let keys: string[] | undefined;
  for (const c of pushed) {
    if (c.column !== pk || (c.op !== '=' && c.op !== 'in')) continue;
    const values = c.op === 'in' ? (c.values ?? []) : [c.value ?? null];
    const ids = values.filter((v) => v !== null).map(String);
    if (!ids.every((v) => /^(0|[1-9]\d*)$/.test(v))) return undefined;
    keys = keys ? keys.filter((k) => ids.includes(k)) : ids;
  }
  return keys;
}

function pinsKey(table: TableSchema, pushed: readonly PushedCondition[]): boolean {
  return pinnedKeys(table, pushed) !== undefined;
}

/** `e` holds the stored version, and the stored entry was not made stale since (a write's expiry elsewhere) */
function sameVersion(e: CacheEntry, head: RemoteHead): boolean {
  return e.remote !== undefined && e.remote.id === head.id && e.remote.version === head.version && head.syncedAt >= e.syncedAt;
}

function zeroCost(): SyncCost {
  return { calls: 0, rows: 0, bytes: 0, ms: 0 };
}

function forEachLine(text: string, f: (line: string) => void): void {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) f(text.slice(start, end));
    start = end + 1;
  }
}

/** Waits for `p`, or rejects when `signal` aborts first (p goes on for the others waiting on it). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason ?? new SqlError(SQLSTATE.queryCanceled, 'canceling statement due to user request'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason ?? new SqlError(SQLSTATE.queryCanceled, 'canceling statement due to user request'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

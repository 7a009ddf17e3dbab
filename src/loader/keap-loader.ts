// The Keap side of a session: before a batch runs, plan which Keap rows it needs, fetch them
// through the connector and COPY them into the session's engine. Pushdown only narrows what is
// fetched; the engine evaluates the statement over whatever was loaded, so every fetch must be a
// superset of the rows the statement needs.
import type { Logger } from 'pino';
import { SqlError } from '../errors.js';
import type { EngineInstance } from '../engine/instance.js';
import { planSql, mergeBatchPlans, type FetchPlan, type PlannerContext } from '../planner/index.js';
import type { WriteTarget } from '../planner/types.js';
import { executeWrite, fieldsQuery, type WriteResult } from '../writes/keap-writer.js';
import { applyInTransaction, armed, disarm, prepareStaging, stageAndArm, type StagedStatement, type StatementFailure } from '../writes/engine-rows.js';
import { checkWriteAllowed } from '../writes/write-guards.js';
import { callsKeapActions, runKeapActions, type OAuthApp } from '../writes/keap-actions.js';
import { CopyRowEncoder } from '../schema/rows.js';
import { splitSimple } from '../session/protocol-state.js';
import { applySessionDefinitions, sessionDefinitions, type SessionDefinitionState } from '../planner/session-definitions.js';
import { copyStatement } from '../schema/rows.js';
import { qualifiedName, quoteIdent, quoteLiteral } from '../schema/ddl.js';
import type { Catalog, TableSchema } from '../schema/types.js';
import type { KeapConnector } from '../keap/connector.js';
import type { BatchPreparer, BatchWork, PrepareOutcome } from '../session/session.js';
import { parseSqlCached } from '../planner/parse-cache.js';
import { streamableScan, type StreamableScan } from './streamed-scan.js';
import type { ResultStream } from '../session/result-stream.js';
import type { ErrorFields } from '../wire/backend-messages.js';
import { SharedCache, pinnedKeys, type Synced, type SyncCost } from '../cache/shared-cache.js';
import type { CopyChunk } from '../keap/connector.js';
import { applyChanges, emptyForNextSession, emptyTable, heldTables, readCounters, satisfies, type HeldPart, type HeldTable, vacuumTable } from './engine-contents.js';
import { explainLines, explainedStatement, type TableReport } from './explain-lines.js';
import { cacheFunctionCalls, cacheViewRowsSql } from './cache-functions.js';
import { listingVariant } from '../schema/listing-variant.js';
import { readsOnlyColumns } from '../planner/column-reads.js';
import { beginsReadOnly, defaultReadOnly, childContents, childName, dedupeChild, dropsTemporaryTables, emptyChildren, ensureChildren, forgetChildren, hasChildren, holdsAnyVersion } from './read-only-transaction.js';

export interface KeapSource {
  catalog: Catalog;
  connector: KeapConnector;
  /** MaxRows of the connection, for the truncation notice (-1: none) */
  maxRows: number;
  /**
   * The database's shared cache. Without one (AutoCache=false) each session keeps its own, for `freshMs`, and
   * hands its engine on empty.
   */
  cache?: SharedCache;
  /** how long loaded rows count as fresh without a shared cache, in ms */
  freshMs: number;
  /** whether engines handed on may keep whole cached tables (the pool keeps loaded engines); default true */
  keepsLoaded?: boolean;
  /** ReadOnly=true: every write to a Keap table is refused (25006) */
  readOnly?: boolean;
  /** the connection's OAuth app, for keap.getoauthauthorizationurl() and the other OAuth procedures */
  oauthApp?: OAuthApp;
  /** re-reads the account's custom fields: the new catalog and the DDL that turns `from` into it */
  refreshSchema?: (from: Catalog) => Promise<{ catalog: Catalog; ddl: string }>;
}

/** Tables used this recently are loaded into engines kept for the next sessions (topUp). */
const TOP_UP_WITHIN_MS = 10 * 60_000;
/** At most this much of them per engine: each kept engine holds its own copy. */
const TOP_UP_MAX_BYTES = 256 * 1024 * 1024;

/** Keap calls of one write in flight at once (the pacer keeps them within Keap's rate limit). */
const WRITE_CONCURRENCY = 8;

/** The write statements of a batch. */
interface WriteUnits {
  /** pgjdbc's BEGIN (autocommit off), sent in the batch just before the writes */
  pipelinedBegin?: { readOnly: boolean };
  units: Array<{ statement: BatchWork['statements'][number]; target: WriteTarget; table: TableSchema }>;
}

/** One table's writes in a batch, for the cache: the entry and version the engine's table is at while it follows. */
interface WriteChain {
  table: TableSchema;
  entry?: HeldPart['entry'];
  version?: number;
  follows: boolean;
  changed: boolean;
}

/** Rows per COPY call: big enough to amortise the round trip to the engine, small enough to stream. */
const COPY_CHUNK_BYTES = 2 * 1024 * 1024;

/** One table's needs in a batch: the plans, and what the cache answered for each. */
interface TableWork {
  table: TableSchema;
  plans: FetchPlan[];
  synced: Synced[];
  report: TableReport;
}

export class KeapSessionLoader implements BatchPreparer {
  private readonly source: KeapSource;
  /** the tables as this session's engine has them */
  private catalog: Catalog;
  private readonly logger: Logger;
  /** the shared cache, or this session's own (AutoCache=false) */
  private readonly cache: SharedCache;
  private readonly shared: boolean;
  private readonly definitions: Required<SessionDefinitionState> = { preparedStatements: new Map(), views: new Map(), functions: new Map() };

  constructor(source: KeapSource, logger: Logger) {
    this.source = source;
    this.catalog = source.catalog;
    this.logger = logger;
    this.shared = source.cache !== undefined;
    this.cache = source.cache ?? new SharedCache({ connector: source.connector, toleranceMs: source.freshMs, logger }, source.catalog.tables);
  }

  engineReplaced(): void {
    // the new engine's contents are its own (held with it)
  }

  /**
   * Readies the engine for the next session of this database: the Keap tables it keeps are whole cache entries
   * the session did not write to; every other Keap table is emptied. False: do not reuse the engine.
   */
  async handOver(engine: EngineInstance, o: { topUp: boolean } = { topUp: false }): Promise<'kept' | 'empty' | false> {
    await this.finishWrite(engine, heldTables(engine));
    forgetChildren(engine); // the pool's DISCARD ALL drops them
    const held = heldTables(engine);
    const keeps = this.shared && this.source.keepsLoaded !== false && this.catalog === this.source.catalog;
    if (held.size === 0 && !(keeps && o.topUp)) return 'empty';
    await engine.query('ROLLBACK').catch(() => undefined);
    const counters = await readCounters(engine, [...held.keys()]);
    const emptied: TableSchema[] = [];
    for (const [name, h] of held) {
      const table = this.catalog.tables.get(name);
      if (!table) return false;
      const keep = keeps && !h.dirty && !h.inTransaction && h.parts.length === 1
        && h.parts[0]!.entry.full && !h.parts[0]!.keys && counters.get(name) === h.counters;
      if (keep) continue;
      emptied.push(table);
      held.delete(name);
    }
    if (held.size > 0 || emptied.length > 0) {
      await emptyForNextSession(engine, held.size > 0 ? emptied : [...this.catalog.tables.values()], [...this.catalog.tables.values()]);
    }
    // while no one waits: hint bits and the visibility map set, statistics for the planner; otherwise the next
    // session's first scan writes every page of the table
    for (const [name, h] of held) {
      if (h.vacuumed) continue;
      await vacuumTable(engine, this.catalog.tables.get(name)!, true);
      h.vacuumed = true;
    }
    if (keeps && o.topUp) await this.topUp(engine, held);
    return held.size > 0 ? 'kept' : 'empty';
  }

  /**
   * Loads into an engine that stays loaded for the next sessions the whole tables other sessions used lately
   * and it lacks: a dashboard's cards, each in its own session, then find every table they read in whichever
   * engine they get.
   */
  private async topUp(engine: EngineInstance, held: Map<string, HeldTable>): Promise<void> {
    const added = new Map<string, HeldTable>();
    for (const entry of this.cache.workingSet(TOP_UP_WITHIN_MS, TOP_UP_MAX_BYTES)) {
      const table = this.catalog.tables.get(entry.table);
      if (!table || held.has(table.name)) continue;
      // a snapshot: the entry may move on while the COPYs run
      const version = entry.version;
      const blobs = [...entry.rows.blobs()];
      const h: HeldTable = { parts: [{ entry, version }], inTransaction: false, dirty: true };
      held.set(table.name, h);
      const copySql = copyStatement(table);
      for (const b of blobs) await engine.query(copySql, b.bytes);
      await vacuumTable(engine, table, true);
      h.vacuumed = true;
      h.dirty = false;
      added.set(table.name, h);
    }
    if (added.size === 0) return;
    await this.recordCounters(engine, added);
    this.logger.debug({ tables: [...added.keys()] }, 'topped up a handed-on engine');
  }

  async prepare(work: BatchWork, engine: EngineInstance, signal: AbortSignal): Promise<PrepareOutcome> {
    const held = heldTables(engine);
    if (work.txStatus !== 'E') await this.finishWrite(engine, held);
    if (work.txStatus === 'I') {
      // rows loaded inside a transaction that has ended may have been rolled back with it
      for (const h of held.values()) if (h.inTransaction) h.dirty = true;
    }
    if (this.source.refreshSchema && work.statements.some((s) => /keapgres_refresh_schema\s*\(/i.test(s.sql))) {
      await this.refreshSchema(engine);
    }
    const notices: ErrorFields[] = [];
    await this.cacheFunctions(work, engine, notices);
    if (work.txStatus === 'I') {
      await emptyChildren(engine);
      if (dropsTemporaryTables(work.statements)) forgetChildren(engine);
      else if (await beginsReadOnly(engine, work.statements)) {
        const mode = (await defaultReadOnly(engine)) ? await writableDefault(engine) : undefined;
        try {
          await ensureChildren(engine, this.catalog);
        } finally {
          await mode?.restore();
        }
      }
    }
    const ctx: PlannerContext = {
      catalog: this.catalog,
      searchPath: ['"$user"', 'public'],
      preparedStatements: this.definitions.preparedStatements,
      views: this.definitions.views,
      functions: this.definitions.functions,
    };
    const plans = [];
    // EXPLAIN without ANALYZE runs nothing: its Keap requests are described, not made
    const explained: FetchPlan[] = [];
    let explain: ReturnType<typeof explainedStatement>;
    for (const s of work.statements) {
      const p = await planSql(s.sql, s.params, ctx);
      const e = work.statements.length === 1 ? explainedStatement(s.sql) : undefined;
      explain = e;
      if (e && !e.analyze) explained.push(...p.fetches);
      else plans.push(p);
      applySessionDefinitions(this.definitions, sessionDefinitions(s.sql));
    }
    const plan = mergeBatchPlans(plans);
    if (plan.rejection) {
      const r = plan.rejection;
      throw new SqlError(r.sqlstate, r.message, { detail: r.detail, hint: r.hint });
    }
    if (explain && !explain.analyze) {
      const sqls = work.statements.map((s) => s.sql);
      const reports = explained.map((f) => {
        const table = this.catalog.tables.get(f.table)!;
        return this.describe(f, held, this.throughListing(table, explained.filter((x) => x.table === f.table), sqls));
      });
      return { notices, explain: explain.text ? explainLines(reports, false) : undefined };
    }
    if (plan.writes?.length && work.txStatus !== 'E') {
      return this.prepareWrite(work, engine, plan.fetches, await this.writeUnits(work, plans, plan.writes, ctx), held, notices, signal);
    }
    if (work.txStatus !== 'E' && work.statements.some((s) => callsKeapActions(s.sql))) return this.prepareActions(work, engine, plan.fetches, held, notices, signal);
    const count = await this.apiCount(work, plan.fetches, held, signal);
    if (count) return { notices, answer: count };
    if (plan.fetches.length === 0) return { notices };
    if (work.txStatus === 'E') return { notices }; // the statement fails in the engine anyway

    const byTable = new Map<string, TableWork>();
    for (const f of plan.fetches) {
      const table = this.catalog.tables.get(f.table);
      if (!table) continue;
      let w = byTable.get(table.name);
      if (!w) byTable.set(table.name, (w = { table, plans: [], synced: [], report: this.describe(f, held) }));
      w.plans.push(f);
    }
    // A per-parent table the statements read only listing columns of is read through that listing.
    for (const w of byTable.values()) {
      const variant = this.throughListing(w.table, w.plans, work.statements.map((s) => s.sql));
      if (variant) {
        w.table = variant;
        w.report = this.describe(w.plans[0]!, held, variant);
      }
    }
    // Each table's rows from the cache (synchronised when stale) or from Keap, all tables at once.
    await Promise.all([...byTable.values()].map(async (w) => {
      // An engine holding a table whole answers any query on it: keep that entry fresh instead.
      const whole = held.get(w.table.name);
      const wholePart = whole && !whole.dirty && whole.parts.length === 1 && whole.parts[0]!.entry.full && !whole.parts[0]!.keys ? whole.parts[0]! : undefined;
      const wanted = wholePart && this.cache.fullEntry(w.table) === wholePart.entry ? [{ table: w.table.name, conditions: [] }] : w.plans;
      w.synced = await Promise.all(wanted.map((f) => this.cache.sync(w.table, f, signal)));
      if (wanted !== w.plans) w.plans = wanted;
    }));
    for (const w of byTable.values()) {
      if (w.synced.some((x) => x.kind === 'offline-miss')) notices.push(offlineNotice(w.table.name));
    }

    // A session whose transactions default to read-only (SET SESSION CHARACTERISTICS, default_transaction_read_only)
    // refuses the loader's writes even outside a transaction: they run with the default off, put back after.
    const readOnlyDefault = work.txStatus === 'I' && (await defaultReadOnly(engine));
    const single = byTable.size === 1 ? [...byTable.values()][0]! : undefined;
    if (work.stream && !readOnlyDefault && single && single.synced.length === 1 && single.synced[0]!.kind !== 'offline-miss' && !satisfies(held.get(single.table.name), this.needsOf(single, held))) {
      const scan = await this.streamable(engine, work.statements[0]!.sql, single.table, held);
      if (scan) {
        const { truncated, streamFailed } = await this.loadTable(engine, single, held, signal, { scan, out: work.stream });
        if (streamFailed) return { notices, streamed: 'failed' };
        if (truncated) notices.push(this.truncationNotice(single.table.name));
        return { notices, streamed: 'done' };
      }
    }

    const mode = work.txStatus === 'T' ? await this.prepareTransaction(engine, work.restartable)
      : readOnlyDefault ? await writableDefault(engine) : { restore: async () => undefined, inTransaction: false };
    let wrote = false;
    try {
      for (const w of byTable.values()) {
        if (mode.intoChildren) {
          if ((await this.loadIntoChild(engine, w, held, signal)).truncated) notices.push(this.truncationNotice(w.table.name));
          continue;
        }
        const { truncated, loaded } = await this.loadTable(engine, w, held, signal, undefined, mode.inTransaction);
        wrote ||= loaded;
        if (truncated) notices.push(this.truncationNotice(w.table.name));
      }
    } finally {
      await mode.restore();
    }
    if (wrote && !mode.inTransaction) await this.recordCounters(engine, held);
    if (explain?.analyze && explain.text) return { notices, explain: explainLines([...byTable.values()].map((w) => w.report), true) };
    return { notices };
  }

  /**
   * The writes of a batch, in order, after the BEGIN pgjdbc pipelines before them (autocommit off). A batch may hold
   * several writes to Keap tables (pgjdbc's executeBatch, or a Query of several statements), each made, counted and
   * reported in turn; anything else beside a write is refused.
   */
  private async writeUnits(work: BatchWork, plans: ReadonlyArray<{ writes?: WriteTarget[] }>, writes: readonly WriteTarget[], ctx: PlannerContext): Promise<WriteUnits> {
    const split = work.statements.some((s) => splitSimple(s.sql).length > 1);
    const flat = split ? work.statements.flatMap((s) => splitSimple(s.sql).map((sql) => ({ sql, params: s.params }))) : work.statements;
    let lead = 0;
    while (lead < flat.length - 1 && /^\s*(begin|start\s+transaction)\b/i.test(flat[lead]!.sql)) lead++;
    const begins = flat.slice(0, lead);
    const statements = flat.slice(lead);
    const targets = split
      ? await Promise.all(statements.map(async (s) => (await planSql(s.sql, s.params, ctx)).writes ?? []))
      : plans.slice(lead).map((p) => p.writes ?? []);
    if (targets.length !== statements.length || targets.some((t) => t.length !== 1)) {
      const table = writes[0]!.table;
      throw new SqlError('0A000', `a write to Keap table "${table}" must be sent as a statement of its own`, {
        detail: 'Each write to Keap is made, counted and reported by itself; a batch may hold several such writes, but nothing else.',
        hint: 'Send the write alone (one statement per Query, or one Bind/Execute per Sync), or in a batch of writes only.',
      });
    }
    return {
      pipelinedBegin: begins.length ? { readOnly: begins.some((s) => /\bread\s+only\b/i.test(s.sql)) } : undefined,
      units: statements.map((statement, i) => ({ statement, target: targets[i]![0]!, table: this.catalog.tables.get(targets[i]![0]!.table)! })),
    };
  }

  /**
   * Statements that write to Keap tables (src/writes): refused where Keap writes may not run, else the rows they
   * read are loaded, the engine decides which rows each touches, Keap is called, and the cache and the engine take
   * Keap's rows — through the client's statements themselves (armed), or directly when a write failed part-way.
   */
  private async prepareWrite(work: BatchWork, engine: EngineInstance, fetches: FetchPlan[], w: WriteUnits, held: Map<string, HeldTable>, notices: ErrorFields[], signal: AbortSignal): Promise<PrepareOutcome> {
    const { pipelinedBegin, units } = w;
    const inTransaction = work.txStatus === 'T';
    await checkWriteAllowed(engine, units[0]!.table.name, pipelinedBegin ? 'T' : work.txStatus, this.source.readOnly === true, pipelinedBegin?.readOnly === true);
    await this.loadForStatement(engine, fetches, held, notices, signal, inTransaction);
    const chains = new Map<string, WriteChain>();
    if (units.length === 1) {
      const { table, target, statement } = units[0]!;
      const result = await executeWrite({
        engine, connector: this.source.connector, table, target, statement, inTransaction, prestage: true, parent: this.parentOf(table), signal, concurrency: WRITE_CONCURRENCY,
      });
      this.cacheTakes(result, held, chains);
      if (result.error) return this.writeFailed(engine, result, held, chains, inTransaction);
      const armStart = performance.now();
      if ((await result.staging) !== undefined) await prepareStaging(engine, [table]);
      await stageAndArm(engine, [result.staged]);
      this.afterWrites(held, chains, inTransaction || pipelinedBegin !== undefined);
      this.logger.debug({ table: table.name, op: target.op, calls: result.calls, rows: result.changes.lines.length + result.changes.deleted.length, ms: { ...result.ms, arm: Math.round(performance.now() - armStart) } }, 'wrote to Keap');
      return { notices: notices.concat(result.notices) };
    }
    // Several writes: each statement's rows are decided over what the statements before it left, so the engine
    // takes each one's Keap rows inside a transaction that is rolled back once all are decided; the client's batch
    // then makes the same changes by itself, each statement taking its own staged rows.
    await prepareStaging(engine, [...new Set(units.map((u) => u.table))]);
    await engine.query(inTransaction ? 'SAVEPOINT keapgres_w_batch' : 'BEGIN');
    const staged: StagedStatement[] = [];
    let failure: { at: number; error: StatementFailure } | undefined;
    let firstFailed: WriteResult | undefined;
    try {
      for (const [i, unit] of units.entries()) {
        const { table, target, statement } = unit;
        let result: WriteResult;
        try {
          result = await executeWrite({
            engine, connector: this.source.connector, table, target, statement, inTransaction: true, prestage: false, parent: this.parentOf(table), signal, concurrency: WRITE_CONCURRENCY,
          });
        } catch (err) {
          // nothing of this statement reached Keap; the ones before it did
          if (i === 0) throw err;
          failure = { at: i, error: batchFailure(err, i, units.length) };
          staged.push(emptyStaged(unit));
          break;
        }
        this.cacheTakes(result, held, chains);
        notices.push(...result.notices);
        if (result.error) {
          if (i === 0) { firstFailed = result; break; }
          failure = { at: i, error: batchFailure(result.error, i, units.length) };
          staged.push(emptyStaged(unit));
          break;
        }
        staged.push(result.staged);
        if (i < units.length - 1) await applyInTransaction(engine, table, result.changes.lines, result.changes.deleted);
        this.logger.debug({ table: table.name, op: target.op, statement: i + 1, calls: result.calls, rows: result.changes.lines.length + result.changes.deleted.length, ms: result.ms }, 'wrote to Keap');
      }
    } finally {
      await engine.query(inTransaction ? 'ROLLBACK TO SAVEPOINT keapgres_w_batch; RELEASE SAVEPOINT keapgres_w_batch' : 'ROLLBACK').catch(() => undefined);
    }
    if (firstFailed) return this.writeFailed(engine, firstFailed, held, chains, inTransaction);
    // A later statement failed: the ones before it run, then it raises its error, so the engine's transaction
    // rolls them back and the tables are reloaded before their next use (the cache has Keap's rows).
    await stageAndArm(engine, staged, failure);
    if (failure) for (const c of chains.values()) c.follows = false;
    this.afterWrites(held, chains, inTransaction || pipelinedBegin !== undefined);
    return { notices };
  }

  /** The cache takes what one statement wrote; `chains` follows whether the engine's tables stay at the cache's version. */
  private cacheTakes(result: WriteResult, held: Map<string, HeldTable>, chains: Map<string, WriteChain>): void {
    const table = result.staged.table;
    const { lines, deleted } = result.changes;
    const changed = lines.length > 0 || deleted.length > 0;
    let chain = chains.get(table.name);
    if (!chain) {
      const h = held.get(table.name);
      const part = h && !h.dirty && h.parts.length === 1 && !h.parts[0]!.keys ? h.parts[0]! : undefined;
      chains.set(table.name, (chain = { table, entry: part?.entry, version: part?.version, follows: part !== undefined, changed: false }));
    }
    if (!changed) return;
    chain.changed = true;
    const full = this.cache.applyWrite(table, lines, deleted);
    // The engine's table takes the very change the cache's full entry took: it stays at that entry's version.
    if (result.engineFollows && full && chain.follows && chain.entry === full.entry && chain.version === full.before) chain.version = full.entry.version;
    else chain.follows = false;
    // a row of a list inside a parent (a contact's email, an order's item) changed the parent too (its update time, an
    // order's totals): the cache takes the parent as Keap answered it (engines holding it catch up from the cache);
    // when it could not be had, the next read of the parent's table synchronises it
    const parentTable = this.parentOf(table);
    if (parentTable && result.parentLines) this.cache.applyWrite(parentTable, result.parentLines, []);
    else if (parentTable) this.cache.expire(parentTable);
    // a per-parent table another listing carries (contact_tags in contacts.tag_ids): that listing's rows changed too
    const listing = table.source.viaListing ? this.catalog.tables.get(table.source.viaListing.table) : undefined;
    if (listing) this.cache.expire(listing);
  }

  /** The table whose records carry this one's rows as a list (contacts for contact_email_addresses, orders for order_items). */
  private parentOf(table: TableSchema): TableSchema | undefined {
    return table.source.unnest ? [...this.catalog.tables.values()].find((t) => t.source.path === table.source.path && !t.source.unnest) : undefined;
  }

  /** The first write failed part-way: the engine takes what Keap wrote directly, and the statement fails with the error. */
  private async writeFailed(engine: EngineInstance, result: WriteResult, held: Map<string, HeldTable>, chains: Map<string, WriteChain>, inTransaction: boolean): Promise<never> {
    const table = result.staged.table;
    const { lines, deleted } = result.changes;
    if ((lines.length > 0 || deleted.length > 0) && !inTransaction) {
      await applyChanges(engine, table, copyStatement(table), [{ bytes: Buffer.from(lines.join('\n') + (lines.length ? '\n' : ''), 'utf8') }].filter((b) => b.bytes.length > 0), deleted);
      await this.recordCounters(engine, held);
    }
    this.afterWrites(held, chains, inTransaction);
    throw result.error!;
  }

  /** What the engine's tables hold after writes: the full entries' new versions, or rows to reload before use. */
  private afterWrites(held: Map<string, HeldTable>, chains: Map<string, WriteChain>, inTransaction: boolean): void {
    for (const c of chains.values()) if (c.changed) this.afterWrite(c.table, held, c.follows ? c.version : undefined, inTransaction);
  }

  /** Loads a write's or an action's rows (no streaming, no API count): the engine then runs the statement over them. */
  private async loadForStatement(engine: EngineInstance, fetches: FetchPlan[], held: Map<string, HeldTable>, notices: ErrorFields[], signal: AbortSignal, inTransaction: boolean): Promise<void> {
    const byTable = new Map<string, TableWork>();
    for (const f of fetches) {
      const t = this.catalog.tables.get(f.table);
      if (!t) continue;
      let w = byTable.get(t.name);
      if (!w) byTable.set(t.name, (w = { table: t, plans: [], synced: [], report: this.describe(f, held) }));
      w.plans.push(f);
    }
    for (const w of byTable.values()) {
      const whole = held.get(w.table.name);
      const wholePart = whole && !whole.dirty && whole.parts.length === 1 && whole.parts[0]!.entry.full && !whole.parts[0]!.keys ? whole.parts[0]! : undefined;
      const wanted = wholePart && this.cache.fullEntry(w.table) === wholePart.entry ? [{ table: w.table.name, conditions: [] }] : w.plans;
      w.synced = await Promise.all(wanted.map((f) => this.cache.sync(w.table, f, signal)));
      if (wanted !== w.plans) w.plans = wanted;
      if ((await this.loadTable(engine, w, held, signal, undefined, inTransaction)).truncated) notices.push(this.truncationNotice(w.table.name));
    }
  }

  /**
   * A statement calling keap.* functions (src/writes/keap-actions.ts): refused where Keap writes may not run, else its
   * rows are loaded, the calls found and made, and their answers staged for the statement's real run.
   */
  private async prepareActions(work: BatchWork, engine: EngineInstance, fetches: FetchPlan[], held: Map<string, HeldTable>, notices: ErrorFields[], signal: AbortSignal): Promise<PrepareOutcome> {
    const statement = work.statements[work.statements.length - 1]!;
    if (work.statements.length > 1 || splitSimple(statement.sql).length > 1) {
      throw new SqlError('0A000', 'a call of a keap.* function must be sent as a statement of its own', { hint: 'Send it alone (one statement per Query, or one Bind/Execute per Sync).' });
    }
    const inTransaction = work.txStatus === 'T';
    await checkWriteAllowed(engine, 'keap', work.txStatus, this.source.readOnly === true);
    await this.loadForStatement(engine, fetches, held, notices, signal, inTransaction);
    const outcome = await runKeapActions(engine, this.source.connector, statement, inTransaction, signal, this.source.oauthApp);
    const tasks = this.catalog.tables.get('tasks');
    if (tasks && outcome.taskRecords.length) {
      const encoder = new CopyRowEncoder(tasks);
      const lines = outcome.taskRecords.map((r) => encoder.encodeRecord(r).replace(/\n$/, '')).filter((l) => l !== '');
      const full = this.cache.applyWrite(tasks, lines, []);
      const h = held.get(tasks.name);
      const part = h && !h.dirty && h.parts.length === 1 ? h.parts[0]! : undefined;
      const follows = full && part && part.entry === full.entry && !part.keys && part.version === full.before;
      if (!inTransaction && h) {
        await applyChanges(engine, tasks, copyStatement(tasks), [{ bytes: Buffer.from(lines.join('\n') + '\n', 'utf8') }], []);
        await this.recordCounters(engine, held);
        this.afterWrite(tasks, held, follows ? full!.entry.version : undefined, false);
      } else if (h) h.dirty = true;
    }
    if (outcome.contactIds.length) await this.takeContacts([...new Set(outcome.contactIds)], signal);
    this.logger.debug({ calls: outcome.calls }, 'keap actions');
    return { notices };
  }

  /**
   * Contacts a Keap action changed (an email opted in or out): each is read back by id, and the cache takes it and
   * its email, phone and address rows, so no listing is fetched again. When one cannot be read, the tables are
   * synchronised at their next use instead.
   */
  private async takeContacts(ids: readonly string[], signal: AbortSignal): Promise<void> {
    const contacts = this.catalog.tables.get('contacts');
    if (!contacts) return;
    const lists = [...this.catalog.tables.values()].filter((t) => this.parentOf(t) === contacts);
    const records: unknown[] = [];
    try {
      for (const id of ids) {
        const res = await this.source.connector.send('GET', `${contacts.source.path}/${encodeURIComponent(id)}`, fieldsQuery(contacts), undefined, signal, true);
        if (res.status < 200 || res.status >= 300 || !res.body || typeof res.body !== 'object') throw new Error(`HTTP ${res.status}`);
        records.push(res.body);
      }
    } catch {
      for (const t of [contacts, ...lists]) this.cache.expire(t);
      return;
    }
    for (const t of [contacts, ...lists]) {
      const encoder = new CopyRowEncoder(t);
      const lines = records.flatMap((r) => encoder.encodeRecord(r).split('\n').filter((l) => l !== ''));
      this.cache.applyWrite(t, lines, []);
    }
  }

  /** What the engine's table holds after a write: the full entry's new version, or rows to reload before use. */
  private afterWrite(table: TableSchema, held: Map<string, HeldTable>, version: number | undefined, inTransaction: boolean): void {
    const h = held.get(table.name);
    if (h && version !== undefined) {
      h.parts[0]!.version = version;
      h.inTransaction ||= inTransaction;
      h.vacuumed = false;
    } else if (h) h.dirty = true;
    else held.set(table.name, { parts: [], inTransaction, dirty: true });
  }

  /** Before the next batch: the apply trigger of the last write goes; a statement that failed in the engine leaves its table to reload. */
  private async finishWrite(engine: EngineInstance, held: Map<string, HeldTable>): Promise<void> {
    if (!armed(engine)) return;
    const t0 = performance.now();
    const done = await disarm(engine, this.catalog.tables);
    if (!done) return;
    for (const d of done) {
      const h = held.get(d.table);
      if (h && !d.complete) h.dirty = true;
    }
    await this.recordCounters(engine, held);
    this.logger.debug({ tables: done, ms: Math.round(performance.now() - t0) }, 'write disarmed');
  }

  /** The parts a table's work needs once synchronised (a full entry serves pinned keys alone when not held whole). */
  private needsOf(w: TableWork, held: Map<string, HeldTable>): HeldPart[] {
    // One part per entry: several references to a table the same entry answers (`(SELECT … WHERE id = 61)`,
    // `(SELECT … WHERE id = 62)` from one full entry) need the union of their keys, or every row when one of them
    // pins none. (Kept apart, the load used the first reference's keys for both: key 62 was never loaded.)
    const out = new Map<HeldPart['entry'], HeldPart>();
    const h = held.get(w.table.name);
    w.synced.forEach((x, i) => {
      if (x.kind !== 'entry') return;
      const e = x.entry;
      const heldWhole = h && !h.dirty && h.parts.some((p) => p.entry === e && !p.keys);
      const keys = e.full && !heldWhole ? pinnedKeys(w.table, this.source.connector.describe(w.table, w.plans[i]!).pushed) : undefined;
      const part = out.get(e);
      if (!part) out.set(e, { entry: e, version: e.version, keys: keys ? new Set(keys) : undefined });
      else if (!keys) part.keys = undefined;
      else if (part.keys) for (const k of keys) part.keys.add(k);
    });
    return [...out.values()];
  }

  /**
   * Makes the engine's table hold what the work needs: nothing to do when it holds it already; the changed
   * rows when it holds an older version of the same whole entry; else the table is emptied and loaded.
   */
  private async loadTable(
    engine: EngineInstance, w: TableWork, held: Map<string, HeldTable>, signal: AbortSignal,
    stream?: { scan: StreamableScan; out: ResultStream }, inTransaction = false,
  ): Promise<{ truncated: boolean; streamFailed: boolean; loaded: boolean }> {
    const { table } = w;
    const t0 = performance.now();
    const finish = (r: { truncated: boolean; streamFailed: boolean; loaded: boolean }) => {
      reportCosts(w, t0);
      return r;
    };
    const h = held.get(table.name);
    const flights = w.synced.filter((x) => x.kind === 'flight');
    const needs = this.needsOf(w, held);
    if (flights.length === 0) {
      if (needs.length === 0) return finish({ truncated: false, streamFailed: false, loaded: false });
      if (satisfies(h, needs)) {
        w.report.engine = 'held';
        return finish({ truncated: needs.some((n) => n.entry.truncated), streamFailed: false, loaded: false });
      }
      // the same whole entry, an older version: only what changed
      const only = needs.length === 1 ? needs[0]! : undefined;
      const part = h && !h.dirty && h.parts.length === 1 ? h.parts[0]! : undefined;
      if (only && part && !only.keys && !part.keys && part.entry === only.entry && !stream) {
        const changes = only.entry.changesSince(part.version);
        if (changes) {
          await applyChanges(engine, table, copyStatement(table), only.entry.rows.blobs(changes.changed), [...changes.deleted]);
          part.version = only.entry.version;
          h!.inTransaction ||= inTransaction;
          h!.vacuumed = false;
          w.report.engine = `caught up (${changes.changed.size} changed, ${changes.deleted.size} deleted rows)`;
          return finish({ truncated: only.entry.truncated, streamFailed: false, loaded: true });
        }
      }
    }
    // Emptied and loaded: from the cache's rows, or from Keap as the pages arrive.
    if (h) await emptyTable(engine, table);
    const next: HeldTable = { parts: [], inTransaction, dirty: true };
    held.set(table.name, next);
    let truncated = false;
    let first = true;
    const sources: string[] = [];
    const loadedEntries = new Set<HeldPart['entry']>();
    for (const x of w.synced) {
      if (x.kind === 'offline-miss') continue;
      // an entry several references share is loaded once, with all their keys (needsOf)
      if (x.kind === 'entry' && loadedEntries.has(x.entry)) continue;
      if (x.kind === 'entry') loadedEntries.add(x.entry);
      sources.push(x.kind === 'entry' ? 'cache' : 'keap');
      let pages: AsyncIterable<CopyChunk> | Iterable<CopyChunk>;
      if (x.kind === 'entry') {
        const need = needs.find((n) => n.entry === x.entry)!;
        pages = x.entry.rows.blobs(need.keys);
      } else pages = x.pages;
      const r = await this.copyPages(engine, table, pages, signal, { merge: !first, stream: first ? stream : undefined, shared: x.kind === 'flight' });
      first = false;
      if (r.streamFailed) return finish({ truncated, streamFailed: true, loaded: true });
      if (x.kind === 'entry') {
        const need = needs.find((n) => n.entry === x.entry)!;
        next.parts.push(need);
        truncated ||= x.entry.truncated;
      } else {
        const done = await x.done;
        if (!done.entry) throw new SqlError('XX000', `the fetch of ${table.name} ended without rows`);
        next.parts.push({ entry: done.entry, version: done.entry.version });
        truncated ||= done.truncated;
      }
    }
    next.dirty = false;
    w.report.engine = 'loaded';
    this.logger.debug({ table: table.name, parts: next.parts.length, from: sources, streamed: stream !== undefined, ms: Math.round(performance.now() - t0) }, 'loaded');
    return finish({ truncated, streamFailed: false, loaded: true });
  }

  /**
   * Inside a read-only transaction that cannot be restarted: the rows go to the table's temporary child
   * (read-only-transaction.ts), unless the table or its child holds them already, at whatever version —
   * the transaction keeps the view it began with.
   */
  private async loadIntoChild(engine: EngineInstance, w: TableWork, held: Map<string, HeldTable>, signal: AbortSignal): Promise<{ truncated: boolean }> {
    const { table } = w;
    const t0 = performance.now();
    const child = childContents(engine, table)!;
    const parent = held.get(table.name);
    const needs = this.needsOf(w, held);
    const flights = w.synced.filter((x) => x.kind === 'flight');
    if (flights.length === 0 && (holdsAnyVersion(parent, needs) || holdsAnyVersion(child, needs))) {
      w.report.engine = 'held';
      reportCosts(w, t0);
      return { truncated: needs.some((n) => n.entry.truncated) };
    }
    child.dirty = true;
    let truncated = false;
    const loadedEntries = new Set<HeldPart['entry']>();
    for (const x of w.synced) {
      if (x.kind === 'offline-miss') continue;
      if (x.kind === 'entry') {
        if (loadedEntries.has(x.entry)) continue;
        loadedEntries.add(x.entry);
        const need = needs.find((n) => n.entry === x.entry)!;
        await this.copyPages(engine, table, x.entry.rows.blobs(need.keys), signal, { into: childName(table) });
        child.parts.push(need);
        truncated ||= x.entry.truncated;
      } else {
        await this.copyPages(engine, table, x.pages, signal, { into: childName(table), shared: true });
        const done = await x.done;
        if (!done.entry) throw new SqlError('XX000', `the fetch of ${table.name} ended without rows`);
        child.parts.push({ entry: done.entry, version: done.entry.version });
        truncated ||= done.truncated;
      }
    }
    await dedupeChild(engine, table, parent !== undefined);
    child.dirty = false;
    w.report.engine = 'loaded into the read-only transaction';
    reportCosts(w, t0);
    this.logger.debug({ table: table.name, parts: child.parts.length, ms: Math.round(performance.now() - t0) }, 'loaded into the transaction');
    return { truncated };
  }

  /** After keapgres's own writes: the counters a later hand-over compares against. */
  private async recordCounters(engine: EngineInstance, held: Map<string, HeldTable>): Promise<void> {
    const counters = await readCounters(engine, [...held.keys()]);
    for (const [name, h] of held) h.counters = counters.get(name);
  }

  /** How a table reference would be answered now (EXPLAIN), without any call. */
  /**
   * The table as read through another table's listing (schema/listing-variant.ts), when that costs what the
   * listing costs instead of a call per parent: the plans pin no parents, and the statements provably read
   * only columns the listing gives.
   */
  private throughListing(table: TableSchema, plans: readonly FetchPlan[], sqls: readonly string[]): TableSchema | undefined {
    const via = table.source.viaListing;
    const variant = via ? listingVariant(this.catalog, table) : undefined;
    if (!via || !variant) return undefined;
    if (this.definitions.views.size > 0 || this.definitions.functions.size > 0) return undefined;
    if (plans.some((p) => this.source.connector.describe(table, p).perParent?.ids !== undefined)) return undefined;
    if (!readsOnlyColumns(sqls, table.name, table.columns.map((c) => c.name), new Set(Object.keys(via.columns)))) return undefined;
    return variant;
  }

  private describe(f: FetchPlan, held: Map<string, HeldTable>, as?: TableSchema): TableReport {
    const table = as ?? this.catalog.tables.get(f.table)!;
    const p = this.cache.plan(table, f);
    const h = held.get(table.name);
    const inEngine = p.entry && h && !h.dirty && h.parts.some((x) => x.entry === p.entry && x.version === p.entry!.version);
    return {
      table: table.name,
      request: p.request,
      mode: p.mode,
      shared: p.shared,
      entryRows: p.entry?.rows.count,
      syncedAgoMs: p.entry ? Date.now() - p.entry.syncedAt : undefined,
      engine: inEngine ? 'held' : undefined,
    };
  }

  /** keapgres_cache (the view) and keapgres_cache_clear([table]), answered here before the statement runs. */
  private async cacheFunctions(work: BatchWork, engine: EngineInstance, notices: ErrorFields[]): Promise<void> {
    const calls = cacheFunctionCalls(work.statements.map((s) => s.sql));
    if (calls.clear) {
      let n = 0;
      for (const t of calls.clear) n += this.cache.clear(t ?? undefined);
      await engine.query(`SELECT pg_catalog.set_config('keapgres.cache_cleared', ${quoteLiteral(String(n))}, false)`);
    }
    if (calls.view) await engine.query(cacheViewRowsSql(this.cache.list()));
    void notices;
  }

  private truncationNotice(table: string): ErrorFields {
    return {
      severity: 'NOTICE', sqlstate: '01000',
      message: `table "${table}" was truncated at ${this.source.maxRows} rows`,
      detail: 'MaxRows in the connection string limits how many rows one table reference fetches from Keap.',
      hint: 'Raise MaxRows (or set it to -1) to fetch every row, or add conditions Keap can filter on.',
    };
  }

  /**
   * The statement as a scan answered while its table loads (streamed-scan.ts): a plain scan of the one table
   * the batch fetches, which holds no rows yet, and which the statement's name really resolves to (a
   * temporary table or another schema on the search_path could take the name).
   */
  private async streamable(engine: EngineInstance, sql: string, table: TableSchema, held: Map<string, HeldTable>): Promise<StreamableScan | undefined> {
    const scan = streamableScan(sql, this.catalog);
    if (!scan || scan.table !== table.name) return undefined;
    // the table is emptied first (it holds something else than this fetch), so the first chunk finds it empty
    const h = held.get(table.name);
    if (h) {
      await emptyTable(engine, table);
      held.delete(table.name);
    }
    // Operators and casts the session defined could call any function (one reading the table half-loaded).
    const resolves = scan.qualified ? 'true' : `pg_catalog.to_regclass(${quoteLiteral(quoteIdent(table.name))}) = ${quoteLiteral(qualifiedName(table))}::pg_catalog.regclass`;
    // The table must be empty: the first chunk's run is the statement as sent (see load).
    const { rows } = await engine.query(`SELECT ${resolves}
      AND NOT EXISTS (SELECT 1 FROM ${qualifiedName(table)})
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_operator WHERE oid >= 16384)
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_cast WHERE oid >= 16384) AS ok`);
    return rows[0]?.ok === true ? scan : undefined;
  }

  /**
   * `SELECT count(*) FROM t [WHERE …]`, alone in a simple query, with every condition one the API
   * applies exactly: one call to the API's count instead of fetching every row.
   */
  private async apiCount(work: BatchWork, fetches: readonly FetchPlan[], held: Map<string, HeldTable>, signal: AbortSignal): Promise<{ column: string; count: number } | undefined> {
    if (!work.simpleQuery || work.statements.length !== 1 || work.txStatus === 'E' || this.cache.offline) return undefined;
    if (fetches.length !== 1 || !fetches[0].countOnly) return undefined;
    const table = this.catalog.tables.get(fetches[0].table);
    if (!table) return undefined;
    // rows the cache or the engine has answer without a call
    if (this.cache.plan(table, fetches[0]).mode === 'hit' || held.has(table.name)) return undefined;
    const n = await this.source.connector.count(table, fetches[0], signal);
    if (n === undefined) return undefined;
    return { column: countColumnName(work.statements[0].sql), count: n };
  }

  /** keapgres_refresh_schema(): the custom fields are read again and this session's tables altered to match. */
  private async refreshSchema(engine: EngineInstance): Promise<void> {
    const { catalog, ddl } = await this.source.refreshSchema!(this.catalog);
    if (ddl.trim()) await engine.query(ddl);
    this.catalog = catalog;
    heldTables(engine).clear(); // rows loaded before lack the new columns' values
    const tables = [...catalog.tables.keys()].map((t) => quoteIdent(t)).join(', ');
    await engine.query(`TRUNCATE ${tables}`);
  }

  /**
   * Loading inside a client's transaction. Read-write: the rows load in it (and go if it rolls back).
   * Read-only (Metabase: BEGIN READ ONLY, then its query): PostgreSQL allows no write in it, and no
   * switch to read-write once a query has run (reading the mode is one), so a transaction that has
   * only read is rolled back, the rows loaded, and it is begun again with the same isolation level,
   * read-only and deferrable as before — the client sees one transaction.
   */
  private async prepareTransaction(engine: EngineInstance, restartable: boolean): Promise<{ restore: () => Promise<unknown>; inTransaction: boolean; intoChildren?: boolean }> {
    const { rows } = await engine.query(`SELECT pg_catalog.current_setting('transaction_read_only') AS ro,
      pg_catalog.current_setting('transaction_isolation') AS iso, pg_catalog.current_setting('transaction_deferrable') AS def`);
    const row = rows[0] ?? {};
    if (row.ro !== 'on') return { restore: async () => undefined, inTransaction: true };
    if (!restartable) {
      // a cursor is open, or the transaction changed state: it goes on, and the rows go to temporary children
      if (hasChildren(engine)) return { restore: async () => undefined, inTransaction: true, intoChildren: true };
      throw new SqlError('25006', 'cannot load Keap rows in the middle of this read-only transaction', {
        detail: 'The transaction already holds an open cursor or changed state, was made read-only after it began, and loading rows needs a write.',
        hint: 'Begin the transaction as read-only (BEGIN READ ONLY, or SET default_transaction_read_only before BEGIN), or run the statement in its own transaction.',
      });
    }
    const iso = String(row.iso ?? 'read committed').toUpperCase();
    if (!/^(READ UNCOMMITTED|READ COMMITTED|REPEATABLE READ|SERIALIZABLE)$/.test(iso)) throw new SqlError('XX000', `unexpected isolation level ${iso}`);
    await engine.query('ROLLBACK');
    const begin = `BEGIN ISOLATION LEVEL ${iso} READ ONLY${row.def === 'on' ? ' DEFERRABLE' : ''}`;
    if (!(await defaultReadOnly(engine))) return { restore: () => engine.query(begin), inTransaction: false };
    const writable = await writableDefault(engine);
    return { restore: async () => { await writable.restore(); await engine.query(begin); }, inTransaction: false };
  }

  /**
   * COPYs pages into the table (or, with `merge`, adds the rows whose key is not there yet). With `stream`,
   * the statement runs over each chunk's rows as soon as they are in (streamed-scan.ts), until it fails.
   */
  private async copyPages(
    engine: EngineInstance,
    table: TableSchema,
    source: AsyncIterable<CopyChunk> | Iterable<CopyChunk>,
    signal: AbortSignal,
    opts: {
      /** add the rows whose key is not there yet (through a staging table) */
      merge?: boolean;
      stream?: { scan: StreamableScan; out: ResultStream };
      /** pages other sessions read too: never handed to the engine itself (a COPY's blob is transferred, not copied) */
      shared?: boolean;
      /** another table to COPY into (a read-only transaction's temporary child) */
      into?: string;
    },
  ): Promise<{ streamFailed: boolean }> {
    const { merge = false, stream, shared = false } = opts;
    const target = opts.into ?? (merge ? `pg_temp.${quoteIdent('keapgres_stage_' + table.name)}` : qualifiedName(table));
    if (merge) {
      await engine.query(`CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent('keapgres_stage_' + table.name)} (LIKE ${qualifiedName(table)}); TRUNCATE ${target}`);
    }
    const copySql = copyStatement(table).replace(qualifiedName(table), target);
    let chunks: Buffer[] = [];
    let bytes = 0;
    // One COPY runs in the engine (its own thread) while the next pages are fetched and encoded here.
    let copying: Promise<unknown> = Promise.resolve();
    let engineIdle = true;
    // Streaming: after each COPY the statement runs over that COPY's rows: those whose xmin is its transaction.
    // The first run is the statement as sent (the table held nothing before): errors found while parsing and
    // planning it point at the client's own text.
    let streamFailed = false;
    let firstRun = true;
    const runOver = async (condition: (alias: string) => string): Promise<void> => {
      const sql = firstRun ? stream!.scan.sql : stream!.scan.restrictedTo(condition);
      firstRun = false;
      if (!(await stream!.out.run(sql))) streamFailed = true;
    };
    const flush = async () => {
      if (bytes === 0) return;
      const blob = chunks.length === 1 && !shared ? chunks[0]! : Buffer.concat(chunks, bytes);
      chunks = [];
      bytes = 0;
      await copying;
      if (streamFailed) return;
      engineIdle = false;
      const p = (async () => {
        // Nothing else runs in the engine between: the COPY takes the next transaction id.
        const xid = stream ? await nextTransactionId(engine) : undefined;
        await engine.query(copySql, blob);
        if (xid !== undefined && !streamFailed && !signal.aborted) await runOver((alias) => `${alias}.xmin = '${xid}'::pg_catalog.xid`);
      })();
      p.catch(() => undefined).finally(() => {
        if (copying === p) engineIdle = true;
      });
      copying = p;
    };
    // Streamed, rows reach the client chunk by chunk: small chunks mean an earlier first row and a short wait
    // after the last page. But each chunk's statement scans the whole table (by xmin), so chunks grow with
    // the table (a sixteenth of it) and a large table costs a bounded number of whole scans, not one per MB;
    // but whenever the engine has nothing to do, what has arrived goes at once (busy, it lets chunks grow).
    let loadedBytes = 0;
    const chunkBytes = (): number => (stream ? Math.max(COPY_CHUNK_BYTES / 2, loadedBytes / 16) : COPY_CHUNK_BYTES);
    try {
      for await (const page of source) {
        if (signal.aborted) throw signal.reason;
        chunks.push(page.bytes);
        bytes += page.bytes.length;
        loadedBytes += page.bytes.length;
        if (bytes >= chunkBytes() || (stream && engineIdle)) await flush();
        if (streamFailed) break; // the client has its error: the rest of the fetch is not needed
      }
      await flush();
    } finally {
      // A failed fetch (Keap error, cancel) must not leave a COPY — or a chunk's rows on their way to the
      // client — running behind the error the session is about to send.
      streamFailed ||= stream !== undefined && signal.aborted;
      await copying.catch(() => undefined);
    }
    await copying;
    // No row at all (or none yet sent): the statement still answers, with its row description.
    if (stream && !streamFailed && !stream.out.described) await runOver(() => 'false');
    if (merge) {
      const pk = table.primaryKey.map(quoteIdent).join(', ');
      await engine.query(`INSERT INTO ${qualifiedName(table)} SELECT * FROM ${target} ON CONFLICT (${pk}) DO NOTHING; TRUNCATE ${target}`);
    }
    return { streamFailed };
  }
}

/** The output name of the count: its alias, or "count" as PostgreSQL names count(*). */
function countColumnName(sql: string): string {
  const parsed = parseSqlCached(sql);
  const stmt = parsed?.[0]?.stmt as { SelectStmt?: { targetList?: Array<{ ResTarget?: { name?: string } }> } } | undefined;
  return stmt?.SelectStmt?.targetList?.[0]?.ResTarget?.name ?? 'count';
}

/** The id the next transaction that writes will get (32-bit, as `xmin` shows it). */
async function nextTransactionId(engine: EngineInstance): Promise<string> {
  const { rows } = await engine.query('SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text AS x');
  const x = String(rows[0]?.x ?? '');
  if (!/^\d+$/.test(x)) throw new Error(`unexpected next transaction id ${x}`);
  return (BigInt(x) % 4294967296n).toString();
}

/** The session default set to read-write until `restore` (the value RESET goes back to is not touched). */
async function writableDefault(engine: EngineInstance): Promise<{ restore: () => Promise<unknown>; inTransaction: boolean; intoChildren?: boolean }> {
  await engine.query('SET default_transaction_read_only = off');
  return { restore: () => engine.query('SET default_transaction_read_only = on'), inTransaction: false };
}

/** What EXPLAIN ANALYZE shows of a table's work: the calls, rows, bytes and time the cache answers cost. */
function reportCosts(w: TableWork, t0: number): void {
  const costs = w.synced.map(costOf);
  w.report.calls = costs.reduce((n, c) => n + c.calls, 0);
  w.report.fetchedRows = costs.reduce((n, c) => n + c.rows, 0);
  w.report.bytes = costs.reduce((n, c) => n + c.bytes, 0);
  w.report.ms = costs.reduce((n, c) => n + c.ms, 0);
  w.report.loadMs = performance.now() - t0;
}

function costOf(x: Synced): SyncCost {
  if (x.kind === 'entry') return x.cost;
  if (x.kind === 'flight') return x.cost();
  return { calls: 0, rows: 0, bytes: 0, ms: 0 };
}

function offlineNotice(table: string): ErrorFields {
  return {
    severity: 'NOTICE', sqlstate: '01000',
    message: `table "${table}" is not in the cache and Offline=true: it is empty`,
    detail: 'With Offline=true keapgres answers from the cache only and never calls Keap.',
    hint: 'Query the table once with Offline=false to cache it.',
  };
}

/** A statement of a batch that makes no change (it fails, or follows one that did). */
function emptyStaged(u: WriteUnits['units'][number]): StagedStatement {
  return { table: u.table, op: u.target.op, lines: [], ordinals: [], unchangedKeys: [], deletedKeys: [], upsert: u.target.upsert === true };
}

/** The error statement `at` (0-based) of a batch of writes raises when it runs: earlier statements stay written at Keap. */
function batchFailure(err: unknown, at: number, count: number): StatementFailure {
  const e = err instanceof SqlError ? err : new SqlError('58000', err instanceof Error ? err.message : String(err));
  const earlier = `Statement${at === 1 ? '' : 's'} 1${at > 1 ? `–${at}` : ''} of this batch of ${count} writes ${at === 1 ? 'was' : 'were'} written to Keap and stay${at === 1 ? 's' : ''} written; statement ${at + 1} failed${at + 1 < count ? ' and the rest were not sent' : ''}.`;
  return {
    sqlstate: e.sqlstate,
    message: e.message,
    detail: e.detail ? `${e.detail} ${earlier}` : earlier,
    hint: e.hint ?? 'Keap has no transactions: run the failed statement and those after it again once fixed.',
  };
}

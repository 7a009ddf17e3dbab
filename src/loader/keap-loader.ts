// The Keap side of a session: before a batch runs, plan which Keap rows it needs, fetch them
// through the connector and COPY them into the session's engine. Pushdown only narrows what is
// fetched; the engine evaluates the statement over whatever was loaded, so every fetch must be a
// superset of the rows the statement needs.
import type { Logger } from 'pino';
import { SqlError } from '../errors.js';
import type { EngineInstance } from '../engine/instance.js';
import { planSql, mergeBatchPlans, type FetchPlan, type PlannerContext } from '../planner/index.js';
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

export interface KeapSource {
  catalog: Catalog;
  connector: KeapConnector;
  /** MaxRows of the connection, for the truncation notice (-1: none) */
  maxRows: number;
  /** how long loaded rows count as fresh, in ms */
  freshMs: number;
  /** re-reads the account's custom fields: the new catalog and the DDL that turns `from` into it */
  refreshSchema?: (from: Catalog) => Promise<{ catalog: Catalog; ddl: string }>;
}

interface LoadedFetch {
  at: number;
  /** loaded inside a client transaction: gone if it rolls back, so forgotten when it ends */
  inTransaction: boolean;
}

/** Rows per COPY call: big enough to amortise the round trip to the engine, small enough to stream. */
const COPY_CHUNK_BYTES = 2 * 1024 * 1024;

export class KeapSessionLoader implements BatchPreparer {
  private readonly source: KeapSource;
  /** the tables as this session's engine has them */
  private catalog: Catalog;
  private readonly logger: Logger;
  /** fetch key → when it was loaded */
  private readonly loaded = new Map<string, LoadedFetch>();
  /** tables holding rows in the engine */
  private readonly nonEmpty = new Set<string>();
  private readonly definitions: Required<SessionDefinitionState> = { preparedStatements: new Map(), views: new Map(), functions: new Map() };

  constructor(source: KeapSource, logger: Logger) {
    this.source = source;
    this.catalog = source.catalog;
    this.logger = logger;
  }

  loadedTables(): string[] {
    // a schema refresh truncates and alters tables: then every table is suspect
    return this.catalog === this.source.catalog ? [...this.nonEmpty] : [...this.catalog.tables.keys()];
  }

  engineReplaced(): void {
    this.loaded.clear();
    this.nonEmpty.clear();
  }

  async prepare(work: BatchWork, engine: EngineInstance, signal: AbortSignal): Promise<PrepareOutcome> {
    if (work.txStatus === 'I') {
      for (const [k, v] of this.loaded) if (v.inTransaction) this.loaded.delete(k);
    }
    if (this.source.refreshSchema && work.statements.some((s) => /keapgres_refresh_schema\s*\(/i.test(s.sql))) {
      await this.refreshSchema(engine);
    }
    const ctx: PlannerContext = {
      catalog: this.catalog,
      searchPath: ['"$user"', 'public'],
      preparedStatements: this.definitions.preparedStatements,
      views: this.definitions.views,
      functions: this.definitions.functions,
    };
    const plans = [];
    for (const s of work.statements) {
      plans.push(await planSql(s.sql, s.params, ctx));
      applySessionDefinitions(this.definitions, sessionDefinitions(s.sql));
    }
    const plan = mergeBatchPlans(plans);
    if (plan.rejection) {
      const r = plan.rejection;
      throw new SqlError(r.sqlstate, r.message, { detail: r.detail, hint: r.hint });
    }
    const count = await this.apiCount(work, plan.fetches, signal);
    if (count) return { notices: [], answer: count };
    const now = Date.now();
    const todo = plan.fetches.filter((f) => {
      const hit = this.loaded.get(fetchKey(f)) ?? this.loaded.get(fullKey(f.table));
      return !hit || now - hit.at > this.source.freshMs;
    });
    if (todo.length === 0) return { notices: [] };
    if (work.txStatus === 'E') return { notices: [] }; // the statement fails in the engine anyway

    const scan = work.stream && todo.length === 1 && plan.fetches.length === 1 ? await this.streamable(engine, work.statements[0]!.sql, todo[0]!) : undefined;
    if (scan && work.stream) {
      const f = todo[0]!;
      const { truncated, streamFailed } = await this.load(engine, this.catalog.tables.get(f.table)!, f, signal, { scan, out: work.stream });
      if (streamFailed) return { notices: [], streamed: 'failed' };
      this.loaded.set(fetchKey(f), { at: Date.now(), inTransaction: false });
      return { notices: truncated ? [this.truncationNotice(f.table)] : [], streamed: 'done' };
    }

    const notices: ErrorFields[] = [];
    const mode = work.txStatus === 'T' ? await this.prepareTransaction(engine, work.restartable) : { restore: async () => undefined, inTransaction: false };
    try {
      for (const f of todo) {
        const table = this.catalog.tables.get(f.table);
        if (!table) continue;
        const { truncated } = await this.load(engine, table, f, signal);
        this.loaded.set(fetchKey(f), { at: Date.now(), inTransaction: mode.inTransaction });
        if (truncated) notices.push(this.truncationNotice(f.table));
      }
    } finally {
      await mode.restore();
    }
    return { notices };
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
  private async streamable(engine: EngineInstance, sql: string, fetch: FetchPlan): Promise<StreamableScan | undefined> {
    const scan = streamableScan(sql, this.catalog);
    if (!scan || scan.table !== fetch.table || this.nonEmpty.has(scan.table)) return undefined;
    const table = this.catalog.tables.get(scan.table);
    if (!table) return undefined;
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
  private async apiCount(work: BatchWork, fetches: readonly FetchPlan[], signal: AbortSignal): Promise<{ column: string; count: number } | undefined> {
    if (!work.simpleQuery || work.statements.length !== 1 || work.txStatus === 'E') return undefined;
    if (fetches.length !== 1 || !fetches[0].countOnly) return undefined;
    const table = this.catalog.tables.get(fetches[0].table);
    if (!table) return undefined;
    const n = await this.source.connector.count(table, fetches[0], signal);
    if (n === undefined) return undefined;
    return { column: countColumnName(work.statements[0].sql), count: n };
  }

  /** keapgres_refresh_schema(): the custom fields are read again and this session's tables altered to match. */
  private async refreshSchema(engine: EngineInstance): Promise<void> {
    const { catalog, ddl } = await this.source.refreshSchema!(this.catalog);
    if (ddl.trim()) await engine.query(ddl);
    this.catalog = catalog;
    this.loaded.clear(); // rows loaded before lack the new columns' values
    this.nonEmpty.clear();
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
  private async prepareTransaction(engine: EngineInstance, restartable: boolean): Promise<{ restore: () => Promise<unknown>; inTransaction: boolean }> {
    const { rows } = await engine.query(`SELECT pg_catalog.current_setting('transaction_read_only') AS ro,
      pg_catalog.current_setting('transaction_isolation') AS iso, pg_catalog.current_setting('transaction_deferrable') AS def`);
    const row = rows[0] ?? {};
    if (row.ro !== 'on') return { restore: async () => undefined, inTransaction: true };
    if (!restartable) {
      throw new SqlError('25006', 'cannot load Keap rows in the middle of this read-only transaction', {
        detail: 'The transaction already holds an open cursor or changed state, and loading rows needs a write.',
        hint: 'Run the statement in its own transaction, or read every Keap table the transaction needs in its first statement.',
      });
    }
    const iso = String(row.iso ?? 'read committed').toUpperCase();
    if (!/^(READ UNCOMMITTED|READ COMMITTED|REPEATABLE READ|SERIALIZABLE)$/.test(iso)) throw new SqlError('XX000', `unexpected isolation level ${iso}`);
    await engine.query('ROLLBACK');
    const begin = `BEGIN ISOLATION LEVEL ${iso} READ ONLY${row.def === 'on' ? ' DEFERRABLE' : ''}`;
    return { restore: () => engine.query(begin), inTransaction: false };
  }

  /**
   * Fetches one plan's rows and COPYs them in; says whether MaxRows cut the fetch short. With `stream`, the
   * statement runs over each chunk's rows as soon as they are in (streamed-scan.ts), until it fails.
   */
  private async load(
    engine: EngineInstance,
    table: TableSchema,
    plan: FetchPlan,
    signal: AbortSignal,
    stream?: { scan: StreamableScan; out: ResultStream },
  ): Promise<{ truncated: boolean; streamFailed: boolean }> {
    const started = performance.now();
    // A table that already holds rows gets the union: new rows go through a staging table and
    // are added only where their key is not there yet.
    const merge = this.nonEmpty.has(table.name);
    const target = merge ? `pg_temp.${quoteIdent('keapgres_stage_' + table.name)}` : qualifiedName(table);
    if (merge) {
      await engine.query(`CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent('keapgres_stage_' + table.name)} (LIKE ${qualifiedName(table)}); TRUNCATE ${target}`);
    }
    const copySql = copyStatement(table).replace(qualifiedName(table), target);
    const fetch = this.source.connector.fetchCopy(table, plan, signal);
    let rows = 0;
    let chunks: Buffer[] = [];
    let bytes = 0;
    let pages = 0;
    // One COPY runs in the engine (its own thread) while the next pages are fetched and encoded here.
    let copying: Promise<unknown> = Promise.resolve();
    let engineIdle = true;
    let copies = 0;
    let copyMs = 0;
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
      const blob = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
      chunks = [];
      bytes = 0;
      await copying;
      if (streamFailed) return;
      // Rows may be in the table from here on, even if a later page fails: later loads must merge.
      if (!merge) this.nonEmpty.add(table.name);
      engineIdle = false;
      copies++;
      const p = (async () => {
        // Nothing else runs in the engine between: the COPY takes the next transaction id.
        const xid = stream ? await nextTransactionId(engine) : undefined;
        const t = performance.now();
        await engine.query(copySql, blob);
        copyMs += performance.now() - t;
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
      for await (const page of fetch.records) {
        pages++;
        chunks.push(page.bytes);
        bytes += page.bytes.length;
        loadedBytes += page.bytes.length;
        rows += page.rows;
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
      if (rows > 0) this.nonEmpty.add(table.name);
    }
    this.logger.debug({ table: table.name, rows, pages, pushed: fetch.pushed.length, dropped: fetch.dropped.length, streamed: stream !== undefined, copies, ms: Math.round(performance.now() - started), copyMs: Math.round(copyMs) }, 'loaded');
    return { truncated: fetch.truncated(), streamFailed };
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

function fetchKey(f: FetchPlan): string {
  return JSON.stringify([f.table, f.conditions, f.limit ?? null, f.orderBy ?? null]);
}

function fullKey(table: string): string {
  return JSON.stringify([table, [], null, null]);
}


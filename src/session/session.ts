// One client connection after authentication: collects frontend messages into batches, lets the
// Keap side load what a batch needs, and forwards the batch to the session's own engine, streaming
// the engine's answer back to the client as it comes.
import type { Logger } from 'pino';
import { SqlError, SQLSTATE } from '../errors.js';
import type { EngineInstance, OutputSink } from '../engine/instance.js';
import type { EnginePool } from '../engine/pool.js';
import * as msg from '../wire/backend-messages.js';
import type { FrontendMessage } from '../wire/frontend-framer.js';
import { ProtocolState, parseBind, parseClose, parseParse, parseQuery, paramText, splitSimple } from './protocol-state.js';
import { readReportedParameters, setUpSession, type SessionSettings } from './session-setup.js';
import { ResultStream } from './result-stream.js';
import type { SessionMonitor } from './session-monitor.js';
import { ExplainAppender } from './explain-output.js';
import { NO_TIMEOUTS, batchStatementTimeout, timeoutsFrom, type SessionTimeouts } from './timeouts.js';
import { rewriteCancelReason } from './cancel-message.js';

export interface BatchStatement {
  sql: string;
  /** bound values as text; undefined where unknown (binary of a type the planner does not read) */
  params?: ReadonlyArray<string | null | undefined>;
}

export interface BatchWork {
  statements: BatchStatement[];
  /** transaction status before the batch: 'I', 'T' or 'E' */
  txStatus: string;
  /**
   * The open transaction has so far only read (plain queries, no open cursor or portal, no SAVEPOINT,
   * no SET LOCAL, no write to a temporary table): it can be rolled back and begun again with the same
   * characteristics without the client noticing.
   */
  restartable: boolean;
  /** the batch is one simple Query: the Keap side may answer it itself (an API count) */
  simpleQuery: boolean;
  /**
   * For one statement in a simple Query outside a transaction: the Keap side may answer it itself by running
   * it in the engine piece by piece while rows load (see loader/streamed-scan.ts).
   */
  stream?: ResultStream;
}

export interface PrepareOutcome {
  notices: msg.ErrorFields[];
  /** the statement's whole result, from the API (SELECT count(*) FROM t with only pushed conditions) */
  answer?: { column: string; count: number };
  /** the statement was answered through `work.stream`: completely, or up to an error the client has */
  streamed?: 'done' | 'failed';
  /** lines to add to the output of the batch's EXPLAIN (the Keap requests) */
  explain?: string[];
}

/** The Keap side of a session: loads the rows a batch needs into the engine before it runs. */
export interface BatchPreparer {
  prepare(work: BatchWork, engine: EngineInstance, signal: AbortSignal): Promise<PrepareOutcome>;
  /** the session's engine was replaced (after a cancel): whatever was loaded is gone */
  engineReplaced(): void;
  /**
   * Readies the engine for the next session (after the client's transaction is rolled back): Keap tables it
   * may not pass on are emptied. 'kept': some hold rows the next session may use; false: do not reuse it.
   * `topUp`: the pool will keep the engine loaded, so tables other sessions use may be loaded into it too.
   */
  handOver(engine: EngineInstance, o?: { topUp: boolean }): Promise<'kept' | 'empty' | false>;
}

export interface SessionWriter {
  write(data: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  readonly destroyed: boolean;
}

export interface SessionOptions {
  writer: SessionWriter;
  pool: EnginePool;
  engine: EngineInstance;
  user: string;
  database: string;
  /** settings from the startup packet and its options (-c name=value), applied to every engine */
  settings: Array<[string, string]>;
  preparer?: BatchPreparer;
  /** tables emptied when the engine goes back to the pool */
  keapTables: readonly string[];
  logger: Logger;
  /** largest COPY FROM STDIN a client may send in one statement */
  maxCopyBytes?: number;
  /** the server's view of this session (src/backends) */
  monitor?: SessionMonitor;
}

/** Why a running statement is being cancelled: a CancelRequest (or pg_cancel_backend), or statement_timeout. */
export type CancelReason = 'user' | 'timeout';
const CANCEL_MESSAGE: Record<CancelReason, string> = {
  user: 'canceling statement due to user request',
  timeout: 'canceling statement due to statement timeout',
};
const canceled = (reason: CancelReason): msg.ErrorFields => ({ severity: 'ERROR', sqlstate: SQLSTATE.queryCanceled, message: CANCEL_MESSAGE[reason] });
/**
 * A statement cancelled in place normally ends within milliseconds (its next interrupt check); one that
 * does not within this long (a check PostgreSQL never reaches) is stopped by ending the engine.
 */
const CANCEL_GRACE_MS = 3000;

interface Running {
  abort: AbortController;
  inEngine: boolean;
  cancelled?: CancelReason;
  /** the engine is ended if the in-place cancel has not ended the statement by then */
  fallback?: NodeJS.Timeout;
}

export class Session {
  private readonly o: SessionOptions;
  private engine: EngineInstance;
  private readonly state = new ProtocolState();
  private pending: FrontendMessage[] = [];
  private inbox: FrontendMessage[] = [];
  private pumping = false;
  private txStatus = 'I';
  /** see BatchWork.restartable */
  private txOnlyReads = true;
  private copyIn?: { frames: FrontendMessage[]; bytes: number };
  private running?: Running;
  /** the session's timeout settings (the engine's, read after batches that may change them) */
  private timeouts: SessionTimeouts = NO_TIMEOUTS;
  /** the running batch passed its statement timeout (it may fall between the Keap side and the engine) */
  private batchTimedOut = false;
  private idleTimer?: NodeJS.Timeout;
  private transactionTimer?: NodeJS.Timeout;
  private closed = false;
  private closeListeners: Array<() => void> = [];
  /** the Keap side's lines for the EXPLAIN of the batch about to run */
  private explainLines?: string[];

  constructor(o: SessionOptions) {
    this.o = o;
    this.engine = o.engine;
  }

  /** Applies the startup settings and returns the ParameterStatus values to report. Throws SqlError (FATAL). */
  async start(): Promise<Array<[string, string]>> {
    const { reported, watched } = await this.setUpEngine(this.engine);
    this.timeouts = timeoutsFrom(watched);
    this.engine.setReportedParameters(reported);
    return reported;
  }

  get transactionStatus(): string {
    return this.txStatus;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** Frontend messages from the client, in order. */
  receive(messages: FrontendMessage[]): void {
    if (this.closed) return;
    this.clearIdleTimer();
    this.inbox.push(...messages);
    void this.pump();
  }

  /**
   * CancelRequest (or statement_timeout): stop the running batch. A statement inside the engine is
   * cancelled in place, as PostgreSQL cancels it; only an engine that cannot be interrupted is ended.
   */
  cancel(reason: CancelReason = 'user'): void {
    const r = this.running;
    if (!r || r.cancelled) return;
    r.cancelled = reason;
    r.abort.abort(new SqlError(SQLSTATE.queryCanceled, CANCEL_MESSAGE[reason]));
    if (r.inEngine) this.cancelInEngine(r);
  }

  private cancelInEngine(r: Running): void {
    if (!this.engine.interruptible) {
      void this.engine.terminate();
      return;
    }
    // false: the batch has not reached the engine yet; runEngine cancels it as soon as it has
    if (!this.engine.cancelExec() || r.fallback) return;
    r.fallback = setTimeout(() => {
      if (this.running === r) {
        this.o.logger.warn({ reason: r.cancelled }, 'a cancelled statement did not stop in time: its engine is ended');
        void this.engine.terminate();
      }
    }, CANCEL_GRACE_MS);
    r.fallback.unref();
  }

  /** Ends the session from the server's side: the client gets `err` (FATAL), then the engine is freed. */
  terminate(err: SqlError): void {
    if (!this.closed) this.fatal(err);
  }

  /** The client went away (or the server is stopping): free the engine. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearIdleTimer();
    this.clearTransactionTimer();
    const r = this.running;
    if (r) {
      r.abort.abort(new SqlError(SQLSTATE.connectionFailure, 'client disconnected'));
      await this.engine.terminate();
    } else {
      const room = this.o.preparer ? this.o.pool.reserveLoaded() : false;
      const handed = this.o.preparer ? await this.o.preparer.handOver(this.engine, { topUp: room }).catch(() => false as const) : 'empty';
      if (!handed) {
        if (room) this.o.pool.unreserveLoaded();
        await this.engine.terminate();
      }
      // without a preparer nothing knows what the Keap tables hold: all are emptied
      else await this.o.pool.release(this.engine, this.o.preparer ? [] : this.o.keapTables, handed === 'kept', room);
    }
    for (const l of this.closeListeners) l();
  }

  /** Resolves once no batch is running (graceful shutdown). */
  async idle(): Promise<void> {
    while (this.pumping) await new Promise((r) => setTimeout(r, 20));
  }

  private write(data: Uint8Array): void {
    if (!this.o.writer.destroyed) this.o.writer.write(data);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inbox.length && !this.closed) {
        const m = this.inbox.shift()!;
        await this.handle(m);
      }
    } catch (err) {
      this.o.logger.error({ err }, 'session failed');
      this.fatal(err instanceof SqlError ? err : new SqlError(SQLSTATE.internalError, 'internal error in keapgres session'));
    } finally {
      this.pumping = false;
    }
    if (!this.closed && !this.inbox.length && !this.pending.length && !this.copyIn) {
      this.o.monitor?.idle(this.txStatus);
      this.armIdleTimer();
    }
  }

  /** idle_in_transaction_session_timeout and idle_session_timeout: the connection ends as PostgreSQL ends it. */
  private armIdleTimer(): void {
    this.clearIdleTimer();
    const inTx = this.txStatus !== 'I';
    const ms = inTx ? this.timeouts.idleInTransaction : this.timeouts.idleSession;
    if (ms <= 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closed || this.pumping) return;
      this.terminate(inTx
        ? new SqlError(SQLSTATE.idleInTransactionTimeout, 'terminating connection due to idle-in-transaction timeout')
        : new SqlError(SQLSTATE.idleSessionTimeout, 'terminating connection due to idle-session timeout'));
    }, ms);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** transaction_timeout: from the start of a transaction (explicit, or one statement's) to its end. */
  private trackTransaction(txBefore: string, batchStarted: number): void {
    if (this.txStatus === 'I') {
      this.clearTransactionTimer();
      return;
    }
    if (txBefore !== 'I' || this.transactionTimer || this.timeouts.transaction <= 0) return;
    this.transactionTimer = setTimeout(() => this.transactionTimedOut(), Math.max(0, batchStarted + this.timeouts.transaction - performance.now()));
    this.transactionTimer.unref();
  }

  private transactionTimedOut(): void {
    this.transactionTimer = undefined;
    if (!this.closed) this.terminate(new SqlError(SQLSTATE.transactionTimeout, 'terminating connection due to transaction timeout'));
  }

  private clearTransactionTimer(): void {
    if (this.transactionTimer) clearTimeout(this.transactionTimer);
    this.transactionTimer = undefined;
  }

  private fatal(err: SqlError): void {
    this.write(msg.errorResponse({ severity: 'FATAL', sqlstate: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
    void this.close();
  }

  private async handle(m: FrontendMessage): Promise<void> {
    if (this.copyIn) return this.handleCopyIn(m);
    switch (m.type) {
      case 'X':
        await this.close();
        return;
      case 'Q': {
        const batch = this.takePending(m);
        const sql = parseQuery(m.body);
        const copy = await this.copyFromStdin(sql, batch);
        if (copy) return;
        await this.runBatch(batch, 'Z');
        return;
      }
      case 'S':
        await this.runBatch(this.takePending(m), 'Z');
        return;
      case 'H':
        await this.runBatch(this.takePending(m), 'none');
        return;
      case 'F':
        await this.runBatch(this.takePending(m), 'Z');
        return;
      case 'd': case 'c': case 'f':
        return; // PostgreSQL ignores copy messages outside COPY (they may trail an error)
      case 'p':
        throw new SqlError(SQLSTATE.protocolViolation, 'unexpected password message after authentication');
      default:
        this.pending.push(m);
    }
  }

  private takePending(terminator: FrontendMessage): FrontendMessage[] {
    const batch = this.pending;
    batch.push(terminator);
    this.pending = [];
    return batch;
  }

  /** COPY … FROM STDIN: the engine needs the statement and all its data in one call. */
  private async copyFromStdin(sql: string, batch: FrontendMessage[]): Promise<boolean> {
    const target = copyFromStdinTarget(sql);
    if (!target) return false;
    let columns: number;
    try {
      columns = target.columns ?? Number((await this.engine.query(
        `SELECT count(*) AS n FROM pg_catalog.pg_attribute WHERE attrelid = ${sqlLiteral(target.table)}::regclass AND attnum > 0 AND NOT attisdropped`,
      )).rows[0]?.n);
    } catch {
      return false; // let the engine report the bad table name itself
    }
    this.o.monitor?.batchStarted([{ sql }], this.txStatus);
    // Keap tables are read-only: let the planner answer before the client starts sending data.
    if (this.o.preparer && (await this.prepareOrAnswer([{ sql }], 'Z', false)) === 'answered') {
      this.o.monitor?.batchEnded(this.txStatus, 'Z');
      return true;
    }
    this.copyIn = { frames: batch, bytes: 0 };
    this.write(msg.copyInResponse(target.binary ? 1 : 0, columns));
    return true;
  }

  private async handleCopyIn(m: FrontendMessage): Promise<void> {
    const copy = this.copyIn!;
    if (m.type === 'H' || m.type === 'S') return; // ignored during copy-in, as PostgreSQL does
    if (m.type !== 'd' && m.type !== 'c' && m.type !== 'f') {
      this.copyIn = undefined;
      throw new SqlError(SQLSTATE.protocolViolation, `unexpected message type 0x${m.frame[0].toString(16)} during COPY from stdin`);
    }
    copy.frames.push(m);
    copy.bytes += m.frame.length;
    const limit = this.o.maxCopyBytes ?? 1 << 30;
    if (copy.bytes > limit) {
      this.copyIn = undefined;
      throw new SqlError(SQLSTATE.protocolViolation, `COPY FROM STDIN data exceeds the limit of ${limit} bytes`);
    }
    if (m.type === 'd') return;
    this.copyIn = undefined;
    await this.runEngine(copy.frames, 'Z', { dropCopyIn: true });
    this.o.monitor?.batchEnded(this.txStatus, 'Z');
  }

  private async runBatch(batch: FrontendMessage[], ends: 'Z' | 'none'): Promise<void> {
    const statements = this.statementsOf(batch);
    this.o.monitor?.batchStarted(statements, this.txStatus);
    const started = performance.now();
    const txBefore = this.txStatus;
    const timeout = batchStatementTimeout(statements.map((s) => s.sql), this.timeouts.statement);
    this.batchTimedOut = false;
    const timer = timeout > 0 ? setTimeout(() => { this.batchTimedOut = true; this.cancel('timeout'); }, timeout) : undefined;
    if (txBefore === 'I' && !this.transactionTimer && this.timeouts.transaction > 0) {
      // a statement outside a transaction block is a transaction of its own
      this.transactionTimer = setTimeout(() => this.transactionTimedOut(), this.timeouts.transaction);
      this.transactionTimer.unref();
    }
    try {
      if (this.o.preparer && statements.length) {
        const simpleQuery = batch.length === 1 && batch[0].type === 'Q';
        if ((await this.prepareOrAnswer(statements, ends, simpleQuery)) === 'answered') return;
      }
      const explain = this.explainLines;
      this.explainLines = undefined;
      await this.runEngine(batch, ends, { reportParams: ends === 'Z' && mayChangeSettings(statements) }, explain?.length ? new ExplainAppender(explain) : undefined);
    } finally {
      if (timer) clearTimeout(timer);
      this.batchTimedOut = false;
      if (ends === 'Z') this.trackTransaction(txBefore, started);
      this.o.monitor?.batchEnded(this.txStatus, ends);
    }
  }

  /** Runs the Keap side; on failure answers the client itself (the engine never sees the batch). */
  private async prepareOrAnswer(statements: BatchStatement[], ends: 'Z' | 'none', simpleQuery = false): Promise<'ran' | 'answered'> {
    const abort = new AbortController();
    this.running = { abort, inEngine: false };
    if (this.batchTimedOut) this.cancel('timeout');
    try {
      const stream = simpleQuery && statements.length === 1 && this.txStatus === 'I' ? new ResultStream(this.engine, this.o.writer) : undefined;
      const work: BatchWork = { statements, txStatus: this.txStatus, restartable: this.txOnlyReads, simpleQuery, stream };
      const { notices, answer, streamed, explain } = await this.o.preparer!.prepare(work, this.engine, abort.signal);
      this.explainLines = explain;
      for (const n of notices) this.write(msg.noticeResponse(n));
      if (streamed && stream) {
        if (streamed === 'done') this.write(msg.commandComplete(`SELECT ${stream.rows}`));
        this.write(msg.readyForQuery(this.txStatus));
        return 'answered';
      }
      if (answer && simpleQuery) {
        this.write(Buffer.concat([
          msg.rowDescriptionBigint(answer.column), msg.dataRow([String(answer.count)]), msg.commandComplete('SELECT 1'),
          msg.readyForQuery(this.txStatus),
        ]));
        return 'answered';
      }
      return 'ran';
    } catch (err) {
      const reason = this.running?.cancelled;
      // a cancelled write says what it wrote before it stopped (its own 57014 with DETAIL)
      const ownCancel = err instanceof SqlError && err.sqlstate === SQLSTATE.queryCanceled;
      const e = reason && !ownCancel ? new SqlError(SQLSTATE.queryCanceled, CANCEL_MESSAGE[reason]) : toSqlError(err, this.o.logger);
      this.write(msg.errorResponse({ severity: 'ERROR', sqlstate: e.sqlstate, message: e.message, detail: e.detail, hint: e.hint }));
      if (this.txStatus === 'T') {
        // the client now believes its transaction failed: make the engine's fail too
        await this.engine.query(`DO $$BEGIN RAISE EXCEPTION 'keapgres: transaction aborted'; END$$`).catch(() => undefined);
        this.txStatus = 'E';
      }
      if (ends === 'Z') this.write(msg.readyForQuery(this.txStatus));
      return 'answered';
    } finally {
      this.running = undefined;
    }
  }

  private async runEngine(batch: FrontendMessage[], ends: 'Z' | 'none', opts: { dropCopyIn?: boolean; reportParams?: boolean }, explain?: ExplainAppender): Promise<void> {
    const abort = new AbortController();
    const running: Running = { abort, inEngine: true };
    this.running = running;
    const txBefore = this.txStatus;
    const data = batch.length === 1 ? batch[0].frame : Buffer.concat(batch.map((m) => m.frame));
    const started = performance.now();
    const writer = this.o.writer;
    try {
      let sink: OutputSink = (chunk, written) => {
        // once the session is closed (terminated by another backend), nothing more reaches the client
        if (writer.destroyed || this.closed) return written();
        // the engine says "user request" whoever cancelled: a statement timeout says so instead
        const out = running.cancelled === 'timeout' ? rewriteCancelReason(chunk, CANCEL_MESSAGE.timeout) : chunk;
        writer.write(explain ? explain.transform(out) : out, () => written());
      };
      if (this.o.monitor) sink = await this.o.monitor.beforeEngine(this.engine, this.txStatus, sink);
      const executing = this.engine.exec(data, sink, opts);
      if (running.cancelled) this.cancelInEngine(running);
      else if (this.batchTimedOut) this.cancel('timeout');
      const outcome = await executing;
      if (outcome.settings) this.timeouts = timeoutsFrom(outcome.settings, this.timeouts);
      if (explain && !writer.destroyed && !this.closed) writer.write(explain.end());
      if (ends === 'Z') this.txStatus = outcome.txStatus;
      await this.o.monitor?.afterEngine(this.engine, outcome, txBefore, this.txStatus);
      this.recordState(batch, outcome.sawError);
      if (this.txStatus === 'I') this.txOnlyReads = true;
      else if (!batchOnlyReads(batch)) this.txOnlyReads = false;
      if (this.o.logger.isLevelEnabled('debug')) {
        this.o.logger.debug({ ms: Math.round(performance.now() - started), rows: outcome.rows, error: outcome.sawError, sql: summarize(batch) }, 'batch');
      }
    } catch (err) {
      if (this.closed) return;
      if (!running.cancelled) this.o.logger.error({ err, sql: summarize(batch) }, 'engine failed during a batch');
      // The engine is gone (cancelled or crashed): tell the client, then carry on with a fresh one.
      this.write(msg.errorResponse(running.cancelled ? canceled(running.cancelled) : {
        severity: 'ERROR', sqlstate: SQLSTATE.internalError, message: 'the query engine failed while running this statement',
        hint: 'The session was given a fresh engine; repeat the statement.',
      }));
      const tx = txBefore === 'I' ? 'I' : 'E';
      await this.o.monitor?.afterEngine(this.engine, undefined, txBefore, tx);
      await this.replaceEngine(tx);
      if (ends === 'Z') this.write(msg.readyForQuery(tx));
    } finally {
      if (running.fallback) clearTimeout(running.fallback);
      this.running = undefined;
    }
  }

  /** After a cancel: a fresh engine with this session's settings and prepared statements restored. */
  private async replaceEngine(tx: string): Promise<void> {
    await this.engine.terminate();
    const engine = await this.o.pool.acquire();
    if (this.closed) {
      // the client left while the engine started (psql -f exits right after a cancelled statement)
      await engine.terminate();
      return;
    }
    this.engine = engine;
    this.o.preparer?.engineReplaced();
    await this.setUpEngine(engine);
    for (const sql of this.state.replay) await engine.query(sql).catch(() => undefined);
    const { reported, watched } = await readReportedParameters(engine);
    engine.setReportedParameters(reported);
    this.timeouts = timeoutsFrom(watched, this.timeouts);
    const parses = [...this.state.statements.values()].map((s) => s.frame);
    if (parses.length) {
      const sync = Buffer.from([0x53, 0, 0, 0, 4]);
      await engine.exec(Buffer.concat([...parses, sync]), (_c, written) => written());
    }
    if (tx === 'E') {
      await engine.query('BEGIN').catch(() => undefined);
      await engine.query(`DO $$BEGIN RAISE EXCEPTION 'keapgres: transaction aborted by cancel'; END$$`).catch(() => undefined);
    }
    this.txStatus = tx;
  }

  private async setUpEngine(engine: EngineInstance): Promise<SessionSettings> {
    try {
      const reported = await setUpSession(engine, this.o.user, this.o.settings);
      await this.o.monitor?.engineReady(engine);
      return reported;
    } catch (err) {
      const e = toSqlError(err, this.o.logger);
      throw new SqlError(e.sqlstate, e.message, { detail: e.detail, hint: e.hint, severity: 'FATAL' });
    }
  }

  private statementsOf(batch: FrontendMessage[]): BatchStatement[] {
    const out: BatchStatement[] = [];
    for (const m of batch) {
      try {
        if (m.type === 'Q') out.push({ sql: parseQuery(m.body) });
        else if (m.type === 'P') {
          const p = parseParse(m.body);
          this.state.recordParse(m.frame, p);
          // A Parse alone needs no rows; its Bind (maybe in this batch) does.
        } else if (m.type === 'B') {
          const b = parseBind(m.body);
          const stmt = this.state.statement(b.statement);
          if (!stmt) continue;
          const params = b.params.map((v, i) => {
            const format = b.paramFormats.length === 1 ? b.paramFormats[0] : (b.paramFormats[i] ?? 0);
            return paramText(v, format, stmt.paramTypes[i] ?? 0);
          });
          out.push({ sql: stmt.sql, params });
        }
      } catch {
        // a malformed message: the engine will answer it with the right error
      }
    }
    return out;
  }

  private recordState(batch: FrontendMessage[], sawError: boolean): void {
    for (const m of batch) {
      try {
        if (m.type === 'C') {
          const c = parseClose(m.body);
          this.state.recordClose(c.kind, c.name);
        } else if (m.type === 'Q' && !sawError) {
          this.state.recordSql(parseQuery(m.body));
        }
      } catch {
        // malformed: nothing to remember
      }
    }
  }
}

/** A batch that, inside a transaction, leaves nothing behind a restart of that transaction would lose. */
function batchOnlyReads(batch: FrontendMessage[]): boolean {
  for (const m of batch) {
    try {
      if (m.type === 'Q' && !splitSimple(parseQuery(m.body)).every(isPlainRead)) return false;
      if (m.type === 'P' && !isPlainRead(parseParse(m.body).sql)) return false;
      if (m.type === 'B' && parseBind(m.body).portal !== '') return false; // a named portal: a cursor stays open
      if (m.type === 'E' && m.body.readInt32BE(m.body.indexOf(0) + 1) > 0) return false; // a suspended portal
    } catch {
      return false;
    }
  }
  return true;
}

function isPlainRead(sql: string): boolean {
  const s = sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '');
  if (/^(select|values|table|show)\b/i.test(s)) return !/\binto\b/i.test(s) && !/\bfor\s+(update|share|no\s+key|key)\b/i.test(s);
  return /^(begin|start\s+transaction|set\s+transaction)\b/i.test(s) || s === '';
}

/** Statements after which a reported setting may differ (SET, RESET, DISCARD, the end of a transaction, set_config). */
function mayChangeSettings(statements: BatchStatement[]): boolean {
  return statements.some((s) => /\b(set|reset|discard|rollback|commit|abort|end|set_config)\b/i.test(s.sql));
}

function toSqlError(err: unknown, logger: Logger): SqlError {
  if (err instanceof SqlError) return err;
  logger.error({ err }, 'unexpected error');
  return new SqlError(SQLSTATE.internalError, 'internal error in keapgres', { detail: err instanceof Error ? err.message : undefined });
}

function summarize(batch: FrontendMessage[]): string {
  for (const m of batch) {
    try {
      if (m.type === 'Q') return parseQuery(m.body).slice(0, 200);
      if (m.type === 'P') return parseParse(m.body).sql.slice(0, 200);
    } catch {
      return '?';
    }
  }
  return batch.map((m) => m.type).join('');
}

/** `COPY table [(cols)] FROM STDIN [WITH …]` → the table and column count; undefined for anything else. */
export function copyFromStdinTarget(sql: string): { table: string; columns?: number; binary: boolean } | undefined {
  const stmts = splitSimple(sql);
  if (stmts.length !== 1) return undefined;
  const m = /^\s*COPY\s+((?:"(?:[^"]|"")+"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\w$]+))?)\s*(\(([^)]*)\))?\s*FROM\s+STDIN\b(.*)$/is.exec(stmts[0]);
  if (!m) return undefined;
  const columns = m[3] !== undefined ? m[3].split(',').length : undefined;
  const binary = /\bBINARY\b/i.test(m[4] ?? '');
  return { table: m[1], columns, binary };
}

function sqlLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

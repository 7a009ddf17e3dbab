// One session as the other sessions see it: its pg_stat_activity row, the target of signals, a listener
// and sender of notifications. It is the session's SessionMonitor: before a batch reaches the engine it
// writes the files the engine's cross-session functions read (src/engine/backend-catalog.ts) and makes
// the engine listen where it must; it reads the engine's output for notifications and signal requests.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { SqlError, SQLSTATE } from '../errors.js';
import type { EngineInstance, ExecOutcome, OutputSink } from '../engine/instance.js';
import { removeBackendFile, writeBackendFile } from '../engine/backend-catalog.js';
import type { BatchStatement, SessionWriter } from '../session/session.js';
import type { SessionMonitor } from '../session/session-monitor.js';
import { ListenState, listenedChannels } from './listen-state.js';
import { notificationResponse, watchOutput } from './output-watch.js';
import type { BackendRegistry } from './registry.js';

export interface BackendIdentity {
  pid: number;
  database: string;
  user: string;
  applicationName: string;
  clientAddr?: string;
  clientPort?: number;
  serverAddr?: string;
  serverPort?: number;
  tls?: { version?: string; cipher?: string; bits?: number };
}

/** What a backend can be asked to do by another one. */
export interface SignalTarget {
  /** pg_cancel_backend: as a CancelRequest */
  cancel(): void;
  /** pg_terminate_backend: the client gets this FATAL error and the session ends */
  terminate(err: SqlError): void;
}

/** PostgreSQL keeps track_activity_query_size (1024) bytes of a query, less the terminating zero. */
const QUERY_BYTES = 1023;

/** Statements that read the registry through the engine (or define something that may). */
const READS_ACTIVITY = /pg_stat_activity|pg_stat_get_activity|pg_stat_ssl|pg_stat_gssapi|pg_cancel_backend|pg_terminate_backend/i;
const SIGNALS = /pg_cancel_backend|pg_terminate_backend/i;
/** Statements after which application_name may differ (its ParameterStatus then passes in the output). */
const MAY_SET = /\b(set|reset|discard|rollback|abort|set_config|application_name)\b/i;

const TOUCHES_LISTEN = /\b(listen|unlisten|discard)\b/i;
const ROLLBACK = /\b(rollback|abort)\b/i;

const TERMINATED = new SqlError(SQLSTATE.adminShutdown, 'terminating connection due to administrator command', { severity: 'FATAL' });

export class Backend implements SessionMonitor {
  readonly pid: number;
  readonly database: string;
  readonly user: string;
  private readonly id: BackendIdentity;
  private readonly registry: BackendRegistry;
  private readonly writer: SessionWriter;
  private readonly logger: Logger;
  private readonly nonce = randomBytes(16).toString('hex');
  private target?: SignalTarget;
  private readonly listen = new ListenState();

  // pg_stat_activity
  private readonly backendStart = timestamp();
  private applicationName: string;
  private superuser = true;
  private state = 'idle';
  private query = '';
  private queryStart?: string;
  private xactStart?: string;
  private stateChange = this.backendStart;
  private txStatus = 'I';

  /** the batch running: its statements' texts */
  private texts: string[] = [];
  /** the texts of the client's open transaction (its LISTENs count when it commits) */
  private transactionTexts: string[] = [];
  /** the running batch's output held an ErrorResponse (when the output is watched) */
  private sawError = false;
  private txBefore = 'I';
  /** the session has read the registry or may call what does (a view or function it defined): keep it current */
  private readsActivity = false;
  private mayCallSignals = false;
  private busy = false;
  /** after a batch ended without ReadyForQuery (Flush), its implicit transaction is still open */
  private inImplicitTx = false;
  /** NotificationResponses waiting for the client to leave its transaction */
  private queued: Buffer[] = [];

  constructor(registry: BackendRegistry, id: BackendIdentity, writer: SessionWriter, logger: Logger) {
    this.registry = registry;
    this.id = id;
    this.pid = id.pid;
    this.database = id.database;
    this.user = id.user;
    this.applicationName = id.applicationName;
    this.writer = writer;
    this.logger = logger;
  }

  /** The session is started: it can be signalled, and the others see it. */
  attach(target: SignalTarget, reported: ReadonlyArray<readonly [string, string]>): void {
    this.target = target;
    this.applicationName = reported.find(([k]) => k === 'application_name')?.[1] ?? this.applicationName;
    this.registry.add(this);
  }

  detach(): void {
    this.registry.remove(this.pid);
    this.target = undefined;
  }

  get listenChannels(): ReadonlySet<string> {
    return this.listen.client;
  }

  activityRow(self: boolean): object {
    const active = self || this.state === 'active';
    return {
      datname: this.database, pid: this.pid, usename: this.user, superuser: this.superuser, application_name: this.applicationName,
      client_addr: this.id.clientAddr ?? null, client_port: this.id.clientPort ?? null, backend_start: this.backendStart,
      xact_start: this.xactStart ?? null, query_start: this.queryStart ?? null, state_change: this.stateChange,
      wait_event_type: active ? null : 'Client', wait_event: active ? null : 'ClientRead',
      state: self ? 'active' : this.state, query: this.query, backend_type: 'client backend',
      ssl: this.id.tls !== undefined, sslversion: this.id.tls?.version ?? null, sslcipher: this.id.tls?.cipher ?? null, sslbits: this.id.tls?.bits ?? null,
    };
  }

  async engineReady(engine: EngineInstance): Promise<void> {
    await writeBackendFile(engine.dataDir, 'backend', {
      pid: this.pid, nonce: this.nonce, client_addr: this.id.clientAddr ?? null, client_port: this.id.clientPort ?? null,
      server_addr: this.id.serverAddr ?? null, server_port: this.id.serverPort ?? null,
    });
    await removeBackendFile(engine.dataDir, 'activity');
    await this.listen.engineStarted(engine, this.wantedChannels());
    await writeBackendFile(engine.dataDir, 'listen', [...this.listen.passedOn]);
    const { rows } = await engine.query('SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user');
    this.superuser = rows[0]?.rolsuper !== false;
  }

  batchStarted(statements: readonly BatchStatement[], txStatus: string): void {
    this.busy = true;
    this.texts = statements.map((s) => s.sql);
    const now = timestamp();
    if (this.texts.length) {
      this.query = clip(this.texts[this.texts.length - 1]!);
      this.queryStart = now;
    }
    if (txStatus === 'I' && !this.inImplicitTx) this.xactStart = now;
    if (this.state !== 'active') this.stateChange = now;
    this.state = 'active';
    this.txStatus = txStatus;
    this.txBefore = txStatus;
    this.transactionTexts.push(...this.texts);
    if (this.texts.some((t) => READS_ACTIVITY.test(t))) this.readsActivity = true;
    if (this.texts.some((t) => SIGNALS.test(t))) this.mayCallSignals = true;
  }

  async beforeEngine(engine: EngineInstance, txStatus: string, sink: OutputSink): Promise<OutputSink> {
    try {
      if (this.readsActivity) await writeBackendFile(engine.dataDir, 'activity', this.registry.activityRows(this));
      await this.listen.beforeBatch(engine, txStatus, this.wantedChannels());
      await writeBackendFile(engine.dataDir, 'listen', [...this.listen.passedOn]);
    } catch (err) {
      // the batch still runs; what it reads of other sessions may then be stale
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not prepare the engine for cross-session functions');
    }
    // As PostgreSQL, the session counts as idle from its ReadyForQuery on (its client may act on it at once).
    // Notifications waiting for the client go just before the ReadyForQuery that leaves its transaction.
    const readyAware: OutputSink = (chunk, written) => {
      const status = readyForQueryAtEnd(chunk);
      if (status) {
        this.readyForQuery(status);
        if (status === 'I') this.transactionEnded();
      }
      if (status !== 'I' || !this.queued.length) return sink(chunk, written);
      const queued = this.queued;
      this.queued = [];
      const end = chunk.length - 6;
      sink(Buffer.concat([chunk.subarray(0, end), ...queued, chunk.subarray(end)]), written);
    };
    this.sawError = false;
    const touchesListen = this.texts.some((t) => TOUCHES_LISTEN.test(t));
    if (!touchesListen && !this.listen.listening && !this.mayCallSignals && !this.texts.some((t) => MAY_SET.test(t))) return readyAware;
    const passedOn = this.listen.passedOn;
    // a channel the engine listened to for others, which the client starts listening to in this batch
    const named = new Set(this.texts.flatMap(listenedChannels));
    return watchOutput(readyAware, this.pid, {
      notification: (channel, payload) => {
        const shown = !passedOn.has(channel) || named.has(channel);
        // the engine shows notifications once their transaction has committed: the others get them now
        this.registry.notify(this, [{ channel, payload }]);
        return shown;
      },
      signal: (request) => this.signalRequested(request),
      parameter: (name, value) => {
        if (name === 'application_name') this.applicationName = value;
      },
      error: () => {
        this.sawError = true;
      },
    });
  }

  async afterEngine(engine: EngineInstance, outcome: ExecOutcome | undefined, txBefore: string, txAfter: string): Promise<void> {
    if (!outcome) return; // the engine is gone; the next one listens afresh (engineReady)
    const succeeded = !outcome.sawError && txBefore !== 'E' && !this.texts.some((t) => ROLLBACK.test(t));
    try {
      await this.listen.afterBatch(engine, this.texts, txAfter, succeeded);
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read the channels the engine listens to');
    }
  }

  batchEnded(txStatus: string, ends: 'Z' | 'none'): void {
    this.busy = false;
    this.txStatus = txStatus;
    if (ends === 'none') {
      this.inImplicitTx = true;
      return;
    }
    this.inImplicitTx = false;
    if (this.state === 'active') this.readyForQuery(txStatus);
    if (txStatus === 'I') this.transactionTexts = [];
    this.deliverQueued();
  }

  /** The client's transaction is over (its ReadyForQuery says idle): what it LISTENed counts if it committed. */
  private transactionEnded(): void {
    const texts = this.transactionTexts;
    this.transactionTexts = [];
    const committed = !this.sawError && this.txBefore !== 'E' && !texts.some((t) => ROLLBACK.test(t));
    if (committed && texts.some((t) => TOUCHES_LISTEN.test(t))) this.listen.committed(texts);
  }

  private readyForQuery(txStatus: string): void {
    this.state = txStatus === 'I' ? 'idle' : txStatus === 'T' ? 'idle in transaction' : 'idle in transaction (aborted)';
    this.stateChange = timestamp();
    // an aborted transaction has no start any more, as in PostgreSQL
    if (txStatus !== 'T') this.xactStart = undefined;
  }

  idle(txStatus: string): void {
    this.txStatus = txStatus;
    this.deliverQueued();
  }

  /** A notification another session of this database committed. */
  notification(senderPid: number, channel: string, payload: string): void {
    if (!this.listen.client.has(channel)) return;
    this.queued.push(notificationResponse(senderPid, channel, payload));
    this.deliverQueued();
  }

  /** As PostgreSQL: notifications reach a client between transactions, at once when it is idle. */
  private deliverQueued(): void {
    if (!this.queued.length || this.busy || this.inImplicitTx || this.txStatus !== 'I') return;
    const out = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
    this.queued = [];
    if (!this.writer.destroyed) this.writer.write(out);
  }

  /** The engine's pg_cancel_backend / pg_terminate_backend passed its permission checks: "kind pid nonce". */
  private signalRequested(request: string): 'continue' | 'stop' {
    const [kind, pidText, nonce] = request.split(' ');
    if (nonce !== this.nonce) return 'continue'; // not from the engine's own functions
    const pid = Number(pidText);
    this.logger.info({ target: pid, kind }, kind === 'terminate' ? 'pg_terminate_backend' : 'pg_cancel_backend');
    if (pid === this.pid && kind === 'terminate') {
      this.target?.terminate(TERMINATED);
      return 'stop';
    }
    const target = this.registry.get(pid)?.target;
    if (kind === 'cancel') target?.cancel();
    else if (kind === 'terminate') target?.terminate(TERMINATED);
    return 'continue';
  }

  private wantedChannels(): Set<string> {
    const wanted = this.registry.channelsOfOthers(this.database, this.pid);
    for (const c of this.listen.client) wanted.add(c);
    return wanted;
  }
}

/** The transaction status of the ReadyForQuery that ends `chunk`, if it ends with one. */
function readyForQueryAtEnd(chunk: Uint8Array): string | undefined {
  const n = chunk.length;
  if (n < 6 || chunk[n - 6] !== 0x5a || chunk[n - 5] !== 0 || chunk[n - 4] !== 0 || chunk[n - 3] !== 0 || chunk[n - 2] !== 5) return undefined;
  const status = String.fromCharCode(chunk[n - 1]!);
  return status === 'I' || status === 'T' || status === 'E' ? status : undefined;
}

/** now as PostgreSQL prints a timestamptz in ISO form, to the microsecond */
function timestamp(): string {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.floor((ms - whole) * 1000));
  return `${new Date(whole).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** The query as pg_stat_activity keeps it: at most QUERY_BYTES bytes, cut at a character boundary. */
function clip(query: string): string {
  const bytes = Buffer.from(query, 'utf8');
  if (bytes.length <= QUERY_BYTES) return query;
  let end = QUERY_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

// The TCP front end: SSL negotiation, the startup packet, authentication and cancel requests. It
// hands each authenticated connection to a Session and never interprets SQL itself.
import net from 'node:net';
import tls from 'node:tls';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { SqlError, SQLSTATE } from '../errors.js';
import type { EnginePool } from '../engine/pool.js';
import { Session, type BatchPreparer } from '../session/session.js';
import * as msg from './backend-messages.js';
import { FrontendFramer } from './frontend-framer.js';
import { NotAStartupPacket, parseOptions, readStartupPacket } from './startup.js';
import { ScramServer, SCRAM_MECHANISM, passwordMatchesVerifier } from './scram.js';
import { BackendRegistry } from '../backends/registry.js';
import { backendOfConnection } from '../backends/connection-identity.js';
import { CancelForwarder, InstancePids, type InstanceDirectory } from './cancel-forwarder.js';

export interface DatabaseBackend {
  pool: EnginePool;
  /** tables emptied when an engine is handed to the next session */
  keapTables?: readonly string[];
  /** a Keap loader for each new session (absent: a plain PostgreSQL database) */
  createPreparer?: (logger: Logger) => BatchPreparer;
}

export interface ListenerOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  users: ReadonlyArray<{ name: string; verifier: string }>;
  trust: boolean | readonly string[];
  /** "password": cleartext passwords (checked against the verifier), accepted only over TLS */
  passwordMethod?: 'scram-sha-256' | 'password';
  maxSessions: number;
  maxMessageBytes: number;
  /** time a client has from connecting to being authenticated (PostgreSQL's authentication_timeout); default 60 s */
  startupTimeoutMs?: number;
  databases: ReadonlyMap<string, DatabaseBackend>;
  logger: Logger;
  /**
   * With a CacheConnection: this instance among the others. Pids then carry its id, and a CancelRequest
   * for another instance's pid is forwarded there. Without it pids are small numbers, as before.
   */
  instances?: InstanceDirectory;
}

interface LiveSession {
  session: Session;
  secretKey: number;
  socket: net.Socket;
}

export class PgListener {
  private readonly o: ListenerOptions;
  private server?: net.Server;
  private readonly sessions = new Map<number, LiveSession>();
  /** what the sessions know of each other (pg_stat_activity, signals, notifications) */
  readonly backends = new BackendRegistry();
  private readonly sockets = new Set<net.Socket>();
  private nextPid = 1000 + randomInt(1000);
  private readonly instancePids?: InstancePids;
  private readonly forwarder?: CancelForwarder;
  /** pids handed out to sessions still starting (not yet in `sessions`) */
  private readonly startingPids = new Set<number>();
  private secureContext?: tls.SecureContext;
  private stopping = false;
  private startingSessions = 0;

  constructor(o: ListenerOptions) {
    this.o = o;
    if (o.tls) this.secureContext = tls.createSecureContext({ cert: o.tls.cert, key: o.tls.key });
    if (o.instances) {
      this.instancePids = new InstancePids(o.instances);
      this.forwarder = new CancelForwarder(o.instances, o.logger);
    }
  }

  private allocatePid(): number {
    if (!this.instancePids) return this.nextPid++;
    return this.instancePids.next((pid) => this.sessions.has(pid) || this.startingPids.has(pid));
  }

  /** A session of this instance is cancelled here; another instance's pid goes to that instance. */
  private async cancelRequest(pid: number, secretKey: number): Promise<void> {
    const live = this.sessions.get(pid);
    if (live) {
      // the secret is compared, never logged
      if (live.secretKey === secretKey) {
        this.o.logger.info({ session: pid }, 'cancel request');
        live.session.cancel();
      }
      return;
    }
    await this.forwarder?.forward(pid, secretKey);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async listen(): Promise<{ host: string; port: number }> {
    const server = net.createServer((socket) => this.accept(socket));
    server.on('error', (err) => this.o.logger.error({ err }, 'listener error'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  /** Stops accepting, lets running batches finish for up to graceMs, then closes every session. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    const deadline = Date.now() + graceMs;
    const live = [...this.sessions.values()];
    await Promise.race([
      Promise.all(live.map((s) => s.session.idle())),
      new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
    ]);
    for (const s of this.sessions.values()) {
      if (!s.socket.destroyed) {
        s.socket.write(msg.errorResponse({ severity: 'FATAL', sqlstate: SQLSTATE.adminShutdown, message: 'terminating connection due to administrator command' }));
      }
      await s.session.close();
      s.socket.end();
    }
    for (const socket of this.sockets) socket.destroy();
  }

  private accept(raw: net.Socket): void {
    raw.setNoDelay(true);
    this.sockets.add(raw);
    raw.on('close', () => this.sockets.delete(raw));
    raw.on('error', () => undefined);
    // without a deadline, a client that never completes its startup packet holds a socket forever
    const deadline = setTimeout(() => {
      this.o.logger.info({ remote: raw.remoteAddress }, 'startup not completed in time: closing the connection');
      raw.destroy();
    }, this.o.startupTimeoutMs ?? 60_000);
    deadline.unref();
    raw.on('close', () => clearTimeout(deadline));
    void this.handshake(raw, () => clearTimeout(deadline)).catch((err) => {
      if (err instanceof NotAStartupPacket) this.o.logger.info({ remote: raw.remoteAddress, reason: err.message }, 'not a PostgreSQL client: closing the connection');
      else this.o.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'connection ended during startup');
      raw.destroy();
    });
  }

  private async handshake(raw: net.Socket, authenticated: () => void): Promise<void> {
    let socket: net.Socket = raw;
    let reader = new PacketReader(socket);
    let sslDone = false;
    for (;;) {
      let packet;
      try {
        packet = await reader.startupPacket();
      } catch (err) {
        if (!(err instanceof SqlError)) throw err;
        // PostgreSQL says why it refuses a startup packet (bad layout, unsupported protocol) before closing
        this.o.logger.debug({ sqlstate: err.sqlstate, reason: err.message }, 'startup packet refused');
        reader.detach();
        const s = socket;
        s.end(msg.errorResponse({ severity: 'FATAL', sqlstate: err.sqlstate, message: err.message }), () => s.destroy());
        return;
      }
      if (packet.kind === 'terminate') throw new ClientGone('the client sent Terminate before its startup packet');
      if (packet.kind === 'ssl' || packet.kind === 'gssenc') {
        if (sslDone) throw new SqlError(SQLSTATE.protocolViolation, 'SSL negotiation repeated');
        if (packet.kind === 'gssenc' || !this.secureContext) {
          socket.write(msg.sslResponse(false));
          continue;
        }
        sslDone = true;
        if (reader.hasBuffered()) throw new SqlError(SQLSTATE.protocolViolation, 'received unencrypted data after SSL request');
        reader.detach();
        socket.write(msg.sslResponse(true));
        const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.secureContext });
        secure.on('error', () => undefined);
        socket = secure;
        reader = new PacketReader(socket);
        continue;
      }
      if (packet.kind === 'cancel') {
        // closed once handled (or forwarded and handled there): libpq waits for that before it returns
        await this.cancelRequest(packet.processId, packet.secretKey);
        socket.end();
        return;
      }
      reader.detach();
      await this.startSession(socket, packet.params, reader.rest(), raw.remoteAddress ?? '', socket !== raw, authenticated);
      return;
    }
  }

  private async startSession(socket: net.Socket, params: Record<string, string>, rest: Buffer, remote: string, secure: boolean, authenticated: () => void): Promise<void> {
    const fail = (e: SqlError) => {
      socket.end(msg.errorResponse({ severity: 'FATAL', sqlstate: e.sqlstate, message: e.message, detail: e.detail, hint: e.hint }));
    };
    const user = params.user;
    if (!user) return fail(new SqlError(SQLSTATE.invalidAuthorization, 'no PostgreSQL user name specified in startup packet'));
    const database = params.database || user;
    const log = this.o.logger.child({ user, database, remote, app: params.application_name });
    if (this.stopping) return fail(new SqlError('57P03', 'the database system is shutting down'));

    const auth = new Authenticator(this.o, socket, user, remote, secure);
    const authError = await auth.run();
    if (authError) {
      log.info({ sqlstate: authError.sqlstate }, 'authentication failed');
      return fail(authError);
    }
    authenticated();
    const backend = this.o.databases.get(database);
    if (!backend) return fail(new SqlError(SQLSTATE.unknownDatabase, `database "${database}" does not exist`));
    if (this.sessions.size + this.startingSessions >= this.o.maxSessions) {
      return fail(new SqlError(SQLSTATE.tooManyConnections, 'sorry, too many clients already', { detail: `keapgres is configured for at most ${this.o.maxSessions} sessions.` }));
    }
    let settings: Array<[string, string]>;
    try {
      settings = startupSettings(params);
    } catch (err) {
      return fail(err as SqlError);
    }

    this.startingSessions++;
    let session: Session;
    let reported: Array<[string, string]>;
    const pid = this.allocatePid();
    this.startingPids.add(pid);
    const secretKey = randomInt(0x7fffffff);
    const seen = backendOfConnection(this.backends, socket, { pid, database, user, applicationName: params.application_name ?? '' }, log.child({ session: pid }));
    try {
      const engine = await backend.pool.acquire();
      session = new Session({
        writer: socket,
        pool: backend.pool,
        engine,
        user,
        // the served name, when a client asked for another name of it (postgres, template1)
        database: backend.pool.database,
        settings,
        preparer: backend.createPreparer?.(log.child({ session: pid })),
        keapTables: backend.keapTables ?? [],
        logger: log.child({ session: pid }),
        maxCopyBytes: 1 << 30,
        monitor: seen,
      });
      try {
        reported = await session.start();
      } catch (err) {
        await session.close();
        throw err;
      }
    } catch (err) {
      this.startingSessions--;
      this.startingPids.delete(pid);
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'session start failed');
      return fail(err instanceof SqlError ? err : new SqlError(SQLSTATE.internalError, 'could not start a query engine for this session'));
    }
    this.startingSessions--;
    this.startingPids.delete(pid);
    if (socket.destroyed) {
      log.debug({ session: pid }, 'the client left before its session started');
      await session.close();
      return;
    }
    this.sessions.set(pid, { session, secretKey, socket });
    seen.attach(session, reported);
    log.info({ session: pid, tls: secure }, 'session started');
    const out: Buffer[] = [msg.authenticationOk()];
    for (const [k, v] of reported) out.push(msg.parameterStatus(k, v));
    out.push(msg.backendKeyData(pid, secretKey), msg.readyForQuery('I'));
    socket.write(Buffer.concat(out));

    const framer = new FrontendFramer(this.o.maxMessageBytes);
    const onData = (chunk: Buffer) => {
      try {
        const messages = framer.push(chunk);
        if (messages.length) session.receive(messages);
      } catch (err) {
        const e = err instanceof SqlError ? err : new SqlError(SQLSTATE.protocolViolation, 'invalid message');
        log.info({ sqlstate: e.sqlstate, reason: e.message }, 'protocol violation: closing the connection');
        socket.off('data', onData);
        socket.end(msg.errorResponse({ severity: 'FATAL', sqlstate: e.sqlstate, message: e.message }));
        void session.close();
      }
    };
    const end = () => {
      if (!this.sessions.has(pid)) return;
      this.sessions.delete(pid);
      seen.detach();
      log.info({ session: pid }, "session ended");
      void session.close();
    };
    session.onClose(() => {
      if (!socket.destroyed) socket.end();
      end();
    });
    socket.on('data', onData);
    socket.on('close', end);
    socket.on('error', end);
    if (rest.length) onData(rest);
  }
}

/** Settings a StartupMessage carries besides user and database, and those in `options`. */
function startupSettings(params: Record<string, string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(params)) {
    if (k === 'user' || k === 'database' || k === 'options' || k === 'replication') continue;
    out.push([k, v]);
  }
  if (params.options) out.push(...parseOptions(params.options));
  return out;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** One authentication exchange: trust, SCRAM-SHA-256, or refusal. */
class Authenticator {
  constructor(
    private readonly o: ListenerOptions,
    private readonly socket: net.Socket,
    private readonly user: string,
    private readonly remote: string,
    private readonly secure: boolean,
  ) {}

  /** Resolves undefined on success, or the error to send (FATAL). */
  async run(): Promise<SqlError | undefined> {
    const { users, trust } = this.o;
    if (users.length === 0 && trust === false) {
      // No users configured: only this machine may connect, without a password.
      if (!isLoopback(this.remote)) {
        return new SqlError(SQLSTATE.invalidAuthorization, `no users are configured: keapgres accepts only loopback connections`, {
          hint: 'Add users with "keapgres passwd USER" to the configuration to accept connections from other hosts.',
        });
      }
      return undefined;
    }
    if (trust === true || (Array.isArray(trust) && trust.includes(this.user))) return undefined;
    const entry = users.find((u) => u.name === this.user);
    if (this.o.passwordMethod === 'password') return this.cleartext(entry?.verifier ?? null);
    return this.scram(entry?.verifier ?? null);
  }

  /** A cleartext password, for clients without SCRAM: only inside TLS, checked against the stored verifier. */
  private async cleartext(verifier: string | null): Promise<SqlError | undefined> {
    if (!this.secure) {
      return new SqlError(SQLSTATE.invalidAuthorization, 'cleartext password authentication is accepted only over TLS', {
        hint: 'Connect with sslmode=require (or verify-full).',
      });
    }
    this.socket.write(msg.authenticationCleartextPassword());
    const reader = new PacketReader(this.socket);
    try {
      const body = await reader.passwordMessage();
      const end = body.indexOf(0);
      const password = body.toString('utf8', 0, end < 0 ? body.length : end);
      if (verifier !== null && passwordMatchesVerifier(password, verifier)) return undefined;
    } catch (err) {
      if (err instanceof ClientGone) throw err;
      // a malformed password message fails like a wrong password
    } finally {
      reader.detach();
    }
    return new SqlError(SQLSTATE.invalidPassword, `password authentication failed for user "${this.user}"`);
  }

  private async scram(verifier: string | null): Promise<SqlError | undefined> {
    const failed = new SqlError(SQLSTATE.invalidPassword, `password authentication failed for user "${this.user}"`);
    const server = new ScramServer(verifier, this.user);
    this.socket.write(msg.authenticationSasl([SCRAM_MECHANISM]));
    const reader = new PacketReader(this.socket);
    try {
      const first = await reader.passwordMessage();
      const mechEnd = first.indexOf(0);
      const mechanism = first.toString('utf8', 0, mechEnd);
      if (mechanism !== SCRAM_MECHANISM) {
        return new SqlError(SQLSTATE.protocolViolation, 'client selected an invalid SASL authentication mechanism');
      }
      const len = first.readInt32BE(mechEnd + 1);
      const clientFirst = first.toString('utf8', mechEnd + 5, mechEnd + 5 + Math.max(0, len));
      this.socket.write(msg.authenticationSaslContinue(server.handleClientFirst(clientFirst)));
      const final = await reader.passwordMessage();
      const result = server.handleClientFinal(final.toString('utf8'));
      if (!result.ok || !result.serverFinal) return failed;
      this.socket.write(msg.authenticationSaslFinal(result.serverFinal));
      return undefined;
    } catch (err) {
      if (err instanceof ClientGone) throw err;
      if (err instanceof SqlError) return err.sqlstate === SQLSTATE.invalidPassword ? failed : err;
      return failed;
    } finally {
      reader.detach();
    }
  }
}

/**
 * The client closed (or said Terminate) before it was in a session: a probe, a pool shutting down, a
 * user who gave up at the password prompt. Nothing is sent back and it is logged at debug only, as
 * PostgreSQL says nothing when a client leaves during startup or authentication.
 */
class ClientGone extends Error {}

/** Reads length-prefixed packets from a socket during the handshake (before the framer takes over). */
class PacketReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter?: () => void;
  private ended = false;
  private readonly onData = (chunk: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.waiter?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.waiter?.();
  };

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  hasBuffered(): boolean {
    return this.buf.length > 0;
  }

  rest(): Buffer {
    return this.buf;
  }

  detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
  }

  private async more(): Promise<void> {
    if (this.ended) throw new ClientGone('connection closed during startup');
    await new Promise<void>((resolve) => (this.waiter = resolve));
    this.waiter = undefined;
  }

  async startupPacket() {
    for (;;) {
      const r = readStartupPacket(this.buf);
      if (r) {
        this.buf = this.buf.subarray(r.used);
        return r.packet;
      }
      await this.more();
    }
  }

  /** A PasswordMessage / SASLInitialResponse / SASLResponse ('p'): its body. */
  async passwordMessage(): Promise<Buffer> {
    for (;;) {
      if (this.buf.length >= 5) {
        if (this.buf[0] !== 0x70) throw new SqlError(SQLSTATE.protocolViolation, `expected SASL response, got message type ${this.buf[0]}`);
        const len = this.buf.readUInt32BE(1);
        if (len < 4 || len > 10000) throw new SqlError(SQLSTATE.protocolViolation, 'invalid SASL response length');
        if (this.buf.length >= len + 1) {
          const body = this.buf.subarray(5, len + 1);
          this.buf = this.buf.subarray(len + 1);
          return body;
        }
      }
      await this.more();
    }
  }
}

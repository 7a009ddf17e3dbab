// CancelRequests across instances. A client cancels by opening a new connection and sending its session's
// pid and secret key; behind a load balancer that connection may reach any instance. Instances sharing a
// CacheConnection put their instance id into the pids they hand out, so the instance that gets a
// CancelRequest for a pid not its own sends the same 16 bytes to the instance the id names. The secret is
// checked there (it never leaves the packet, and is never logged); a bad or unknown one is ignored, as
// PostgreSQL ignores bad cancels.
import net from 'node:net';
import type { Logger } from 'pino';
import { CANCEL_REQUEST_CODE } from './startup.js';

/** pid = instance id << PID_COUNTER_BITS | a per-instance counter: ids up to 2047 keep it a positive int32 */
export const PID_COUNTER_BITS = 20;
const COUNTER_MASK = (1 << PID_COUNTER_BITS) - 1;

export function instanceOfPid(pid: number): number {
  return pid > 0 ? pid >>> PID_COUNTER_BITS : 0;
}

export interface InstanceAddress {
  readonly host: string;
  readonly port: number;
}

/** What the listener needs of the instances table (src/shared-state/instances.ts). */
export interface InstanceDirectory {
  /** this instance's id: its new pids carry it */
  readonly id: number;
  /** where this instance accepts CancelRequests, as the others see it */
  readonly address: InstanceAddress;
  /** a live instance's address, or undefined */
  addressOf(id: number): Promise<InstanceAddress | undefined>;
}

/** Hands out pids carrying the instance id: a counter from a random start, skipping pids in use. */
export class InstancePids {
  private counter: number;

  constructor(private readonly directory: InstanceDirectory) {
    this.counter = 1 + Math.floor(Math.random() * (COUNTER_MASK >>> 1));
  }

  next(inUse: (pid: number) => boolean): number {
    // at most maxSessions (100,000) pids are in use, so a free one is found among 2^20
    for (;;) {
      this.counter = (this.counter + 1) & COUNTER_MASK;
      if (this.counter === 0) continue;
      const pid = ((this.directory.id << PID_COUNTER_BITS) | this.counter) >>> 0;
      if (!inUse(pid)) return pid;
    }
  }
}

/** A request forwarded again within this time is dropped: whatever the table says meanwhile, no request circles. */
const RECENT_MS = 1_000;
/** How long a forward may take: connect, send, and see the other instance close (it has handled it then). */
const FORWARD_TIMEOUT_MS = 5_000;

export class CancelForwarder {
  private readonly recent = new Map<string, number>();

  constructor(private readonly directory: InstanceDirectory, private readonly logger: Logger) {}

  /**
   * Handles a CancelRequest whose pid is no session of this instance: forwarded when the pid names
   * another live instance, else dropped. Resolves once the other instance has closed the connection
   * (PostgreSQL closes a cancel connection after handling it, and libpq waits for that) or it failed.
   */
  async forward(pid: number, secretKey: number): Promise<void> {
    const target = instanceOfPid(pid);
    if (target === 0 || target === this.directory.id) return; // this instance's, and gone: ignored, as PostgreSQL does
    // the secret is part of the key so that a guessed pid cannot hold back the real request
    const key = `${pid}:${secretKey}`;
    const now = Date.now();
    for (const [k, at] of this.recent) if (now - at >= RECENT_MS) this.recent.delete(k);
    if (this.recent.has(key)) {
      this.logger.debug({ pid, instance: target }, 'cancel request seen again within a second: not forwarded again');
      return;
    }
    this.recent.set(key, now);
    let address: InstanceAddress | undefined;
    try {
      address = await this.directory.addressOf(target);
    } catch (err) {
      this.logger.warn({ pid, instance: target, err: err instanceof Error ? err.message : String(err) }, 'cancel request for another instance not forwarded: the CacheConnection PostgreSQL did not answer');
      return;
    }
    if (!address) {
      this.logger.info({ pid, instance: target }, 'cancel request for an instance that is not running: ignored');
      return;
    }
    const self = this.directory.address;
    if (address.host === self.host && address.port === self.port) return; // never to itself
    this.logger.info({ pid, instance: target, to: `${address.host}:${address.port}` }, 'cancel request forwarded to the instance of its session');
    await send(address, cancelPacket(pid, secretKey)).catch((err: unknown) => {
      this.logger.warn({ pid, instance: target, to: `${address.host}:${address.port}`, err: err instanceof Error ? err.message : String(err) }, 'could not forward a cancel request');
    });
  }
}

/** The CancelRequest as the client sent it: length 16, the cancel code, pid, secret key. */
export function cancelPacket(pid: number, secretKey: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32BE(16, 0);
  b.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  b.writeInt32BE(pid | 0, 8);
  b.writeInt32BE(secretKey | 0, 12);
  return b;
}

function send(address: InstanceAddress, packet: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${FORWARD_TIMEOUT_MS / 1000} s`));
    }, FORWARD_TIMEOUT_MS);
    timer.unref();
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(packet));
    socket.on('data', () => undefined);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('end', () => socket.end());
  });
}

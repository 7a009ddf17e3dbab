// Keap's rate limits are per app, so keapgres instances calling Keap with one app divide them between
// themselves through the CacheConnection PostgreSQL: each instance that is calling Keap holds a lease of
// whole requests per second, renewed a few times a second while it has requests to send and dropped when
// idle. Leases are granted under an advisory lock, a fair share each (budget ÷ instances asking) and never
// more than the budget minus the others' unexpired leases. An instance whose share shrinks goes on
// declaring the larger share for one more second of the gateway's sliding window, so the difference is
// granted to another only once the sends made at the old rate have left that window; its pacer holds every
// second of its own sends within its share (keap/pacer.ts). So the gateway never sees more than the budget
// in any second. A sole instance leaves a small reserve unleased, so a second one starts at once.
//
// The x-keap-* quota headers any instance sees lower the budget of all (quota_headers). A lease that was not
// renewed in time is not used (others may hold it now); when the shared PostgreSQL cannot be reached, Keap
// calls fail with a clear error rather than guess at a rate.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import type { RateShare } from '../keap/pacer.js';
import { SqlError } from '../errors.js';
import { SCHEMA } from './migrations.js';
import { inTransaction, openSharedPostgres, unreachable, type SharedPostgres } from './postgres-connection.js';

export interface PostgresRateShareOptions {
  /** the Keap app whose limits are shared (a digest of its identity; no secret) */
  account: string;
  /** requests of any one second all instances together may send: the pacer's sharedBudget */
  budget: number;
  /** ms between renewals while requests are waiting (default 200) */
  renewMs?: number;
  /** ms a lease lasts unless renewed (default 1500): how long a dead instance's share stays taken */
  leaseMs?: number;
  /** ms without a request after which the lease is given back (default 400: a finished scan's share goes to the others soon) */
  idleMs?: number;
}

/** the gateway's sliding second, and the time a renewal takes to arrive */
const SLIDING_WINDOW_MS = 1200;

/** requests per second a sole instance leaves unleased, so that another starts without waiting a window */
function reserveOf(budget: number): number {
  return budget >= 8 ? Math.max(1, Math.round(budget / 12)) : 0;
}

/** how long a quota header observation lowers every instance's budget */
const HEADER_MEMORY_SECONDS = 60;

export class PostgresRateShare implements RateShare {
  private share = 0;
  /** a larger share used within the last window: declared until `highUntil` */
  private high = 0;
  private highUntil = 0;
  /** local time until which the share holds (the lease's expiry as granted, less a renewal's round trip) */
  private validUntil = 0;
  private lastDemand = 0;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<{ resolve(): void; reject(err: unknown): void }> = [];
  private failure: SqlError | undefined;
  private headerRate = Infinity;
  private headerRateSent = Infinity;
  private closed = false;
  readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly renewMs: number;
  private readonly leaseMs: number;
  private readonly idleMs: number;

  private constructor(private readonly db: SharedPostgres & { release(): Promise<void> }, private readonly o: PostgresRateShareOptions, private readonly logger: Logger) {
    this.renewMs = o.renewMs ?? 200;
    this.leaseMs = o.leaseMs ?? 1500;
    this.idleMs = o.idleMs ?? 400;
  }

  static async open(url: string, o: PostgresRateShareOptions, logger: Logger): Promise<PostgresRateShare> {
    return new PostgresRateShare(await openSharedPostgres(url, logger), o, logger);
  }

  get perSecond(): number {
    // a lease not renewed in time may have been granted to others since: nothing is sent on it
    return Date.now() < this.validUntil ? this.share : 0;
  }

  demand(ms: number): void {
    this.lastDemand = Math.max(this.lastDemand, Date.now() + ms);
    if (!this.running && !this.timer && !this.closed) this.running = this.renew();
  }

  granted(signal?: AbortSignal): Promise<void> {
    if (this.perSecond > 0) return Promise.resolve();
    // a renewal under way (after a failure) decides; without one the last failure answers
    if (this.failure && !this.running) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const w = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  observeHeaderRate(perSecond: number): void {
    this.headerRate = perSecond;
  }

  /** Gives the lease back (server shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    if (!this.failure) await this.release().catch(() => undefined);
    await this.db.release();
  }

  private async renew(): Promise<void> {
    const idle = this.waiters.length === 0 && Date.now() - this.lastDemand > this.idleMs;
    const asked = Date.now();
    try {
      const granted = idle ? await this.release() : await this.lease();
      this.failure = undefined;
      if (granted < this.share) {
        this.high = Math.max(this.share, Date.now() < this.highUntil ? this.high : 0);
        this.highUntil = Date.now() + SLIDING_WINDOW_MS;
      }
      this.share = granted;
      // the lease counts from the server's now(), later than `asked`; a margin for the clocks' rates
      this.validUntil = asked + this.leaseMs - 100;
      if (this.perSecond > 0) for (const w of this.waiters.splice(0)) w.resolve();
    } catch (err) {
      this.failure = err instanceof SqlError ? err : unreachable(this.db.display, err);
      this.logger.warn({ err: this.failure.message }, 'could not renew the Keap request share in the CacheConnection PostgreSQL');
      if (this.perSecond === 0) for (const w of this.waiters.splice(0)) w.reject(this.failure);
    } finally {
      this.running = undefined;
      if (!this.closed && !idle) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (!this.running) this.running = this.renew();
        }, this.failure ? Math.max(this.renewMs, 1000) : this.renewMs);
        this.timer.unref();
      }
    }
  }

  /** Renews (or asks for) this instance's lease; returns requests per second granted. */
  private async lease(): Promise<number> {
    return inTransaction(this.db, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`keapgres:quota:${this.o.account}`]);
      if (this.headerRate !== this.headerRateSent && Number.isFinite(this.headerRate)) {
        await client.query(
          `INSERT INTO ${SCHEMA}.quota_headers (account, per_second, observed_at) VALUES ($1, $2, now())
           ON CONFLICT (account) DO UPDATE SET per_second = EXCLUDED.per_second, observed_at = now()`,
          [this.o.account, this.headerRate],
        );
      }
      this.headerRateSent = this.headerRate;
      // a lease that ran out still holds its share for a window: its last sends are in the gateway's second
      const { rows } = await client.query<{ others: number; sum: number; header: number | null }>(
        `SELECT (SELECT count(*) FROM ${SCHEMA}.quota_leases WHERE account = $1 AND holder <> $2 AND expires_at > now())::int AS others,
                (SELECT coalesce(sum(per_second), 0) FROM ${SCHEMA}.quota_leases WHERE account = $1 AND holder <> $2 AND expires_at > now() - make_interval(secs => $4))::int AS sum,
                (SELECT per_second FROM ${SCHEMA}.quota_headers WHERE account = $1 AND observed_at > now() - make_interval(secs => $3)) AS header`,
        [this.o.account, this.holder, HEADER_MEMORY_SECONDS, SLIDING_WINDOW_MS / 1000],
      );
      const { others, sum, header } = rows[0]!;
      const budget = Math.max(1, Math.min(this.o.budget, header === null ? Infinity : Math.floor(header)));
      const fair = others === 0 ? budget - reserveOf(budget) : Math.max(1, Math.floor(budget / (others + 1)));
      const grant = Math.max(0, Math.min(fair, budget - sum));
      // what others must leave free: the larger share while sends made at it are still in the window
      // what others must leave free: the share in use, and a larger one used within the last window (until
      // it was lowered, or until its lease ran out unrenewed)
      const now = Date.now();
      const inUse = now < this.validUntil ? this.share : 0;
      let high = now < this.highUntil ? this.high : 0;
      if (inUse === 0 && now < this.validUntil + SLIDING_WINDOW_MS) high = Math.max(high, this.share);
      const declared = Math.max(grant, inUse, high);
      await client.query(
        `INSERT INTO ${SCHEMA}.quota_leases (account, holder, per_second, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (account, holder) DO UPDATE SET per_second = EXCLUDED.per_second, expires_at = EXCLUDED.expires_at`,
        [this.o.account, this.holder, declared, this.leaseMs / 1000],
      );
      await client.query(`DELETE FROM ${SCHEMA}.quota_leases WHERE account = $1 AND expires_at < now() - interval '1 minute'`, [this.o.account]);
      return grant;
    });
  }

  /** Ends the lease now; its share stays counted for one more window (the last sends are still in it). */
  private async release(): Promise<number> {
    await this.db.pool.query(`UPDATE ${SCHEMA}.quota_leases SET expires_at = least(expires_at, now()) WHERE account = $1 AND holder = $2`, [this.o.account, this.holder]);
    return 0;
  }
}

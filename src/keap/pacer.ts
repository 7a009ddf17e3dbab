// Spaces requests to Keap below its spike-arrest limit (25 calls/second) and slows down further when the
// `x-keap-*-throttle-available` / `-quota-available` headers say a per-minute or per-day bucket is running low.
// One pacer per connector: every request of every concurrent fetch takes its slot here.
import { setTimeout as sleep } from 'node:timers/promises';

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface PacerOptions {
  /** the API's spike limit, requests per second */
  spikePerSecond: number;
  /** fraction of the spike limit actually used; the rest absorbs clock skew between us and the gateway */
  headroom?: number;
  /** slowest rate the header feedback may impose, requests per second */
  minPerSecond?: number;
  now?: () => number;
}

/**
 * This process's share of an app's request rate when several keapgres instances call Keap with the same app
 * (src/shared-state/postgres-quota.ts): the shares of all instances never sum above the spike limit.
 */
export interface RateShare {
  /** requests per second this instance may send now; 0: none until a share is granted */
  readonly perSecond: number;
  /** a request wants to leave now or within `ms`: keeps this instance's share, or asks for one */
  demand(ms: number): void;
  /** resolves once perSecond > 0; rejects when no share can be had (the shared PostgreSQL is down) */
  granted(signal?: AbortSignal): Promise<void>;
  /** the rate Keap's quota headers allow the whole app (Infinity: plenty left), for the other instances too */
  observeHeaderRate(perSecond: number): void;
}

/** Header families that describe a bucket: `<prefix>-limit`, `-available`, `-time-unit`, `-interval`. */
const BUCKET_PREFIXES = ['x-keap-product-throttle', 'x-keap-tenant-throttle', 'x-keap-product-quota'] as const;

/** the gateway's one-second window, and a little for the clocks' difference */
const WINDOW_MS = 1005;

const UNIT_SECONDS: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86_400 };

export class RequestPacer {
  private spikeRate: number;
  /** the gateway's limit itself, requests per second */
  private spikeLimit: number;
  private readonly headroom: number;
  private readonly minRate: number;
  private readonly now: () => number;
  private headerRate = Infinity;
  private share: RateShare | undefined;
  private nextSlotAt = 0;
  private holdUntil = 0;
  /** when the requests of the last second left, oldest first */
  private readonly recent: number[] = [];

  constructor(opts: PacerOptions) {
    if (!(opts.spikePerSecond > 0)) throw new RangeError('spikePerSecond must be positive');
    // Little headroom is needed: the real send times are also held below the limit in every second.
    this.headroom = opts.headroom ?? 0.97;
    this.spikeLimit = opts.spikePerSecond;
    this.spikeRate = opts.spikePerSecond * this.headroom;
    this.minRate = Math.min(opts.minPerSecond ?? 0.5, this.spikeRate);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Requests per second the pacer currently allows. */
  get ratePerSecond(): number {
    const local = Math.max(this.minRate, Math.min(this.spikeRate, this.headerRate));
    return this.share && this.share.perSecond > 0 ? Math.min(local, this.share.perSecond) : local;
  }

  /** Requests of any one second that the instances of an app may send between them (what shares divide). */
  get sharedBudget(): number {
    return Math.max(1, Math.floor(Math.min(this.spikeRate, Math.ceil(this.spikeLimit) - 1)));
  }

  /** From now on this instance sends within `share` (many instances, one app). */
  shareWith(share: RateShare): void {
    this.share = share;
  }

  /** Time (ms) until a slot would be free, without taking one. */
  delayBeforeNext(): number {
    return Math.max(0, this.nextSlotAt - this.now(), this.holdUntil - this.now());
  }

  /** Waits for this request's slot. Slots are handed out in call order, one every 1/rate seconds. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.share) {
      this.share.demand(0);
      if (this.share.perSecond <= 0) await this.share.granted(signal);
    }
    const now = this.now();
    const start = Math.max(now, this.nextSlotAt, this.holdUntil);
    this.nextSlotAt = start + 1000 / this.ratePerSecond;
    const wait = start - now;
    // a request waiting for its slot is demand too: the share is kept until it leaves
    if (wait > 0) this.share?.demand(wait);
    if (wait > 0.5) await sleep(wait, undefined, { signal });
    // the share may have lapsed meanwhile (not renewed in time): wait for it again
    if (this.share && this.share.perSecond <= 0) await this.share.granted(signal);
    // Slots are planned; a busy event loop wakes sleepers late and together, and a late request beside an
    // on-time one puts more into one second than the gateway's sliding window takes. So the times requests
    // really leave are checked too: fewer than the spike limit in any second.
    for (;;) {
      const t = this.now();
      while (this.recent.length > 0 && (this.recent[0] as number) < t - WINDOW_MS) this.recent.shift();
      if (this.recent.length < this.perWindow()) {
        this.recent.push(t);
        return;
      }
      await sleep((this.recent[0] as number) + WINDOW_MS - t + 1, undefined, { signal });
    }
  }

  /** Requests allowed in any one second: the planned rate's worth, one below the gateway's limit. */
  private perWindow(): number {
    const limit = Math.ceil(this.spikeLimit) - 1;
    return Math.max(1, Math.min(Math.ceil(this.ratePerSecond), limit));
  }

  /** After a 429: nothing leaves before `ms` from now (every concurrent fetch waits, not just the one that hit it). */
  holdFor(ms: number): void {
    this.holdUntil = Math.max(this.holdUntil, this.now() + ms);
  }

  /** The gateway named a lower spike limit than configured (a 429 "Allowed rate : 10ps"): adopt it. */
  lowerSpikeLimit(perSecond: number): void {
    if (perSecond > 0) {
      this.spikeLimit = Math.min(this.spikeLimit, perSecond);
      this.spikeRate = Math.min(this.spikeRate, perSecond * this.headroom);
    }
  }

  /** Reads the quota headers of a response and adapts the rate. */
  observe(headers: ResponseHeaders): void {
    this.headerRate = rateFromQuotaHeaders(headers);
    this.share?.observeHeaderRate(this.headerRate);
  }
}

/**
 * The request rate the quota headers allow: unlimited while every bucket has plenty left; once one runs low,
 * what is left of it spread over one whole window (we cannot know when the window resets).
 */
export function rateFromQuotaHeaders(headers: ResponseHeaders): number {
  let rate = Infinity;
  for (const prefix of BUCKET_PREFIXES) {
    const available = splitNumbers(headers[`${prefix}-available`]);
    if (available.length === 0) continue;
    const limits = splitNumbers(headers[`${prefix}-limit`]);
    const units = splitWords(headers[`${prefix}-time-unit`]);
    const intervals = splitNumbers(headers[`${prefix}-interval`]);
    available.forEach((left, i) => {
      const limit = limits[i];
      const unitSeconds = UNIT_SECONDS[units[i] ?? ''] ?? (prefix.endsWith('quota') ? 86_400 : 60);
      const windowSeconds = unitSeconds * (intervals[i] && intervals[i] > 0 ? intervals[i] : 1);
      if (!Number.isFinite(left) || limit === undefined || !(limit > 0)) return;
      // A daily bucket spread over a day is a crawl: only react to it when nearly empty.
      const lowWater = limit * (windowSeconds >= 86_400 ? 0.01 : 0.1);
      if (left < lowWater) rate = Math.min(rate, Math.max(0, left) / windowSeconds);
    });
  }
  return rate;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function splitWords(value: string | string[] | undefined): string[] {
  const text = headerText(value);
  return text === undefined ? [] : text.split('|').map((s) => s.trim().toLowerCase());
}

function splitNumbers(value: string | string[] | undefined): number[] {
  // Blank numbers occur (e.g. on unauthenticated 401s): they parse to NaN and are ignored.
  return splitWords(value).map((s) => (s === '' ? NaN : Number(s)));
}

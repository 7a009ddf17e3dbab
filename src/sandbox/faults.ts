// Latency and failures injected into API responses, set at start and changed at run time through /_sandbox/control.
import { Rng, KIND } from './random.js';

export interface Faults {
  latencyMs: number; latencyJitterMs: number;
  /** fraction of requests answered with one of errorStatuses */
  errorRate: number; errorStatuses: number[];
  /** fraction of requests whose connection is reset before any response */
  resetRate: number;
  /** fraction of responses cut off halfway through the body */
  truncateRate: number;
  /** spread the body over this long */
  slowBodyMs: number;
  /** fail the next N API requests with status S */
  failNext?: { count: number; status: number };
  /**
   * Faults of writes (POST/PATCH/PUT/DELETE) whose `METHOD /path` (without /crm/rest) matches `match`, a regular
   * expression: `status` answers that error with `message` without writing; `hangMs` writes, then holds the answer
   * back that long (a write that reached Keap whose answer never came). `count` limits how many it hits.
   */
  writeFaults?: WriteFault[];
  /**
   * A token request takes this long to reach Keap (ms): a client that goes away meanwhile never reaches it, so its
   * refresh token stays valid (what an instance killed in the middle of a refresh leaves).
   */
  tokenLatencyMs?: number;
}

export interface WriteFault { match: string; status?: number; message?: string; hangMs?: number; count?: number }

export const NO_FAULTS: Faults = { latencyMs: 0, latencyJitterMs: 0, errorRate: 0, errorStatuses: [500, 502, 503], resetRate: 0, truncateRate: 0, slowBodyMs: 0 };

export type FaultAction = { kind: 'none' } | { kind: 'error'; status: number } | { kind: 'reset' } | { kind: 'truncate' };

export class FaultInjector {
  private f: Faults;
  private readonly rng: Rng;
  constructor(initial: Partial<Faults>, seed: number) {
    this.f = { ...NO_FAULTS };
    this.set(initial);
    this.rng = new Rng(seed, KIND.faults, 0);
  }

  get current(): Faults { return { ...this.f, errorStatuses: [...this.f.errorStatuses], ...(this.f.failNext ? { failNext: { ...this.f.failNext } } : {}), ...(this.f.writeFaults ? { writeFaults: this.f.writeFaults.map((w) => ({ ...w })) } : {}) }; }

  set(p: Partial<Faults>): void {
    const num = (v: unknown, name: string, max = Infinity): number => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new Error(`${name} must be a number between 0 and ${max}`);
      return v;
    };
    const next = { ...this.f };
    if (p.latencyMs !== undefined) next.latencyMs = num(p.latencyMs, 'latencyMs');
    if (p.latencyJitterMs !== undefined) next.latencyJitterMs = num(p.latencyJitterMs, 'latencyJitterMs');
    if (p.errorRate !== undefined) next.errorRate = num(p.errorRate, 'errorRate', 1);
    if (p.resetRate !== undefined) next.resetRate = num(p.resetRate, 'resetRate', 1);
    if (p.truncateRate !== undefined) next.truncateRate = num(p.truncateRate, 'truncateRate', 1);
    if (p.slowBodyMs !== undefined) next.slowBodyMs = num(p.slowBodyMs, 'slowBodyMs');
    if (p.tokenLatencyMs !== undefined) next.tokenLatencyMs = num(p.tokenLatencyMs, 'tokenLatencyMs');
    if (p.errorStatuses !== undefined) {
      if (!Array.isArray(p.errorStatuses) || p.errorStatuses.length === 0 || !p.errorStatuses.every((s) => Number.isInteger(s) && s >= 400 && s <= 599)) throw new Error('errorStatuses must be a non-empty list of HTTP statuses 400-599');
      next.errorStatuses = [...p.errorStatuses];
    }
    if (p.failNext !== undefined) {
      if (p.failNext === null) delete next.failNext;
      else {
        const { count, status } = p.failNext;
        if (!Number.isInteger(count) || count < 0 || !Number.isInteger(status) || status < 400 || status > 599) throw new Error('failNext must be {count: n >= 0, status: 400-599}');
        next.failNext = { count, status };
      }
    }
    if (p.writeFaults !== undefined) {
      if (!Array.isArray(p.writeFaults)) throw new Error('writeFaults must be a list');
      for (const w of p.writeFaults) {
        if (typeof w?.match !== 'string') throw new Error('writeFaults[].match must be a regular expression');
        new RegExp(w.match);
        if (w.status !== undefined && (!Number.isInteger(w.status) || w.status < 400 || w.status > 599)) throw new Error('writeFaults[].status must be 400-599');
      }
      next.writeFaults = p.writeFaults.map((w) => ({ ...w }));
    }
    this.f = next;
  }

  /** The write fault for `METHOD /path`, counted as used. */
  writeFault(methodAndPath: string): WriteFault | undefined {
    const list = this.f.writeFaults;
    if (!list) return undefined;
    for (const w of list) {
      if (w.count !== undefined && w.count <= 0) continue;
      if (!new RegExp(w.match).test(methodAndPath)) continue;
      if (w.count !== undefined) w.count--;
      return w;
    }
    return undefined;
  }

  latency(): number {
    const { latencyMs, latencyJitterMs } = this.f;
    return latencyMs + (latencyJitterMs > 0 ? this.rng.next() * latencyJitterMs : 0);
  }

  /** What to do to this request, decided before it is answered. */
  decide(): FaultAction {
    const fn = this.f.failNext;
    if (fn && fn.count > 0) {
      fn.count--;
      if (fn.count === 0) delete this.f.failNext;
      return { kind: 'error', status: fn.status };
    }
    if (this.f.resetRate > 0 && this.rng.next() < this.f.resetRate) return { kind: 'reset' };
    if (this.f.errorRate > 0 && this.rng.next() < this.f.errorRate) return { kind: 'error', status: this.f.errorStatuses[this.rng.int(this.f.errorStatuses.length)]! };
    if (this.f.truncateRate > 0 && this.rng.next() < this.f.truncateRate) return { kind: 'truncate' };
    return { kind: 'none' };
  }

  get slowBodyMs(): number { return this.f.slowBodyMs; }
}

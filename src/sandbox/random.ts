// Deterministic randomness: every record draws from its own stream, derived from (seed, kind, index), so a record
// can be generated alone, in any order, and comes out the same byte for byte.

/** 32-bit integer hash (a splitmix/murmur finaliser); cheap enough to call per field on hot paths. */
export function hash32(a: number, b = 0, c = 0): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(c + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15; h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A small sequential PRNG (mulberry32) for one record's fields. */
export class Rng {
  private s: number;
  constructor(seed: number, kind: number, index: number) {
    this.s = hash32(seed, kind, index);
  }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** integer in [0, n) */
  int(n: number): number { return Math.floor(this.next() * n); }
  /** integer in [lo, hi] */
  range(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.next() * xs.length)]!; }
  chance(p: number): boolean { return this.next() < p; }
  digits(n: number): string { let s = ''; for (let i = 0; i < n; i++) s += String(this.int(10)); return s; }
}

/** Stream ids: one per record kind, so two kinds with the same index draw different numbers. */
export const KIND = {
  contact: 1, company: 2, tag: 3, tagCategory: 4, product: 5, order: 6, subscription: 7, opportunity: 8,
  task: 9, note: 10, campaign: 11, email: 12, user: 13, appointment: 14, file: 15, affiliate: 16, stage: 17,
  contactTags: 18, contactTimes: 19, payment: 20, faults: 21, tokens: 22, leadSource: 23,
} as const;

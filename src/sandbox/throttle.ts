// Keap's throttles (reference §7): a per-second spike arrest, per-minute and per-day quotas per OAuth client or API
// key, and per-minute and per-day quotas for the tenant, with the `x-keap-*` headers on every response.
import type { Principal } from './auth.js';

export interface ThrottleLimits {
  spikePerSecond?: number; perMinute?: number; perDay?: number; tenantPerMinute?: number; tenantPerDay?: number;
}

/** Reference §7: OAuth 1,500/min and 150,000/day per client; PAT/SAK 10/s, 240/min, 30,000/day per key;
 *  tenant 10,000/min and 250,000/day; spike arrest 25/s. */
export const OAUTH_DEFAULTS = { spikePerSecond: 25, perMinute: 1500, perDay: 150_000 };
export const API_KEY_DEFAULTS = { spikePerSecond: 10, perMinute: 240, perDay: 30_000 };
export const TENANT_DEFAULTS = { tenantPerMinute: 10_000, tenantPerDay: 250_000 };

interface Window { start: number; used: number }
const MINUTE = 60_000; const DAY = 86_400_000;

export type ThrottleVerdict = { ok: true; headers: Record<string, string> } | { ok: false; headers: Record<string, string>; body: unknown };

export class Throttle {
  private readonly spikes = new Map<string, number[]>();
  private readonly minutes = new Map<string, Window>();
  private readonly days = new Map<string, Window>();

  constructor(private readonly limits: ThrottleLimits, private readonly tenant: string) {}

  private limitsFor(p: Principal): { spike: number; minute: number; day: number; tMinute: number; tDay: number } {
    const d = p.kind === 'oauth' ? OAUTH_DEFAULTS : API_KEY_DEFAULTS;
    return {
      spike: this.limits.spikePerSecond ?? d.spikePerSecond, minute: this.limits.perMinute ?? d.perMinute, day: this.limits.perDay ?? d.perDay,
      tMinute: this.limits.tenantPerMinute ?? TENANT_DEFAULTS.tenantPerMinute, tDay: this.limits.tenantPerDay ?? TENANT_DEFAULTS.tenantPerDay,
    };
  }

  private window(map: Map<string, Window>, key: string, now: number, size: number): Window {
    // fixed windows on the clock: minutes on the minute, days at 00:00 UTC as Keap resets them
    const start = Math.floor(now / size) * size;
    let w = map.get(key);
    if (!w || w.start !== start) { w = { start, used: 0 }; map.set(key, w); }
    return w;
  }

  /** Counts one request if every limit allows it; otherwise answers 429 and counts nothing. */
  admit(p: Principal, now: number): ThrottleVerdict {
    const l = this.limitsFor(p);
    const spike = this.spikes.get(p.quotaKey) ?? [];
    while (spike.length > 0 && spike[0]! <= now - 1000) spike.shift();
    const min = this.window(this.minutes, p.quotaKey, now, MINUTE);
    const day = this.window(this.days, p.quotaKey, now, DAY);
    const tMin = this.window(this.minutes, 'tenant', now, MINUTE);
    const tDay = this.window(this.days, 'tenant', now, DAY);

    // spike arrest comes first and carries no quota headers (reference §7)
    if (spike.length >= l.spike) {
      return { ok: false, headers: {}, body: { fault: { faultstring: `Spike arrest violation. Allowed rate : ${l.spike}ps`, detail: { errorcode: 'policies.ratelimit.SpikeArrestViolation' } } } };
    }
    const over = min.used >= l.minute || day.used >= l.day || tMin.used >= l.tMinute || tDay.used >= l.tDay;
    if (!over) { spike.push(now); this.spikes.set(p.quotaKey, spike); min.used++; day.used++; tMin.used++; tDay.used++; }
    const headers = this.headers(l, min, day, tMin, tDay, now);
    if (over) return { ok: false, headers, body: { code: '429', message: 'Quota Exceeded', status: 'Request Throttled', details: null } };
    return { ok: true, headers };
  }

  private headers(l: ReturnType<Throttle['limitsFor']>, min: Window, day: Window, tMin: Window, tDay: Window, now: number): Record<string, string> {
    void now;
    return {
      'x-keap-product-quota-limit': String(l.day), 'x-keap-product-quota-time-unit': 'day', 'x-keap-product-quota-interval': '1',
      'x-keap-product-quota-available': String(Math.max(0, l.day - day.used)), 'x-keap-product-quota-used': String(day.used),
      'x-keap-product-quota-expiry-time': String(day.start + DAY),
      'x-keap-product-throttle-limit': String(l.minute), 'x-keap-product-throttle-time-unit': 'minute', 'x-keap-product-throttle-interval': '1',
      'x-keap-product-throttle-available': String(Math.max(0, l.minute - min.used)), 'x-keap-product-throttle-used': String(min.used),
      'x-keap-tenant-id': this.tenant,
      // two windows, pipe-delimited, minute first ([W6W] measured); parseInt reads the minute value
      'x-keap-tenant-throttle-limit': `${l.tMinute}|${l.tDay}`, 'x-keap-tenant-throttle-time-unit': 'minute|day', 'x-keap-tenant-throttle-interval': '1|1',
      'x-keap-tenant-throttle-available': `${Math.max(0, l.tMinute - tMin.used)}|${Math.max(0, l.tDay - tDay.used)}`,
      'x-keap-tenant-throttle-used': `${tMin.used}|${tDay.used}`,
    };
  }

  /** Headers on unauthenticated 401s: present, with blank numbers ([W6W]). */
  blankHeaders(): Record<string, string> {
    return {
      'x-keap-product-quota-limit': '', 'x-keap-product-quota-available': '', 'x-keap-product-quota-used': '',
      'x-keap-product-throttle-limit': '', 'x-keap-product-throttle-available': '', 'x-keap-product-throttle-used': '',
      'x-keap-tenant-id': this.tenant,
    };
  }
}

// Wire formats that differ between the versions (reference §3.1, §3.2).

const DAY_MS = 86_400_000;
const dayStrings = new Map<number, string>();
const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));
const pad3 = (n: number): string => (n < 10 ? '00' + n : n < 100 ? '0' + n : String(n));

/** `yyyy-MM-dd` of an instant; days repeat across a data set, so they are formatted once (Date is slow on hot paths) */
export function isoDay(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let s = dayStrings.get(day);
  if (s === undefined) { s = new Date(day * DAY_MS).toISOString().slice(0, 10); if (dayStrings.size < 200_000) dayStrings.set(day, s); }
  return s;
}
/** `HH:mm:ss` and milliseconds of an instant within its UTC day */
function clock(ms: number): [string, number] {
  const inDay = ms - Math.floor(ms / DAY_MS) * DAY_MS;
  const sec = Math.floor(inDay / 1000);
  return [`${pad2(Math.floor(sec / 3600))}:${pad2(Math.floor(sec / 60) % 60)}:${pad2(sec % 60)}`, inDay % 1000];
}
/** v1: `yyyy-MM-dd'T'HH:mm:ss.SSS+0000` (captured on the wire) */
export function v1Time(ms: number): string {
  const [hms, milli] = clock(ms);
  return `${isoDay(ms)}T${hms}.${pad3(milli)}+0000`;
}
/** v2: ISO-8601 with `Z`; milliseconds only when there are any (spec examples are whole seconds) */
export function v2Time(ms: number): string {
  const [hms, milli] = clock(ms);
  return milli === 0 ? `${isoDay(ms)}T${hms}Z` : `${isoDay(ms)}T${hms}.${pad3(milli)}Z`;
}
export function money(cents: number): number {
  return Math.round(cents) / 100;
}
/** v2 CurrencyValue: amount in the smallest unit */
export function currencyValue(cents: number): { amount: number; currency_code: string; formatted_amount: string } {
  const neg = cents < 0; const abs = Math.abs(Math.round(cents));
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return { amount: Math.round(cents), currency_code: 'USD', formatted_amount: `${neg ? '-' : ''}$${whole}.${String(abs % 100).padStart(2, '0')}` };
}

/** Parses the time formats clients send in filters and since/until: ISO-8601 with `Z`, an offset or `+0000`. */
export function parseTime(s: string): number | undefined {
  let t = s.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += 'T00:00:00Z';
  t = t.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

const V1_EMAIL_STATUS: Record<string, string> = {
  UNENGAGED_MARKETABLE: 'UnengagedMarketable', SINGLE_OPT_IN: 'SingleOptIn', DOUBLE_OPT_IN: 'DoubleOptin', CONFIRMED: 'Confirmed',
  UNENGAGED_NON_MARKETABLE: 'UnengagedNonMarketable', NON_MARKETABLE: 'NonMarketable', LOCKDOWN: 'Lockdown', BOUNCE: 'Bounce',
  HARD_BOUNCE: 'HardBounce', MANUAL: 'Manual', ADMIN: 'Admin', SYSTEM: 'System', LIST_UNSUBSCRIBE: 'ListUnsubscribe',
  FEEDBACK: 'Feedback', SPAM: 'Spam', INVALID: 'Invalid', DEACTIVATED: 'Deactivated',
};
export const v1EmailStatus = (s: string): string => V1_EMAIL_STATUS[s] ?? 'UnengagedMarketable';
export const isOptedIn = (s: string): boolean => s === 'SINGLE_OPT_IN' || s === 'DOUBLE_OPT_IN' || s === 'CONFIRMED' || s === 'UNENGAGED_MARKETABLE';

/** UPPER_SNAKE of a CamelCase v1 name: DecimalNumber → DECIMAL_NUMBER, YesNo → YES_NO */
export const upperSnake = (s: string): string => s.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

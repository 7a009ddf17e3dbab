// When a GET to Keap is worth repeating, and how long to wait first.
// Keap's guide asks for exponential backoff on 429s; 502/503/504 and dropped connections are the gateway's
// transient failures. Full jitter keeps many concurrent page fetches from retrying in lock-step.

/** HTTP statuses a GET is retried on. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface RetryPolicyOptions {
  /** attempts in all, the first included */
  maxAttempts: number;
  /** first backoff ceiling (ms); doubles per attempt */
  baseDelayMs: number;
  /** largest backoff ceiling (ms) */
  maxDelayMs: number;
  /** longest Retry-After honoured (ms); a longer one ends the retries */
  maxRetryAfterMs: number;
  /**
   * 429s are retried past maxAttempts until this much time (ms) went into waiting for them: a per-minute
   * quota only refills when its minute ends, which plain attempt counting would not live to see.
   */
  maxThrottleWaitMs: number;
  /** injectable for tests; returns [0, 1) */
  random?: () => number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicyOptions> = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
  maxThrottleWaitMs: 75_000,
});

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * Delay before attempt number `attempt + 1` (attempt counts from 1), or undefined when no attempt is left
 * or the server asks for a longer wait than the policy accepts.
 */
export function retryDelayMs(policy: RetryPolicyOptions, attempt: number, retryAfterMs?: number): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) return undefined;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.floor((policy.random ?? Math.random)() * ceiling);
  // Retry-After is the server's floor; jitter on top spreads the retries of concurrent requests.
  return retryAfterMs !== undefined ? retryAfterMs + Math.floor(jittered / 4) : jittered;
}

/**
 * Delay before retrying a 429, or undefined when the time already spent waiting on 429s (`waitedMs`) plus this
 * delay would pass the policy's budget.
 */
export function throttleDelayMs(policy: RetryPolicyOptions, attempt: number, waitedMs: number, retryAfterMs?: number): number | undefined {
  const delay = retryDelayMs({ ...policy, maxAttempts: Infinity }, attempt, retryAfterMs);
  if (delay === undefined || waitedMs + delay > policy.maxThrottleWaitMs) return undefined;
  return delay;
}

/** Parses a Retry-After header (delta-seconds or HTTP-date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - now);
}

/** undici/Node error codes of a connection that failed or broke mid-response: safe to repeat a GET. */
const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

export function isRetryableError(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_ERROR_CODES.has(code)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

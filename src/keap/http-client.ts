// GETs against the Keap REST API: keep-alive pool, pacing, per-request timeout, retries with backoff and
// jitter for transient failures, one credential refresh on 401, cancellation by AbortSignal.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Logger } from 'pino';
import type { CredentialSource } from './types.js';
import type { RequestPacer } from './pacer.js';
import {
  DEFAULT_RETRY_POLICY,
  isRetryableError,
  isRetryableStatus,
  parseRetryAfter,
  retryDelayMs,
  throttleDelayMs,
  type RetryPolicyOptions,
} from './retry-policy.js';
import { NotJsonBody } from './page-decoder.js';
import { cancelledError, errorForResponse, incompleteBodyError, networkError, timeoutError, unauthorizedError } from './api-errors.js';

export interface KeapHttpClientOptions {
  /** e.g. "https://api.infusionsoft.com/crm/rest"; paths are appended to it */
  apiBase: string;
  credentials: CredentialSource;
  pacer: RequestPacer;
  /** per attempt; 0 or undefined = none */
  timeoutSeconds?: number;
  /** keep-alive connections to the API host */
  connections?: number;
  retry?: Partial<RetryPolicyOptions>;
  logger?: Logger;
}

export interface HttpClientStats {
  requests: number;
  retries: number;
  throttled: number;
}

export type QueryParams = Record<string, string | number | undefined>;

/** What getJsonUnless returns for a request it did not send. */
export const SKIPPED: unique symbol = Symbol('skipped');

class BodyNotJson extends Error {}
class AttemptTimedOut extends Error {}

/** A write's answer, whatever its status (the writer maps Keap's errors to SQLSTATEs itself). */
export interface WriteResponse {
  status: number;
  /** the parsed JSON body, or undefined (204, or not JSON) */
  body: unknown;
  bodyText: string;
  /** Keap's clock when it answered (the Date header), epoch ms */
  date?: number;
}

/**
 * A write whose outcome is unknown: the request may have reached Keap (a timeout, a dropped connection, a 5xx
 * from the gateway) and the method is not idempotent, so it was not sent again.
 */
export class UncertainWrite extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export class KeapHttpClient {
  readonly stats: HttpClientStats = { requests: 0, retries: 0, throttled: 0 };
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly retry: RetryPolicyOptions;
  private readonly timeoutMs: number;

  constructor(private readonly opts: KeapHttpClientOptions) {
    const base = new URL(opts.apiBase);
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, {
      connections: opts.connections ?? 8,
      keepAliveTimeout: 30_000,
      // our own per-attempt timer covers slow answers; undici's defaults (300 s) are only a backstop
    });
    this.retry = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.timeoutMs = (opts.timeoutSeconds ?? 0) > 0 ? (opts.timeoutSeconds as number) * 1000 : 0;
  }

  /** GET `path` (relative to the API base, e.g. "/v2/contacts") and parse the JSON body. */
  async getJson(path: string, query: QueryParams, signal: AbortSignal): Promise<unknown> {
    return this.getJsonUnless(path, query, signal, undefined);
  }

  /**
   * As getJson, but `skip` is asked once the request's pacing slot has come: when it answers true the request
   * is not sent and the result is SKIPPED. Speculative requests use it to stand down when they became useless
   * while waiting for their turn.
   */
  async getJsonUnless(
    path: string,
    query: QueryParams,
    signal: AbortSignal,
    skip: (() => boolean) | undefined,
    /** parses a successful body instead of JSON.parse (a list page decoded off the main thread) */
    decode?: (bytes: ArrayBuffer) => Promise<unknown>,
  ): Promise<unknown> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) search.set(k, String(v));
    const qs = search.toString();
    const target = `${this.basePath}${path}${qs ? `?${qs}` : ''}`;
    let refreshed = false;
    let lastFailure: unknown;
    let throttledWaitMs = 0;

    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw cancelledError(signal);
      let credentials: Record<string, string> = {};
      try {
        await this.opts.pacer.acquire(signal);
        if (skip?.()) return SKIPPED;
        credentials = await this.opts.credentials.headers(signal);
        this.stats.requests++;
        const res = await this.attempt(target, credentials, signal, decode !== undefined);
        this.opts.pacer.observe(res.headers);
        if (res.status >= 200 && res.status < 300) {
          try {
            return res.bodyBytes ? await decode!(res.bodyBytes) : JSON.parse(res.bodyText);
          } catch (err) {
            if (res.bodyBytes && !(err instanceof NotJsonBody)) throw err;
            throw new BodyNotJson('response body is not complete JSON');
          }
        }
        if (res.status === 401) {
          // One refresh per request: the credential source makes it single-flight across concurrent requests.
          if (!refreshed && (await this.opts.credentials.unauthorized(credentials, signal))) {
            refreshed = true;
            attempt--;
            continue;
          }
          const failure = errorForResponse({ status: 401, path, bodyText: res.bodyText }, credentials);
          throw unauthorizedError(failure.detail ?? `Keap answered HTTP 401 to GET ${path}.`);
        }
        if (!isRetryableStatus(res.status)) throw errorForResponse({ status: res.status, path, bodyText: res.bodyText }, credentials);
        const retryAfter = parseRetryAfter(res.headers['retry-after']);
        let delay: number | undefined;
        if (res.status === 429) {
          this.stats.throttled++;
          const spike = /Allowed rate\s*:\s*(\d+)\s*ps/i.exec(res.bodyText);
          if (spike) this.opts.pacer.lowerSpikeLimit(Number(spike[1]));
          delay = throttleDelayMs(this.retry, attempt, throttledWaitMs, retryAfter);
          // A spike arrest clears within a few request intervals: waiting out a whole backoff would idle
          // every concurrent fetch behind the pacer's hold for nothing.
          if (spike && delay !== undefined && retryAfter === undefined && attempt <= 2) {
            delay = Math.min(delay, Math.ceil((2 + Math.random()) * (1000 / this.opts.pacer.ratePerSecond)));
          }
          if (delay !== undefined) {
            throttledWaitMs += delay;
            this.opts.pacer.holdFor(delay);
          }
        } else delay = retryDelayMs(this.retry, attempt, retryAfter);
        if (delay === undefined) throw errorForResponse({ status: res.status, path, bodyText: res.bodyText }, credentials);
        this.opts.logger?.debug({ path, status: res.status, attempt, delay }, 'retrying Keap GET');
        this.stats.retries++;
        await sleep(delay, undefined, { signal });
      } catch (err) {
        if (signal.aborted) throw cancelledError(signal);
        const transient = err instanceof BodyNotJson || err instanceof AttemptTimedOut || isRetryableError(err);
        if (!transient) throw err;
        lastFailure = err;
        const delay = retryDelayMs(this.retry, attempt);
        if (delay === undefined) {
          if (lastFailure instanceof AttemptTimedOut) throw timeoutError(path, this.timeoutMs / 1000);
          if (lastFailure instanceof BodyNotJson) throw incompleteBodyError(path);
          throw networkError(path, lastFailure);
        }
        this.opts.logger?.debug({ path, attempt, delay, err: errorCode(err) }, 'retrying Keap GET after a transport failure');
        this.stats.retries++;
        try {
          await sleep(delay, undefined, { signal });
        } catch {
          throw cancelledError(signal);
        }
      }
    }
  }

  /**
   * A write (POST, PATCH, PUT, DELETE). Paced like every request; a 429 is always retried (the gateway refused it,
   * so Keap never saw it). A timeout, a dropped connection or a 502/503/504 is retried only when `idempotent`:
   * otherwise the request may have reached Keap, and sending it twice could create a record twice, so
   * UncertainWrite is thrown. Any other status is returned for the caller to read.
   */
  async send(method: string, path: string, query: Array<[string, string]>, body: unknown, signal: AbortSignal, idempotent: boolean, contentType?: string): Promise<WriteResponse> {
    const search = new URLSearchParams(query);
    const qs = search.toString();
    // `../xmlrpc/v1`: beside the REST base (…/crm/rest → …/crm/xmlrpc/v1), for Keap's XML-RPC
    const at = path.startsWith('../') ? new URL(path, `http://base${this.basePath}/`).pathname : `${this.basePath}${path}`;
    const target = `${at}${qs ? `?${qs}` : ''}`;
    // a body of another type (XML-RPC) is sent as given
    const payload = body === undefined ? undefined : contentType ? String(body) : JSON.stringify(body);
    let refreshed = false;
    let throttledWaitMs = 0;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw cancelledError(signal);
      let credentials: Record<string, string> = {};
      let res: Awaited<ReturnType<KeapHttpClient['attempt']>>;
      await this.opts.pacer.acquire(signal);
      credentials = await this.opts.credentials.headers(signal);
      this.stats.requests++;
      try {
        res = await this.attempt(target, credentials, signal, false, method, payload, contentType);
      } catch (err) {
        if (signal.aborted) throw cancelledError(signal);
        const transient = err instanceof AttemptTimedOut || isRetryableError(err);
        if (!transient) throw err;
        const why = err instanceof AttemptTimedOut ? `no answer within ${this.timeoutMs / 1000} s` : `the connection failed (${errorCode(err)})`;
        if (!idempotent) throw new UncertainWrite(why);
        const delay = retryDelayMs(this.retry, attempt);
        if (delay === undefined) throw err instanceof AttemptTimedOut ? timeoutError(path, this.timeoutMs / 1000) : networkError(path, err);
        this.stats.retries++;
        await sleep(delay, undefined, { signal }).catch(() => { throw cancelledError(signal); });
        continue;
      }
      this.opts.pacer.observe(res.headers);
      if (res.status === 401 && !refreshed && (await this.opts.credentials.unauthorized(credentials, signal))) {
        refreshed = true;
        attempt--;
        continue;
      }
      if (res.status === 429) {
        this.stats.throttled++;
        const spike = /Allowed rate\s*:\s*(\d+)\s*ps/i.exec(res.bodyText);
        if (spike) this.opts.pacer.lowerSpikeLimit(Number(spike[1]));
        const delay = throttleDelayMs(this.retry, attempt, throttledWaitMs, parseRetryAfter(res.headers['retry-after']));
        if (delay !== undefined) {
          throttledWaitMs += delay;
          this.opts.pacer.holdFor(delay);
          this.stats.retries++;
          await sleep(delay, undefined, { signal }).catch(() => { throw cancelledError(signal); });
          continue;
        }
      } else if (isRetryableStatus(res.status)) {
        if (!idempotent) throw new UncertainWrite(`Keap's gateway answered HTTP ${res.status}`);
        const delay = retryDelayMs(this.retry, attempt, parseRetryAfter(res.headers['retry-after']));
        if (delay !== undefined) {
          this.stats.retries++;
          await sleep(delay, undefined, { signal }).catch(() => { throw cancelledError(signal); });
          continue;
        }
      }
      let parsed: unknown;
      try {
        parsed = res.bodyText.trim() ? JSON.parse(res.bodyText) : undefined;
      } catch {
        parsed = undefined;
      }
      const dateHeader = res.headers.date;
      const date = typeof dateHeader === 'string' ? Date.parse(dateHeader) : NaN;
      return { status: res.status, body: parsed, bodyText: res.bodyText, date: Number.isFinite(date) ? date : undefined };
    }
  }

  private async attempt(
    target: string,
    credentials: Record<string, string>,
    signal: AbortSignal,
    successAsBytes: boolean,
    method = 'GET',
    payload?: string,
    contentType = 'application/json',
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bodyText: string; bodyBytes?: ArrayBuffer }> {
    const attemptController = new AbortController();
    const onAbort = (): void => attemptController.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer =
      this.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            attemptController.abort(new AttemptTimedOut('timed out'));
          }, this.timeoutMs)
        : undefined;
    try {
      const res = await this.pool.request({
        method: method as 'GET',
        path: target,
        headers: payload === undefined ? { accept: 'application/json', ...credentials } : { accept: contentType === 'application/json' ? contentType : `${contentType}, application/json`, 'content-type': contentType, ...credentials },
        body: payload,
        signal: attemptController.signal,
      });
      if (successAsBytes && res.statusCode >= 200 && res.statusCode < 300) {
        return { status: res.statusCode, headers: res.headers, bodyText: '', bodyBytes: await res.body.arrayBuffer() };
      }
      const bodyText = await res.body.text();
      return { status: res.statusCode, headers: res.headers, bodyText };
    } catch (err) {
      if (timedOut && !signal.aborted) throw new AttemptTimedOut('timed out');
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Ends every connection at once, in-flight requests included. */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.constructor.name : 'unknown';
}

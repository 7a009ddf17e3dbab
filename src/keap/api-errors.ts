// Keap HTTP failures as PostgreSQL errors a user can act on. Nothing here may carry a credential: the
// message Keap sent is scrubbed of the values of the headers we authenticated with, and only the path
// (never the query string or a full URL) is named.
import { SqlError, SQLSTATE } from '../errors.js';

/** The part of a Keap error body worth showing: v1 `{message}`, v2 `{code,message,status}`, Apigee `{fault:{faultstring}}`, OAuth `{error_description}`. */
export function keapMessage(bodyText: string): string {
  let message: string | undefined;
  try {
    const body = JSON.parse(bodyText) as Record<string, unknown> | null;
    if (body && typeof body === 'object') {
      const fault = body.fault as { faultstring?: unknown; detail?: { errorcode?: unknown } } | undefined;
      if (typeof body.message === 'string') message = body.message;
      else if (fault && typeof fault.faultstring === 'string') {
        message = fault.faultstring + (typeof fault.detail?.errorcode === 'string' ? ` (${fault.detail.errorcode})` : '');
      } else if (typeof body.error_description === 'string') message = body.error_description;
      else if (typeof body.error === 'string') message = body.error;
    }
  } catch {
    // not JSON (e.g. the gateway's HTML "Page Not Found"): fall through to the raw text
  }
  if (message === undefined) message = bodyText.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** Removes every credential value (and its bearer part) from a text. */
export function scrub(text: string, credentials: Record<string, string>): string {
  let out = text;
  for (const value of Object.values(credentials)) {
    for (const secret of [value, value.replace(/^Bearer\s+/i, '')]) {
      if (secret.length >= 6) out = out.split(secret).join('[redacted]');
    }
  }
  return out;
}

export interface FailedResponse {
  status: number;
  /** request path without query string, e.g. "/v2/contacts" */
  path: string;
  bodyText: string;
}

/** An error answer of the API: a SqlError that still knows the HTTP status (callers may recover from a 400). */
export class KeapApiError extends SqlError {
  constructor(
    readonly httpStatus: number,
    base: SqlError,
  ) {
    super(base.sqlstate, base.message, { detail: base.detail, hint: base.hint });
  }
}

export function errorForResponse(res: FailedResponse, credentials: Record<string, string>): KeapApiError {
  return new KeapApiError(res.status, sqlErrorForResponse(res, credentials));
}

function sqlErrorForResponse(res: FailedResponse, credentials: Record<string, string>): SqlError {
  const message = scrub(keapMessage(res.bodyText), credentials);
  const detail = `Keap answered HTTP ${res.status} to GET ${res.path}${message ? `: ${message}` : '.'}`;
  switch (res.status) {
    case 401:
      return unauthorizedError(detail);
    case 403:
      return new SqlError(SQLSTATE.insufficientPrivilege, `permission denied by Keap for ${res.path}`, {
        detail,
        hint: 'The Keap user or key this connection uses may not read this data; use an account with access to it.',
      });
    case 429:
      return rateLimitedError(detail);
    default:
      return new SqlError(SQLSTATE.systemError, `Keap API request failed with HTTP ${res.status}`, { detail });
  }
}

export function unauthorizedError(detail: string): SqlError {
  return new SqlError(SQLSTATE.invalidAuthorization, 'Keap rejected the connection\'s credentials', {
    detail,
    hint:
      'Re-authorize keapgres with Keap: for OAuth, start the authorization again (InitiateOAuth=GETANDREFRESH ' +
      'opens the consent page when the stored tokens no longer work); for a personal access token or service ' +
      'account key, check that the key is still valid.',
  });
}

export function rateLimitedError(detail: string): SqlError {
  return new SqlError(SQLSTATE.configurationLimitExceeded, 'Keap API rate limit exceeded', {
    detail,
    hint: 'Keap kept answering 429 after repeated retries; wait a minute before retrying, or fetch less (add WHERE conditions, lower MaxRows).',
  });
}

export function incompleteBodyError(path: string): SqlError {
  return new SqlError(SQLSTATE.systemError, 'Keap API answers could not be read', {
    detail: `GET ${path} answered with an incomplete or non-JSON body on every attempt.`,
    hint: 'Retry later; if it persists, the API or a proxy in between is returning something other than JSON.',
  });
}

export function networkError(path: string, err: unknown): SqlError {
  const code = (err as { code?: unknown })?.code;
  const what = typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
  return new SqlError(SQLSTATE.systemError, 'could not reach the Keap API', {
    detail: `GET ${path} failed after retries (${what}).`,
    hint: 'Check the network connection to the Keap API and retry.',
  });
}

export function timeoutError(path: string, seconds: number): SqlError {
  return new SqlError(SQLSTATE.systemError, `Keap API request timed out after ${seconds} s`, {
    detail: `GET ${path} got no complete answer within Timeout=${seconds} s, on every attempt.`,
    hint: 'Raise the Timeout connection property, or fetch less per request (lower Pagesize).',
  });
}

export function cancelledError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error && !(signal.reason.name === 'AbortError')) return signal.reason;
  return new SqlError(SQLSTATE.queryCanceled, 'canceling statement due to user request');
}

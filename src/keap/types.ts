// The connector's face to the rest of keapgres: rows of one table for one fetch plan.

/** Authorization headers for one request, from the OAuth connection manager or an API key. */
export interface CredentialSource {
  /** headers to send (Authorization: Bearer … or X-Keap-API-Key: …) */
  headers(signal?: AbortSignal): Promise<Record<string, string>>;
  /**
   * Called after an API 401 with the headers that were rejected. Resolves true when new credentials
   * are available (one refresh, single-flight), false when retrying cannot help.
   */
  unauthorized(rejected: Record<string, string>, signal?: AbortSignal): Promise<boolean>;
}

/** A failure the session turns into a PostgreSQL ErrorResponse. */
export interface KeapErrorInfo {
  sqlstate: string;
  message: string;
  detail?: string;
  hint?: string;
}

export interface FetchResult<T = unknown[]> {
  /** raw API records of the table's endpoint (for unnest tables: the parent records), page by page */
  records: AsyncIterable<T>;
}

// Keap's answers to writes → PostgreSQL's SQLSTATEs: a 400 is a constraint the row broke (a missing required
// value 23502, a malformed value 22P02, any other rule 23514), a duplicate 23505; Keap's own message is kept.

/** What one row's call came to. */
export type RowOutcome =
  | { kind: 'written'; record: unknown; date?: number }
  | { kind: 'unchanged' }
  | { kind: 'missing' }
  | { kind: 'duplicate'; message: string }
  | { kind: 'failed'; status: number; sqlstate: string; message: string }
  | { kind: 'uncertain'; message: string }
  | { kind: 'not attempted' };

/** Keap's message from an error body (v1 `{message}`, v2 `{code, message, status}`, Apigee `fault`). */
export function keapMessageOf(body: unknown, text: string): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; fault?: { faultstring?: unknown } };
    if (typeof b.message === 'string' && b.message) return b.message;
    if (typeof b.fault?.faultstring === 'string') return b.fault.faultstring;
  }
  const t = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

export function isDuplicateMessage(message: string): boolean {
  return /duplicate|already exists|already applied/i.test(message);
}

/** The SQLSTATE of a failed write, from the HTTP status and Keap's message. */
export function sqlstateOf(status: number, message: string): string {
  if (status === 409 || isDuplicateMessage(message)) return '23505';
  if (status === 400 || status === 422) {
    if (/\brequired\b|must contain|must not be (empty|null)|missing/i.test(message)) return '23502';
    if (/invalid|must be an? (valid|number|integer|id|boolean|string|date|date-time)|not valid|malformed|cannot parse|not a valid/i.test(message)) return '22P02';
    return '23514';
  }
  if (status === 401) return '28000';
  if (status === 403) return '42501';
  return '58000';
}

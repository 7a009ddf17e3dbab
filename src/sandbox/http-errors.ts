// Error responses in each version's own shape (reference §8): v1 `{"message"}`, v2 `Error {code, message, status, details}`.
export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}
const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };
export const reason = (status: number): string => REASONS[status] ?? 'Error';
export function errorBody(version: 'v1' | 'v2' | 'oauth' | 'other', status: number, message: string): unknown {
  if (version === 'v2') return { code: status, message, status: reason(status), details: [] };
  return { message };
}

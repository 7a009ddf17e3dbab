// What a route is: a method, a templated path (the template is also the stats key) and a handler.
import type { SandboxStore } from './store.js';

export type ApiVersion = 'v1' | 'v2' | 'oauth' | 'other';

export interface Reply { status: number; body?: unknown; headers?: Record<string, string>; text?: string; contentType?: string }

export interface RequestContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** absolute URL of the request path (no query), as v1 `next`/`previous` links need */
  selfUrl: string;
  /** the sandbox's current time (moves with advanceClock) */
  now: number;
}

export interface Route {
  method: string;
  /** e.g. `/crm/rest/v2/contacts/{contact_id}` */
  pattern: string;
  version: ApiVersion;
  /** the body is handed over as text, not parsed as JSON (XML-RPC) */
  rawBody?: boolean;
  handle(c: RequestContext): Reply;
}

export interface RouteEnv {
  store: SandboxStore;
  baseUrl: () => string;
  tenant: string;
}

export const json = (status: number, body: unknown): Reply => ({ status, body });

// Small HTTP helpers for the sandbox tests: real requests over loopback.
import type { Sandbox } from '../../src/sandbox/index.js';

export interface Got { status: number; headers: Headers; text: string; json: unknown }

export async function call(url: string, init: RequestInit = {}): Promise<Got> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let json: unknown;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

export function authed(sb: Sandbox, token = sb.personalAccessToken): (path: string, init?: RequestInit) => Promise<Got> {
  return (path, init = {}) => call(sb.apiBase + path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string> | undefined) } });
}

/** Limits that never throttle, for tests about something else. */
export const NO_LIMITS = { spikePerSecond: 1e9, perMinute: 1e9, perDay: 1e9, tenantPerMinute: 1e9, tenantPerDay: 1e9 };

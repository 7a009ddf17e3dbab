// The sandbox's HTTP front: control endpoints, OAuth, then for /crm the order Keap's gateway uses — authenticate,
// throttle, (injected faults), route — and each version's error bodies.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { ApiError, errorBody } from './http-errors.js';
import { AuthService } from './auth.js';
import { Throttle } from './throttle.js';
import { FaultInjector, type Faults } from './faults.js';
import { StatsCounter } from './stats.js';
import type { Route, ApiVersion, Reply } from './routes.js';
import { RawJson } from './fragment-cache.js';

const MAX_BODY = 1 << 20;
const NOT_FOUND_HTML = '<!DOCTYPE html><html><head><title>Keap - Page Not Found</title></head><body><h1>Page Not Found</h1><p>The page you requested could not be found.</p></body></html>';

interface CompiledRoute extends Route { regex: RegExp; names: string[]; statsKey: string }

export interface ServerParts {
  routes: Route[];
  auth: AuthService;
  throttle: Throttle;
  faults: FaultInjector;
  stats: StatsCounter;
  now: () => number;
  baseUrl: () => string;
  /** hooks for the control endpoints that change sandbox state */
  expireAccessTokens(): void;
  advanceClock(ms: number): void;
}

function compile(r: Route): CompiledRoute {
  const names: string[] = [];
  const src = r.pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => { names.push(n); return '([^/:]+)'; });
  return { ...r, regex: new RegExp(`^${src}/?$`), names, statsKey: `${r.method} ${r.pattern.replace(/^\/crm\/rest/, '')}` };
}

function versionOf(path: string): ApiVersion {
  if (path.startsWith('/crm/rest/v1/')) return 'v1';
  if (path.startsWith('/crm/rest/v2/')) return 'v2';
  return 'other';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []; let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'Request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createSandboxServer(parts: ServerParts): Server {
  const routes = parts.routes.map(compile)
    // literal paths before templated ones: /v2/contacts/model must not be read as a contact id
    .sort((a, b) => a.names.length - b.names.length);
  const byMethod = new Map<string, CompiledRoute[]>();
  for (const r of routes) { const l = byMethod.get(r.method) ?? []; l.push(r); byMethod.set(r.method, l); }

  const send = async (res: ServerResponse, status: number, body: string | Buffer | null, headers: Record<string, string>, opts: { truncate?: boolean; slowMs?: number } = {}): Promise<void> => {
    const buf = body === null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const h: Record<string, string | number> = { ...headers };
    if (buf) h['content-length'] = buf.length;
    res.writeHead(status, h);
    if (!buf || buf.length === 0) { res.end(); return; }
    if (opts.truncate) {
      // the headers promise the whole body; half of it arrives, then the connection drops
      res.write(buf.subarray(0, Math.floor(buf.length / 2)), () => res.destroy());
      return;
    }
    if (opts.slowMs && opts.slowMs > 0) {
      const parts = 10; const step = Math.ceil(buf.length / parts);
      for (let i = 0; i < buf.length; i += step) {
        if (res.destroyed) return;
        res.write(buf.subarray(i, i + step));
        await sleep(opts.slowMs / parts);
      }
      res.end();
      return;
    }
    res.end(buf);
  };
  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, opts: { truncate?: boolean; slowMs?: number } = {}): Promise<void> =>
    send(res, status, body === undefined ? null : body instanceof RawJson ? body.bytes : JSON.stringify(body), body === undefined ? headers : { 'content-type': 'application/json;charset=UTF-8', ...headers }, opts);

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    try {
      if (req.method === 'GET' && path === '/_sandbox/stats') return void await sendJson(res, 200, parts.stats.snapshot());
      if (req.method === 'POST' && path === '/_sandbox/stats/reset') { parts.stats.reset(); return void await sendJson(res, 200, parts.stats.snapshot()); }
      if (req.method === 'GET' && path === '/_sandbox/control') return void await sendJson(res, 200, parts.faults.current);
      if (req.method === 'POST' && path === '/_sandbox/control') {
        const raw = (await readBody(req)).toString('utf8');
        let f: Partial<Faults>;
        try { f = JSON.parse(raw || '{}') as Partial<Faults>; } catch { return void await sendJson(res, 400, { message: 'Body must be JSON Faults' }); }
        try { parts.faults.set(f); } catch (e) { return void await sendJson(res, 400, { message: (e as Error).message }); }
        return void await sendJson(res, 200, parts.faults.current);
      }
      if (req.method === 'POST' && path === '/_sandbox/tokens/expire') { parts.expireAccessTokens(); return void await sendJson(res, 200, { expired: true }); }
      if (req.method === 'POST' && path === '/_sandbox/clock') {
        const raw = (await readBody(req)).toString('utf8');
        const ms = Number((JSON.parse(raw || '{}') as { advanceMs?: unknown }).advanceMs);
        if (!Number.isFinite(ms) || ms < 0) return void await sendJson(res, 400, { message: 'advanceMs must be a number >= 0' });
        parts.advanceClock(ms);
        return void await sendJson(res, 200, { now: new Date(parts.now()).toISOString() });
      }
      await sendJson(res, 404, { message: `No control endpoint ${req.method} ${path}` });
    } catch (e) {
      await sendJson(res, 400, { message: (e as Error).message });
    }
  }

  async function oauth(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key = `${req.method} ${url.pathname}`;
    const lat = parts.faults.latency(); if (lat > 0) await sleep(lat);
    if (url.pathname === '/app/oauth/authorize' && req.method === 'GET') {
      const r = parts.auth.authorize(url.searchParams);
      if ('redirect' in r) { parts.stats.record(key, 'oauth', 302); return void await send(res, 302, null, { location: r.redirect }); }
      parts.stats.record(key, 'oauth', r.status);
      return void await send(res, r.status, `<!DOCTYPE html><html><body><h1>Authorization failed</h1><p>${r.message}</p></body></html>`, { 'content-type': 'text/html;charset=UTF-8' });
    }
    // POST /token
    const inTransit = parts.faults.current.tokenLatencyMs ?? 0;
    if (inTransit > 0) {
      await sleep(inTransit);
      if (req.socket.destroyed) { parts.stats.record(key, 'oauth', 'reset'); return; } // never arrived
    }
    let form: URLSearchParams;
    try { form = new URLSearchParams((await readBody(req)).toString('utf8')); } catch { form = new URLSearchParams(); }
    const r = parts.auth.exchange(form, req.headers.authorization);
    if ('access_token' in r) {
      if (form.get('grant_type') === 'refresh_token') parts.stats.tokenRefresh(); else parts.stats.codeExchange();
      parts.stats.record(key, 'oauth', 200);
      return void await sendJson(res, 200, r, { 'cache-control': 'no-store', pragma: 'no-cache' });
    }
    parts.stats.record(key, 'oauth', r.status);
    await sendJson(res, r.status, r.body);
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    let route: CompiledRoute | undefined; let m: RegExpExecArray | null = null;
    for (const r of byMethod.get(method) ?? []) { m = r.regex.exec(path); if (m) { route = r; break; } }
    const version: ApiVersion = route?.version ?? versionOf(path);
    const statsKey = route?.statsKey ?? `${method} ${path.replace(/^\/crm\/rest/, '')}`;
    const finish = (status: number | 'reset'): void => parts.stats.record(statsKey, version, status);

    // the gateway authenticates before it routes: unknown paths without a token are 401 too (reference §2.4)
    const principal = parts.auth.check(req.headers.authorization, headerValue(req.headers['x-keap-api-key']));
    if ('status' in principal) { finish(401); return void await sendJson(res, 401, principal.body, parts.throttle.blankHeaders()); }
    const verdict = parts.throttle.admit(principal, parts.now());
    if (!verdict.ok) { finish(429); return void await sendJson(res, 429, verdict.body, verdict.headers); }
    const headers = verdict.headers;

    const lat = parts.faults.latency(); if (lat > 0) await sleep(lat);
    const action = parts.faults.decide();
    if (action.kind === 'reset') { finish('reset'); req.socket.destroy(); return; }
    if (action.kind === 'error') {
      finish(action.status);
      return void await sendJson(res, action.status, errorBody(version, action.status, action.status === 503 ? 'Service Unavailable' : 'Internal error (injected by the sandbox)'), headers);
    }

    let reply: Reply;
    try {
      if (!route) {
        const other = [...byMethod.entries()].some(([meth, rs]) => meth !== method && rs.some((r) => r.regex.test(path)));
        if (other) throw new ApiError(405, `Method ${method} is not allowed on ${path}`);
        finish(404);
        return void await send(res, 404, NOT_FOUND_HTML, { ...headers, 'content-type': 'text/html;charset=UTF-8' });
      }
      const params: Record<string, string> = {};
      route.names.forEach((n, i) => { params[n] = decodeURIComponent(m![i + 1]!); });
      let body: unknown = undefined;
      if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
        const raw = (await readBody(req)).toString('utf8');
        if (route.rawBody) body = raw;
        else if (raw.trim() !== '') { try { body = JSON.parse(raw); } catch { throw new ApiError(400, 'Request body is not valid JSON'); } }
        else body = {};
      }
      const writeFault = method !== 'GET' ? parts.faults.writeFault(`${method} ${path.replace(/^\/crm\/rest/, '')}`) : undefined;
      if (writeFault?.status !== undefined) throw new ApiError(writeFault.status, writeFault.message ?? 'Internal error (injected by the sandbox)');
      reply = route.handle({ params, query: url.searchParams, body, selfUrl: parts.baseUrl() + path.replace(/\/$/, ''), now: parts.now() });
      // the write is done; its answer is held back (the client times out not knowing)
      if (writeFault?.hangMs) await sleep(writeFault.hangMs);
    } catch (e) {
      if (!(e instanceof ApiError)) { console.error('sandbox handler failed:', e); e = new ApiError(500, 'Internal error'); }
      const err = e as ApiError;
      finish(err.status);
      return void await sendJson(res, err.status, errorBody(version, err.status, err.message), headers);
    }
    finish(reply.status);
    const opts = { truncate: action.kind === 'truncate', slowMs: parts.faults.slowBodyMs };
    if (reply.text !== undefined) return void await send(res, reply.status, reply.text, { ...headers, 'content-type': reply.contentType ?? 'text/plain;charset=UTF-8', ...reply.headers }, opts);
    await sendJson(res, reply.status, reply.body, { ...headers, ...reply.headers }, opts);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const path = url.pathname;
    let work: Promise<void>;
    if (path.startsWith('/_sandbox/')) work = control(req, res, path);
    else if ((path === '/app/oauth/authorize' && req.method === 'GET') || (path === '/token' && req.method === 'POST')) work = oauth(req, res, url);
    else if (path.startsWith('/crm/')) work = api(req, res, url);
    // neither API nor OAuth (a browser's /favicon.ico after the redirect): answered, not counted as an API call
    else work = send(res, 404, NOT_FOUND_HTML, { 'content-type': 'text/html;charset=UTF-8' });
    work.catch((e: unknown) => {
      if (!res.headersSent) { res.writeHead(500, { 'content-type': 'application/json' }); res.end(JSON.stringify({ message: 'Internal error' })); }
      else res.destroy();
      if (!(e instanceof ApiError)) console.error('sandbox request failed:', e);
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

// A local Keap: OAuth, REST v1 and v2, throttles and faults over deterministic generated data. The test double of
// every keapgres test, the target of every benchmark, and what `keapgres serve` talks to without Keap credentials.
import type { AddressInfo } from 'node:net';
import { AuthService } from './auth.js';
import { Throttle, type ThrottleLimits } from './throttle.js';
import { FaultInjector, type Faults } from './faults.js';
import { StatsCounter, type SandboxStats } from './stats.js';
import { createStore, type SandboxStore } from './store.js';
import { readRoutes } from './read-routes.js';
import { writeRoutes } from './write-routes.js';
import { xmlRpcRoutes } from './xml-rpc.js';
import { coverageRoutes } from './coverage-routes.js';
import { createSandboxServer } from './server.js';
import { prewarmContacts, PREWARM_FIELD_SETS } from './prewarm.js';

export type { Faults } from './faults.js';
export type { SandboxStats } from './stats.js';
export type { SandboxStore } from './store.js';
export type { ThrottleLimits } from './throttle.js';

export interface SandboxOptions {
  host?: string;            // default '127.0.0.1'
  port?: number;            // default 0 (OS-assigned)
  seed?: number;            // default 1
  contacts?: number;        // default 5000; other resources in proportion
  accessTokenTtlSeconds?: number;   // expires_in, default 86400
  latencyMs?: number; latencyJitterMs?: number;
  /** defaults from the reference §7, by credential kind (OAuth client or API key); a value set here applies to both */
  limits?: ThrottleLimits;
  /** initial faults (same as setFaults) */
  faults?: Partial<Faults>;
  /** byte budget for serialised v2 contacts reused across list pages (default 1e9: a million contacts fit) */
  jsonCacheBytes?: number;
  /** serialise contacts into that cache in the background from the start (true: default and all fields) */
  prewarm?: boolean | string[][];
  /** fixed credentials, e.g. for a long-running `keapgres sandbox`; random when absent */
  credentials?: { clientId?: string; clientSecret?: string; personalAccessToken?: string; serviceAccountKey?: string };
}

export interface Sandbox {
  readonly url: string;
  readonly apiBase: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string; readonly clientSecret: string;
  readonly personalAccessToken: string; readonly serviceAccountKey: string;
  /** the app name after the pipe in `scope`, and the `x-keap-tenant-id` header */
  readonly tenant: string;
  issueTokens(opts?: { expiresInSeconds?: number }): { access_token: string; refresh_token: string; expires_in: number };
  expireAccessTokens(): void;
  advanceClock(ms: number): void;
  /** the sandbox's notion of now (epoch ms) */
  now(): number;
  setFaults(f: Partial<Faults>): void;
  faults(): Faults;
  stats(): SandboxStats; resetStats(): void;
  readonly store: SandboxStore;
  /** resolves when the background prewarm (option `prewarm`) has finished; at once without one */
  warmed(): Promise<void>;
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const seed = opts.seed ?? 1;
  const store = createStore(seed, opts.contacts ?? 5000, opts.jsonCacheBytes);
  let clockOffset = 0;
  const now = (): number => Date.now() + clockOffset;
  const tenant = `sb${seed}.infusionsoft.com`;
  const auth = new AuthService(tenant, opts.accessTokenTtlSeconds ?? 86_400, now, opts.credentials);
  const throttle = new Throttle(opts.limits ?? {}, tenant);
  const faults = new FaultInjector({ latencyMs: opts.latencyMs ?? 0, latencyJitterMs: opts.latencyJitterMs ?? 0, ...opts.faults }, seed);
  const stats = new StatsCounter();
  let baseUrl = '';
  const env = { store, baseUrl: () => baseUrl, tenant };
  const routes = [...readRoutes(env), ...coverageRoutes(env), ...writeRoutes(env), ...xmlRpcRoutes(env)];
  const server = createSandboxServer({
    routes, auth, throttle, faults, stats, now, baseUrl: () => baseUrl,
    expireAccessTokens: () => auth.expireAccessTokens(), advanceClock: (ms) => { clockOffset += ms; },
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const warm = opts.prewarm ? prewarmContacts(store, opts.prewarm === true ? PREWARM_FIELD_SETS : opts.prewarm) : undefined;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  baseUrl = `http://${shownHost}:${port}`;

  return {
    url: baseUrl, apiBase: `${baseUrl}/crm/rest`, authorizeUrl: `${baseUrl}/app/oauth/authorize`, tokenUrl: `${baseUrl}/token`,
    clientId: auth.clientId, clientSecret: auth.clientSecret, personalAccessToken: auth.personalAccessToken, serviceAccountKey: auth.serviceAccountKey,
    tenant,
    issueTokens: (o) => { const t = auth.issue(o?.expiresInSeconds); return { access_token: t.access_token, refresh_token: t.refresh_token, expires_in: t.expires_in }; },
    expireAccessTokens: () => auth.expireAccessTokens(),
    advanceClock: (ms) => { if (!(ms >= 0)) throw new RangeError('advanceClock needs ms >= 0'); clockOffset += ms; },
    now,
    setFaults: (f) => faults.set(f),
    faults: () => faults.current,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    store,
    warmed: () => warm?.done ?? Promise.resolve(),
    close: () => { warm?.stop(); return new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }); },
  };
}

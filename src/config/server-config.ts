// Server configuration: a JSON file, overridden by KEAPGRES_* environment variables, overridden by
// command-line flags. Validated once into a frozen ServerConfig.
//
// File shape (every key optional):
// {
//   "host": "127.0.0.1", "port": 5433,
//   "tls": { "cert": "/path/server.crt", "key": "/path/server.key" },
//   "users": [ { "name": "alice", "verifier": "SCRAM-SHA-256$4096:…" } ],   // from `keapgres passwd alice`
//   "trust": false,                 // true: any user without a password; ["bob"]: these users without one
//   "passwordMethod": "scram-sha-256",  // or "password": cleartext, checked against the verifier, only over TLS
//   "databases": { "keap": "AuthScheme=OAuth;InitiateOAuth=GETANDREFRESH;…", "demo": "sandbox" },
//   "sandbox": { "seed": 1, "contacts": 1000 },
//   "maxSessions": 100, "maxMessageBytes": 67108864, "shutdownGraceMs": 10000,
//   "idleSpareEngines": 1, "logLevel": "info",
//   "cacheConnection": "postgresql://…",   // state shared by instances, for every database without its own
//   "advertiseAddress": "10.0.0.7",        // where other instances forward CancelRequests (host or host:port)
//   "instanceTimeout": 30                  // seconds without a heartbeat after which an instance id is free
// }
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { closestName } from './closest-name.js';
import { ConfigError } from './config-error.js';
import { parseCacheConnection, parseCacheSettings, parseConnectionString, type CacheSettings, type ConnectionSettings } from './connection-string.js';
import { createScramVerifier, isScramVerifier } from '../wire/scram.js';

export interface ServerUser {
  name: string;
  verifier: string;
}

export interface SandboxOptions {
  seed: number;
  contacts: number;
  /** records per API request keapgres asks the sandbox for (Keap's Pagesize), default 1000 */
  pageSize?: number;
  /** added latency per API request, ms */
  latencyMs?: number;
  /** the sandbox database's cache properties */
  cache?: CacheSettings;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** PEM text */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly users: readonly ServerUser[];
  /** true: every user may connect without a password; a list: those users may */
  readonly trust: boolean | readonly string[];
  /**
   * How users with a verifier authenticate: SCRAM-SHA-256 (default), or "password" — a cleartext
   * password, checked against the verifier, for clients without SCRAM; accepted only over TLS.
   */
  readonly passwordMethod: 'scram-sha-256' | 'password';
  readonly maxSessions: number;
  readonly maxMessageBytes: number;
  readonly shutdownGraceMs: number;
  readonly idleSpareEngines: number;
  /** engines kept idle with their loaded Keap tables, for the next sessions of the same database (0: none) */
  readonly idleLoadedEngines: number;
  readonly logLevel: string;
  /** database name → its Keap connection, or the in-process sandbox */
  readonly databases: ReadonlyMap<string, ConnectionSettings | 'sandbox'>;
  readonly sandbox?: SandboxOptions;
  /** cache properties of sandbox databases given as "sandbox;CacheTolerance=…" */
  readonly sandboxCache: ReadonlyMap<string, CacheSettings>;
  /** the config file read, if any */
  readonly configFile?: string;
  /** CacheConnection for every database that names none (and where this instance registers for cancel forwarding) */
  readonly cacheConnection?: string;
  /** where other instances reach this one's CancelRequests, when not the listen address (containers, Kubernetes) */
  readonly advertiseAddress?: { readonly host: string; readonly port?: number };
  /** seconds without a heartbeat after which an instance's id (and its pids) may be taken over */
  readonly instanceTimeoutSeconds: number;
}

export interface LoadServerConfigOptions {
  configFile?: string;
  host?: string;
  port?: number;
  /** `--connection "…"`: one connection served as database `keap` */
  connection?: string;
  env?: NodeJS.ProcessEnv;
}

const FILE_KEYS = ['host', 'port', 'tls', 'users', 'trust', 'passwordMethod', 'databases', 'sandbox', 'maxSessions', 'maxMessageBytes', 'shutdownGraceMs', 'idleSpareEngines', 'idleLoadedEngines', 'logLevel', 'cacheConnection', 'advertiseAddress', 'instanceTimeout'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const DB_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

/** Environment variables read, for documentation and `--help`. */
export const ENVIRONMENT_VARIABLES = {
  KEAPGRES_CONFIG: 'path of the JSON configuration file',
  KEAPGRES_HOST: 'listen address (default 127.0.0.1)',
  KEAPGRES_PORT: 'listen port (default 5433)',
  KEAPGRES_CONNECTION: 'connection string served as database "keap"',
  KEAPGRES_TLS_CERT: 'path of the TLS certificate (PEM)',
  KEAPGRES_TLS_KEY: 'path of the TLS private key (PEM)',
  KEAPGRES_USER: 'a user name to accept, with KEAPGRES_PASSWORD',
  KEAPGRES_PASSWORD: 'that user’s password (hashed to a SCRAM verifier at start-up)',
  KEAPGRES_TRUST: '"true", "false" or a comma list of users allowed without a password',
  KEAPGRES_MAX_SESSIONS: 'most concurrent client sessions (default 100)',
  KEAPGRES_LOG_LEVEL: 'fatal, error, warn, info (default), debug, trace or silent',
  KEAPGRES_CACHE_CONNECTION: 'postgresql:// URL where instances share state, for every database without its own CacheConnection',
  KEAPGRES_ADVERTISE_ADDRESS: 'host or host:port where other instances forward cancel requests (default: the listen address)',
} as const;

type Raw = Partial<Record<(typeof FILE_KEYS)[number], unknown>>;

export function loadServerConfig(opts: LoadServerConfigOptions = {}): ServerConfig {
  const env = opts.env ?? process.env;
  const configFile = opts.configFile ?? nonEmpty(env.KEAPGRES_CONFIG);
  const raw: Raw = configFile ? readConfigFile(configFile) : {};
  const baseDir = configFile ? dirname(resolve(configFile)) : process.cwd();
  const where = configFile ? `configuration file "${configFile}"` : 'configuration';

  const host = opts.host ?? nonEmpty(env.KEAPGRES_HOST) ?? stringField(raw, 'host', where) ?? '127.0.0.1';
  const port = opts.port ?? intFrom(env.KEAPGRES_PORT, 'KEAPGRES_PORT', 0, 65535) ?? intField(raw, 'port', where, 0, 65535) ?? 5433;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`port ${port} is out of range`, { hint: 'Expected 0 to 65535.' });

  const tls = loadTls(raw, env, where, baseDir);
  const users = loadUsers(raw, env, where);
  const trust = loadTrust(raw, env, where);
  const sandboxCache = new Map<string, CacheSettings>();
  const cacheConnection = loadCacheConnection(raw, env, where);
  const databases = loadDatabases(raw, opts.connection ?? nonEmpty(env.KEAPGRES_CONNECTION), where, env, sandboxCache, cacheConnection);
  const advertiseAddress = parseAdvertiseAddress(nonEmpty(env.KEAPGRES_ADVERTISE_ADDRESS) ?? stringField(raw, 'advertiseAddress', where), env.KEAPGRES_ADVERTISE_ADDRESS ? 'KEAPGRES_ADVERTISE_ADDRESS' : `"advertiseAddress" in the ${where}`);
  const logLevel = (nonEmpty(env.KEAPGRES_LOG_LEVEL) ?? stringField(raw, 'logLevel', where) ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`log level "${logLevel}" is not recognized`, { hint: `Allowed values: ${LOG_LEVELS.join(', ')}.` });

  const sandbox = loadSandbox(raw, where);
  const passwordMethod = stringField(raw, 'passwordMethod', where) ?? 'scram-sha-256';
  if (passwordMethod !== 'scram-sha-256' && passwordMethod !== 'password') {
    throw new ConfigError(`password method "${passwordMethod.slice(0, 32)}" is not recognized`, { hint: 'Allowed values: scram-sha-256, password (cleartext, accepted only over TLS).' });
  }
  const config: ServerConfig = {
    host,
    port,
    tls,
    users,
    trust,
    passwordMethod,
    maxSessions: intFrom(env.KEAPGRES_MAX_SESSIONS, 'KEAPGRES_MAX_SESSIONS', 1, 100_000) ?? intField(raw, 'maxSessions', where, 1, 100_000) ?? 100,
    maxMessageBytes: intField(raw, 'maxMessageBytes', where, 1024, 1024 ** 3) ?? 64 * 1024 * 1024,
    shutdownGraceMs: intField(raw, 'shutdownGraceMs', where, 0, 3_600_000) ?? 10_000,
    idleSpareEngines: intField(raw, 'idleSpareEngines', where, 0, 64) ?? 1,
    idleLoadedEngines: intField(raw, 'idleLoadedEngines', where, 0, 64) ?? 16,
    logLevel,
    databases,
    sandbox: sandbox ?? ([...databases.values()].includes('sandbox') ? { seed: 1, contacts: 1000 } : undefined),
    sandboxCache,
    configFile,
    cacheConnection,
    advertiseAddress,
    instanceTimeoutSeconds: intField(raw, 'instanceTimeout', where, 3, 3600) ?? 30,
  };
  Object.freeze(config.users);
  if (Array.isArray(config.trust)) Object.freeze(config.trust);
  return Object.freeze(config);
}

function readConfigFile(path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read configuration file "${path}"`, { detail: (err as Error).message });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`configuration file "${path}" is not valid JSON`, { detail: (err as Error).message });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError(`configuration file "${path}" must hold a JSON object`);
  for (const key of Object.keys(data)) {
    if (!(FILE_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`unknown key "${key.slice(0, 64)}" in configuration file "${path}"`, {
        detail: `Perhaps you meant "${closestName(key.slice(0, 64), FILE_KEYS)}".`,
        hint: `Known keys: ${FILE_KEYS.join(', ')}.`,
      });
    }
  }
  return data as Raw;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function stringField(raw: Raw, key: keyof Raw, where: string): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new ConfigError(`"${key}" in the ${where} must be a non-empty string`);
  return v;
}

function intField(raw: Raw, key: keyof Raw, where: string, min: number, max: number): number | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`"${key}" in the ${where} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function intFrom(v: string | undefined, name: string, min: number, max: number): number | undefined {
  const text = nonEmpty(v);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(`environment variable ${name} must be an integer from ${min} to ${max}`, { detail: `It is "${text.slice(0, 32)}".` });
  }
  return Number(text);
}

function loadTls(raw: Raw, env: NodeJS.ProcessEnv, where: string, baseDir: string): ServerConfig['tls'] {
  const fileTls = raw.tls;
  if (fileTls !== undefined && (typeof fileTls !== 'object' || fileTls === null)) throw new ConfigError(`"tls" in the ${where} must be an object with "cert" and "key" paths`);
  const t = (fileTls ?? {}) as { cert?: unknown; key?: unknown };
  const certPath = nonEmpty(env.KEAPGRES_TLS_CERT) ?? (typeof t.cert === 'string' ? resolve(baseDir, t.cert) : undefined);
  const keyPath = nonEmpty(env.KEAPGRES_TLS_KEY) ?? (typeof t.key === 'string' ? resolve(baseDir, t.key) : undefined);
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) {
    throw new ConfigError('TLS needs both a certificate and a private key', {
      hint: 'Set "tls": {"cert": …, "key": …} in the configuration file, or both KEAPGRES_TLS_CERT and KEAPGRES_TLS_KEY.',
    });
  }
  const cert = readPem(certPath, 'certificate', /-----BEGIN CERTIFICATE-----/);
  const key = readPem(keyPath, 'private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  return Object.freeze({ cert, key });
}

function readPem(path: string, what: string, marker: RegExp): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the TLS ${what} "${path}"`, { detail: (err as Error).message });
  }
  // never quote a key file's content in the message
  if (!marker.test(text)) throw new ConfigError(`the TLS ${what} "${path}" is not PEM`, { hint: `Expected a file with a "${marker.source.replace(/\\|\[A-Z \]\*/g, '')}" block.` });
  return text;
}

function loadUsers(raw: Raw, env: NodeJS.ProcessEnv, where: string): ServerUser[] {
  const users: ServerUser[] = [];
  if (raw.users !== undefined) {
    if (!Array.isArray(raw.users)) throw new ConfigError(`"users" in the ${where} must be a list of {"name", "verifier"}`);
    raw.users.forEach((u: unknown, i: number) => {
      const entry = u as { name?: unknown; verifier?: unknown };
      if (typeof entry !== 'object' || entry === null || typeof entry.name !== 'string' || entry.name === '') {
        throw new ConfigError(`users[${i}] in the ${where} needs a "name"`);
      }
      if (typeof entry.verifier !== 'string' || !isScramVerifier(entry.verifier)) {
        throw new ConfigError(`user "${entry.name}" in the ${where} has no valid SCRAM verifier`, {
          detail: 'Expected "verifier": "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>". Plain passwords are not stored in the file.',
          hint: `Create one with: keapgres passwd ${entry.name}`,
        });
      }
      if (users.some((x) => x.name === entry.name)) throw new ConfigError(`user "${entry.name}" appears twice in the ${where}`);
      users.push(Object.freeze({ name: entry.name, verifier: entry.verifier.trim() }));
    });
  }
  const envUser = nonEmpty(env.KEAPGRES_USER);
  const envPassword = env.KEAPGRES_PASSWORD;
  if (envUser || envPassword) {
    if (!envUser || !envPassword) throw new ConfigError('KEAPGRES_USER and KEAPGRES_PASSWORD must be set together');
    const verifier = isScramVerifier(envPassword) ? envPassword : createScramVerifier(envPassword);
    const existing = users.findIndex((u) => u.name === envUser);
    if (existing >= 0) users.splice(existing, 1);
    users.push(Object.freeze({ name: envUser, verifier }));
  }
  return users;
}

function loadTrust(raw: Raw, env: NodeJS.ProcessEnv, where: string): boolean | string[] {
  const fromEnv = nonEmpty(env.KEAPGRES_TRUST);
  if (fromEnv !== undefined) {
    if (/^(true|yes|on|1)$/i.test(fromEnv)) return true;
    if (/^(false|no|off|0)$/i.test(fromEnv)) return false;
    return fromEnv.split(',').map((s) => s.trim()).filter(Boolean);
  }
  const t = raw.trust;
  if (t === undefined) return false;
  if (typeof t === 'boolean') return t;
  if (Array.isArray(t) && t.every((x) => typeof x === 'string' && x !== '')) return [...(t as string[])];
  throw new ConfigError(`"trust" in the ${where} must be true, false, or a list of user names`);
}

/** The server-level CacheConnection (environment over file), checked as the connection property is. */
function loadCacheConnection(raw: Raw, env: NodeJS.ProcessEnv, where: string): string | undefined {
  const fromEnv = nonEmpty(env.KEAPGRES_CACHE_CONNECTION);
  const v = fromEnv ?? stringField(raw, 'cacheConnection', where);
  if (v === undefined) return undefined;
  try {
    return parseCacheConnection(v);
  } catch (err) {
    // the URL may hold a password: the message names the setting, never its value
    if (err instanceof ConfigError) throw new ConfigError(`${fromEnv ? 'KEAPGRES_CACHE_CONNECTION' : `"cacheConnection" in the ${where}`}: ${err.message}`, { detail: err.detail, hint: err.hint });
    throw err;
  }
}

/** "host", "host:port", "[v6]" or "[v6]:port". */
export function parseAdvertiseAddress(v: string | undefined, what: string): ServerConfig['advertiseAddress'] {
  if (v === undefined) return undefined;
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(v) ?? /^([^:\s\[\]]+)(?::(\d+))?$/.exec(v) ?? (/^[0-9A-Fa-f:]+$/.test(v) && v.includes(':') ? [v, v] : null);
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || (port !== undefined && (port < 1 || port > 65535))) {
    throw new ConfigError(`${what} must be a host name or address, optionally with ":port"`, { detail: `It is "${v.slice(0, 64)}".`, hint: 'For example "10.0.0.7", "keapgres-1:5433" or "[fd00::7]:5433".' });
  }
  return Object.freeze({ host: m[1]!, ...(port !== undefined ? { port } : {}) });
}

function loadDatabases(raw: Raw, connection: string | undefined, where: string, env: NodeJS.ProcessEnv, sandboxCache: Map<string, CacheSettings>, cacheConnection: string | undefined): Map<string, ConnectionSettings | 'sandbox'> {
  const databases = new Map<string, ConnectionSettings | 'sandbox'>();
  if (raw.databases !== undefined) {
    if (typeof raw.databases !== 'object' || raw.databases === null || Array.isArray(raw.databases)) {
      throw new ConfigError(`"databases" in the ${where} must map database names to connection strings`);
    }
    for (const [name, value] of Object.entries(raw.databases as Record<string, unknown>)) {
      if (!DB_NAME.test(name)) throw new ConfigError(`database name "${name.slice(0, 64)}" in the ${where} is not allowed`, { hint: 'Use letters, digits, "_", "$" or "-", starting with a letter or "_", at most 63 characters.' });
      if (name === 'template0' || name === 'template1') {
        throw new ConfigError(`database name "${name}" in the ${where} is reserved`, {
          detail: 'Tools connect to template1 (and postgres) to list databases; keapgres serves those names itself.',
          hint: 'Choose another name.',
        });
      }
      if (typeof value !== 'string') throw new ConfigError(`database "${name}" in the ${where} must be a connection string or "sandbox"`);
      databases.set(name, parseDatabase(name, value, env, sandboxCache));
    }
  }
  if (connection !== undefined) databases.set('keap', parseDatabase('keap', connection, env, sandboxCache));
  if (databases.size === 0) databases.set('keap', 'sandbox');
  // the server-level CacheConnection is every Keap database's unless it names its own
  if (cacheConnection !== undefined) {
    for (const [name, settings] of databases) {
      if (settings !== 'sandbox' && settings.cacheConnection === undefined) databases.set(name, Object.freeze({ ...settings, cacheConnection }));
    }
  }
  return databases;
}

/** A database given as "sandbox;CacheTolerance=…" is the built-in sandbox with those cache properties. */
function parseDatabase(name: string, value: string, env: NodeJS.ProcessEnv, sandboxCache: Map<string, CacheSettings>): ConnectionSettings | 'sandbox' {
  if (value.trim().toLowerCase() === 'sandbox') return 'sandbox';
  const m = /^\s*sandbox\s*;(.*)$/is.exec(value);
  try {
    if (m) {
      sandboxCache.set(name, parseCacheSettings(m[1]!, env));
      return 'sandbox';
    }
    return parseConnectionString(value, { connectionName: name, env });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ConfigError(`database "${name}": ${err.message}`, { detail: err.detail, hint: err.hint });
    }
    throw err;
  }
}

function sandboxCache(v: unknown, where: string): CacheSettings | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ConfigError(`"sandbox.cache" in the ${where} must be a string of cache properties, e.g. "CacheTolerance=60"`);
  try {
    return parseCacheSettings(v);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`"sandbox.cache" in the ${where}: ${err.message}`, { detail: err.detail, hint: err.hint });
    throw err;
  }
}

function loadSandbox(raw: Raw, where: string): SandboxOptions | undefined {
  if (raw.sandbox === undefined) return undefined;
  const s = raw.sandbox as { seed?: unknown; contacts?: unknown; pageSize?: unknown; latencyMs?: unknown; cache?: unknown };
  if (typeof s !== 'object' || s === null) throw new ConfigError(`"sandbox" in the ${where} must be an object`);
  const int = (v: unknown, key: string, def: number, max: number) => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new ConfigError(`"sandbox.${key}" in the ${where} must be an integer from 0 to ${max}`);
    return v;
  };
  const cache = sandboxCache(s.cache, where);
  return Object.freeze({
    seed: int(s.seed, 'seed', 1, 2 ** 31 - 1),
    contacts: int(s.contacts, 'contacts', 1000, 10_000_000),
    pageSize: int(s.pageSize, 'pageSize', 1000, 1000) || 1000,
    latencyMs: int(s.latencyMs, 'latencyMs', 0, 60_000),
    ...(cache ? { cache } : {}),
  });
}

// Connection strings, configured the way CData's API Data Provider for Infusionsoft is:
//   Profile=…/keap;AuthScheme=OAuth;InitiateOAuth=GETANDREFRESH;OAuthClientId=…;OAuthClientSecret=…;
// Parsed once into a frozen, fully validated ConnectionSettings; secrets are masked whenever printed.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { closestName } from './closest-name.js';
import { ConfigError } from './config-error.js';
import { normalizeName, quoteValue, tokenizeConnectionString, tokenizeLeniently } from './connection-string-syntax.js';

export { ConfigError } from './config-error.js';

export type AuthScheme = 'OAuth' | 'APIKey';
export type InitiateOAuth = 'OFF' | 'GETANDREFRESH' | 'REFRESH';
export type ApiKeyHeader = 'X-Keap-API-Key' | 'Authorization';

export const KEAP_API_URL = 'https://api.infusionsoft.com/crm/rest';
export const KEAP_AUTHORIZATION_URL = 'https://accounts.infusionsoft.com/app/oauth/authorize';
export const KEAP_ACCESS_TOKEN_URL = 'https://api.infusionsoft.com/token';
export const DEFAULT_CALLBACK_URL = 'http://localhost:33333';
export const MASK = '********';

export interface ConnectionSettings {
  /** directory of table definitions; undefined = the built-in Keap schemas */
  readonly profile?: string;
  readonly authScheme: AuthScheme;
  /** Keap personal access token or service account key (AuthScheme=APIKey) */
  readonly apiKey?: string;
  /** how the API key is sent (Other=APIKeyHeader=…); Keap accepts both */
  readonly apiKeyHeader: ApiKeyHeader;
  readonly initiateOAuth: InitiateOAuth;
  readonly oauthClientId?: string;
  readonly oauthClientSecret?: string;
  readonly oauthAccessToken?: string;
  readonly oauthRefreshToken?: string;
  /** lifetime of oauthAccessToken in seconds */
  readonly oauthExpiresIn?: number;
  /** when oauthAccessToken was issued, epoch milliseconds */
  readonly oauthTokenTimestamp?: number;
  /** absolute path of the token file, or `memory://name` */
  readonly oauthSettingsLocation: string;
  readonly callbackUrl: string;
  readonly oauthVerifier?: string;
  readonly scope: string;
  readonly oauthAuthorizationUrl: string;
  readonly oauthAccessTokenUrl: string;
  /** API base without trailing slash; `/v1/…` and `/v2/…` are appended */
  readonly url: string;
  /** 0 = no timeout */
  readonly timeoutSeconds: number;
  readonly pageSize: number;
  /** -1 = no limit */
  readonly maxRows: number;
  readonly logfile?: string;
  readonly verbosity: number;
  /** whether the GETANDREFRESH flow may open a desktop browser (Other=OpenBrowser=false to stop it) */
  readonly openBrowser: boolean;
  /** AutoCache: keep fetched rows in the database's shared cache (default true) */
  readonly autoCache: boolean;
  /** CacheTolerance: seconds a cache entry answers without a refresh (0 = refresh before every use) */
  readonly cacheToleranceSeconds: number;
  /** CacheLocation: directory of the cache files; undefined = under the keapgres cache directory */
  readonly cacheLocation?: string;
  /** CacheMaxSize: megabytes the cache may hold; undefined = no bound */
  readonly cacheMaxSizeMb?: number;
  /** Offline: answer from the cache only, never call Keap */
  readonly offline: boolean;
  /** CacheConnection: a PostgreSQL URL where instances share state (today: the OAuth tokens) */
  readonly cacheConnection?: string;
  /** ReadOnly: refuse every write to a Keap table (CData's property) */
  readonly readOnly: boolean;
  /** the Other=… properties, canonical names */
  readonly other: Readonly<Record<string, string>>;
  /** properties given but without effect for this AuthScheme (the credential source logs them) */
  readonly ignoredProperties: readonly string[];
  /** the connection string with every secret masked, safe to print */
  readonly masked: string;
}

export interface ParseOptions {
  /** the database name this connection is served under; part of the default token file name */
  connectionName?: string;
  env?: NodeJS.ProcessEnv;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Draft = Mutable<Partial<ConnectionSettings>>;

interface PropertySpec {
  name: string;
  secret?: boolean;
  apply(value: string, draft: Draft, ctx: { env: NodeJS.ProcessEnv }): void;
}

const PROPERTIES: readonly PropertySpec[] = [
  { name: 'Profile', apply: (v, d, c) => (d.profile = parseDirectory('Profile', v, c.env)) },
  { name: 'AuthScheme', apply: (v, d) => (d.authScheme = parseAuthScheme(v)) },
  { name: 'APIKey', secret: true, apply: (v, d) => (d.apiKey = v) },
  {
    name: 'InitiateOAuth',
    apply: (v, d) => (d.initiateOAuth = parseChoice('InitiateOAuth', v, ['OFF', 'GETANDREFRESH', 'REFRESH'] as const)),
  },
  { name: 'OAuthClientId', apply: (v, d) => (d.oauthClientId = v) },
  { name: 'OAuthClientSecret', secret: true, apply: (v, d) => (d.oauthClientSecret = v) },
  { name: 'OAuthAccessToken', secret: true, apply: (v, d) => (d.oauthAccessToken = v) },
  { name: 'OAuthRefreshToken', secret: true, apply: (v, d) => (d.oauthRefreshToken = v) },
  { name: 'OAuthExpiresIn', apply: (v, d) => (d.oauthExpiresIn = parseInteger('OAuthExpiresIn', v, 1, 10 * 365 * 86400, 'a lifetime in seconds, such as 86400')) },
  { name: 'OAuthTokenTimestamp', apply: (v, d) => (d.oauthTokenTimestamp = parseTimestamp(v)) },
  { name: 'OAuthSettingsLocation', apply: (v, d, c) => (d.oauthSettingsLocation = parseSettingsLocation(v, c.env)) },
  { name: 'CallbackURL', apply: (v, d) => (d.callbackUrl = parseUrl('CallbackURL', v)) },
  { name: 'OAuthVerifier', secret: true, apply: (v, d) => (d.oauthVerifier = v) },
  { name: 'Scope', apply: (v, d) => (d.scope = parseChoice('Scope', v, ['full'] as const)) },
  { name: 'OAuthAuthorizationURL', apply: (v, d) => (d.oauthAuthorizationUrl = parseUrl('OAuthAuthorizationURL', v)) },
  { name: 'OAuthAccessTokenURL', apply: (v, d) => (d.oauthAccessTokenUrl = parseUrl('OAuthAccessTokenURL', v)) },
  { name: 'URL', apply: (v, d) => (d.url = parseUrl('URL', v).replace(/\/+$/, '')) },
  { name: 'Timeout', apply: (v, d) => (d.timeoutSeconds = parseInteger('Timeout', v, 0, 86400, 'seconds from 0 (no timeout) to 86400')) },
  { name: 'Pagesize', apply: (v, d) => (d.pageSize = parseInteger('Pagesize', v, 1, 1000, 'an integer from 1 to 1000 (the most Keap returns per page)')) },
  { name: 'MaxRows', apply: (v, d) => (d.maxRows = parseInteger('MaxRows', v, -1, Number.MAX_SAFE_INTEGER, '-1 (no limit) or a row count of 0 or more')) },
  { name: 'Logfile', apply: (v, d, c) => (d.logfile = parseFilePath('Logfile', v, c.env)) },
  { name: 'Verbosity', apply: (v, d) => (d.verbosity = parseInteger('Verbosity', v, 1, 5, 'an integer from 1 (errors and setup) to 5 (everything, including HTTP bodies)')) },
  { name: 'AutoCache', apply: (v, d) => (d.autoCache = parseBoolean('AutoCache', v)) },
  { name: 'CacheTolerance', apply: (v, d) => (d.cacheToleranceSeconds = parseInteger('CacheTolerance', v, 0, 10 * 365 * 86400, 'seconds a cached table answers before it is refreshed, 0 to refresh before every use')) },
  { name: 'CacheLocation', apply: (v, d, c) => (d.cacheLocation = parseCacheLocation(v, c.env)) },
  { name: 'CacheMaxSize', apply: (v, d) => (d.cacheMaxSizeMb = parseInteger('CacheMaxSize', v, 1, 1024 * 1024, 'megabytes, an integer of 1 or more')) },
  { name: 'Offline', apply: (v, d) => (d.offline = parseBoolean('Offline', v)) },
  { name: 'CacheConnection', secret: true, apply: (v, d) => (d.cacheConnection = parseCacheConnection(v)) },
  { name: 'ReadOnly', apply: (v, d) => (d.readOnly = parseBoolean('ReadOnly', v)) },
  { name: 'Other', apply: (v, d) => applyOther(v, d) },
];

const OAUTH_ONLY = ['InitiateOAuth', 'OAuthClientId', 'OAuthClientSecret', 'OAuthAccessToken', 'OAuthRefreshToken', 'OAuthExpiresIn', 'OAuthTokenTimestamp', 'OAuthSettingsLocation', 'CallbackURL', 'OAuthVerifier', 'Scope', 'OAuthAuthorizationURL', 'OAuthAccessTokenURL'];

/** keapgres's own hidden properties, given as Other='Name=Value;…' the way CData passes hidden ones */
const OTHER_PROPERTIES = ['APIKeyHeader', 'OpenBrowser'] as const;

const BY_NORMALIZED = new Map(PROPERTIES.map((p) => [normalizeName(p.name), p]));
const NAMES = PROPERTIES.map((p) => p.name);
const SECRET_NAME = /secret|token|key|password|pwd|verifier/i;

export const KNOWN_PROPERTIES: readonly string[] = NAMES;

export function isSecretProperty(name: string): boolean {
  const spec = BY_NORMALIZED.get(normalizeName(name));
  return spec ? spec.secret === true : SECRET_NAME.test(name);
}

/** The cache properties of a connection (AutoCache, CacheTolerance, CacheLocation, CacheMaxSize, Offline). */
export type CacheSettings = Pick<ConnectionSettings, 'autoCache' | 'cacheToleranceSeconds' | 'cacheLocation' | 'cacheMaxSizeMb' | 'offline'>
  & { readonly readOnly?: boolean; readonly timeoutSeconds?: number };

/** The properties the built-in sandbox takes: the cache's, ReadOnly and Timeout. */
export const CACHE_PROPERTIES = ['AutoCache', 'CacheTolerance', 'CacheLocation', 'CacheMaxSize', 'Offline', 'ReadOnly', 'Timeout'] as const;

/** Only the cache properties, as the built-in sandbox takes them ("CacheTolerance=5;Offline=false"). */
export function parseCacheSettings(s: string, env: NodeJS.ProcessEnv = process.env): CacheSettings {
  const draft: Draft = {};
  for (const pair of tokenizeConnectionString(s)) {
    const spec = BY_NORMALIZED.get(normalizeName(pair.name));
    if (!spec || !(CACHE_PROPERTIES as readonly string[]).includes(spec.name)) {
      throw new ConfigError(`"${truncate(pair.name)}" is not a cache property`, {
        detail: `Perhaps you meant "${closestName(pair.name.replace(/\s+/g, '').slice(0, 64), [...CACHE_PROPERTIES])}".`,
        hint: `The sandbox takes only ${CACHE_PROPERTIES.join(', ')}.`,
      });
    }
    if (pair.value !== '') spec.apply(pair.value, draft, { env });
  }
  return {
    autoCache: draft.autoCache ?? true, cacheToleranceSeconds: draft.cacheToleranceSeconds ?? 600, cacheLocation: draft.cacheLocation, cacheMaxSizeMb: draft.cacheMaxSizeMb,
    offline: draft.offline ?? false, readOnly: draft.readOnly ?? false, timeoutSeconds: draft.timeoutSeconds,
  };
}

export function parseConnectionString(s: string, options: ParseOptions = {}): ConnectionSettings {
  const env = options.env ?? process.env;
  const pairs = tokenizeConnectionString(s);
  const draft: Draft = {};
  const seen = new Map<string, string>();
  let previous: string | undefined;
  for (const pair of pairs) {
    const spec = BY_NORMALIZED.get(normalizeName(pair.name));
    if (!spec) {
      const suggestion = closestName(pair.name.replace(/\s+/g, '').slice(0, 64), NAMES);
      if (previous && isSecretProperty(previous)) {
        // the "name" may really be the tail of a secret that held an unquoted ';'
        throw new ConfigError(`unknown connection property at character ${pair.position}, after property "${previous}"`, {
          detail: `If the value of ${previous} contains ";", quote it. Otherwise perhaps you meant "${suggestion}".`,
          hint: `Known properties: ${NAMES.join(', ')}.`,
        });
      }
      throw new ConfigError(`unknown connection property "${truncate(pair.name)}"`, {
        detail: `Perhaps you meant "${suggestion}".`,
        hint: `Known properties: ${NAMES.join(', ')}.`,
      });
    }
    const first = seen.get(spec.name);
    if (first !== undefined) {
      throw new ConfigError(`connection property "${spec.name}" is given twice`, {
        detail: `It appears as "${truncate(first)}" and as "${truncate(pair.name)}" (names are case-insensitive).`,
        hint: 'Keep one of them.',
      });
    }
    seen.set(spec.name, pair.name);
    previous = spec.name;
    // an empty value means "the default", as in CData's providers
    if (pair.value === '' && !pair.quoted) continue;
    if (pair.value === '') {
      if (spec.secret) continue;
      if (spec.name !== 'Other') throw new ConfigError(`connection property "${spec.name}" is empty`, { hint: `Leave ${spec.name} out to use its default.` });
    }
    spec.apply(pair.value, draft, { env });
  }
  return freezeSettings(finish(draft, seen, s, options, env));
}

function finish(draft: Draft, seen: Map<string, string>, s: string, options: ParseOptions, env: NodeJS.ProcessEnv): ConnectionSettings {
  const authScheme = draft.authScheme ?? 'OAuth';
  const initiateOAuth = draft.initiateOAuth ?? 'OFF';
  const ignored: string[] = [];
  if (authScheme === 'APIKey') {
    if (!draft.apiKey) {
      throw new ConfigError('AuthScheme=APIKey needs the APIKey property', {
        hint: 'Set APIKey to a Keap personal access token or service account key (Keap: Settings › API Settings).',
      });
    }
    for (const name of OAUTH_ONLY) if (seen.has(name)) ignored.push(name);
  } else {
    if (draft.apiKey) ignored.push('APIKey');
    if (initiateOAuth === 'OFF' && !draft.oauthAccessToken) {
      throw new ConfigError('InitiateOAuth=OFF needs the OAuthAccessToken property', {
        detail: 'With InitiateOAuth=OFF keapgres uses OAuthAccessToken as given and never contacts the token endpoint.',
        hint: 'Set OAuthAccessToken, or set InitiateOAuth=GETANDREFRESH with OAuthClientId and OAuthClientSecret so keapgres obtains and refreshes tokens itself, or use AuthScheme=APIKey.',
      });
    }
    if (initiateOAuth !== 'OFF' && (!draft.oauthClientId || !draft.oauthClientSecret)) {
      const missing = [!draft.oauthClientId && 'OAuthClientId', !draft.oauthClientSecret && 'OAuthClientSecret'].filter(Boolean).join(' and ');
      throw new ConfigError(`InitiateOAuth=${initiateOAuth} needs ${missing}`, {
        detail: 'Keap’s token endpoint authenticates the app with its client id and secret on every code exchange and refresh.',
        hint: 'Copy them from your app at https://keys.developer.keap.com.',
      });
    }
    if ((draft.oauthExpiresIn === undefined) !== (draft.oauthTokenTimestamp === undefined) && draft.oauthTokenTimestamp !== undefined) {
      throw new ConfigError('OAuthTokenTimestamp needs OAuthExpiresIn', { hint: 'Give the token lifetime in seconds with OAuthExpiresIn, or leave out both.' });
    }
  }
  const url = draft.url ?? KEAP_API_URL;
  const tokenUrl = draft.oauthAccessTokenUrl ?? KEAP_ACCESS_TOKEN_URL;
  return {
    ...draft,
    authScheme,
    initiateOAuth,
    apiKeyHeader: draft.apiKeyHeader ?? 'X-Keap-API-Key',
    oauthSettingsLocation: draft.oauthSettingsLocation ?? defaultSettingsLocation(options.connectionName ?? 'keap', draft.oauthClientId ?? '', tokenUrl, url, env),
    callbackUrl: draft.callbackUrl ?? DEFAULT_CALLBACK_URL,
    scope: draft.scope ?? 'full',
    oauthAuthorizationUrl: draft.oauthAuthorizationUrl ?? KEAP_AUTHORIZATION_URL,
    oauthAccessTokenUrl: tokenUrl,
    url,
    timeoutSeconds: draft.timeoutSeconds ?? 60,
    pageSize: draft.pageSize ?? 1000,
    maxRows: draft.maxRows ?? -1,
    verbosity: draft.verbosity ?? 1,
    openBrowser: draft.openBrowser ?? true,
    autoCache: draft.autoCache ?? true,
    cacheToleranceSeconds: draft.cacheToleranceSeconds ?? 600,
    offline: draft.offline ?? false,
    readOnly: draft.readOnly ?? false,
    other: draft.other ?? {},
    ignoredProperties: ignored,
    masked: maskConnectionString(s),
  };
}

function freezeSettings(settings: ConnectionSettings): ConnectionSettings {
  Object.freeze(settings.other);
  Object.freeze(settings.ignoredProperties);
  return Object.freeze(settings);
}

/**
 * The connection string with every secret value replaced by ********. Works on malformed strings
 * too: any text whose role is unclear (a part without "=", an unclosed quote, an unknown
 * property's value) is masked, since it may be a piece of a secret.
 */
export function parseCacheConnection(v: string): string {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw invalid('CacheConnection', 'is not a PostgreSQL URL', 'Expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE (the server where keapgres instances share their state).');
  }
  return v;
}

export function maskConnectionString(s: string): string {
  const parts: string[] = [];
  let afterSecret = false;
  for (const pair of tokenizeLeniently(s)) {
    const spec = BY_NORMALIZED.get(normalizeName(pair.name));
    const wasAfterSecret = afterSecret;
    afterSecret = spec?.secret === true;
    if (pair.broken) {
      parts.push(pair.value !== '' || pair.quoted ? `${pair.name.trim()}=${MASK}` : MASK);
      continue;
    }
    if (!spec) {
      // after a secret, an "unknown name" may be the tail of a secret holding an unquoted ';'
      parts.push(`${wasAfterSecret ? MASK : pair.name}=${pair.value === '' ? '' : MASK}`);
    } else if (spec.secret) {
      parts.push(`${pair.name}=${pair.value === '' ? '' : MASK}`);
    } else if (spec.name === 'Other') {
      parts.push(`${pair.name}=${quoteValue(maskOther(pair.value))}`);
    } else {
      parts.push(`${pair.name}=${quoteValue(pair.value)}`);
    }
  }
  return parts.length ? parts.join(';') + ';' : '';
}

function maskOther(value: string): string {
  const parts = tokenizeLeniently(value).map((p) =>
    p.broken ? MASK : `${p.name}=${OTHER_PROPERTIES.some((o) => normalizeName(o) === normalizeName(p.name)) ? quoteValue(p.value) : MASK}`,
  );
  return parts.join(';');
}

function applyOther(value: string, draft: Draft): void {
  const other: Record<string, string> = {};
  let pairs;
  try {
    pairs = tokenizeConnectionString(value);
  } catch (err) {
    throw new ConfigError(`connection property "Other" is malformed: ${(err as Error).message}`, {
      hint: `Other holds Name=Value pairs, quoted as a whole: Other='APIKeyHeader=Authorization;OpenBrowser=false'.`,
    });
  }
  for (const pair of pairs) {
    const name = OTHER_PROPERTIES.find((o) => normalizeName(o) === normalizeName(pair.name));
    if (!name) {
      throw new ConfigError(`unknown property "${truncate(pair.name)}" in Other`, {
        detail: `Perhaps you meant "${closestName(pair.name.slice(0, 64), OTHER_PROPERTIES)}".`,
        hint: `Other accepts: ${OTHER_PROPERTIES.join(', ')}.`,
      });
    }
    if (name === 'APIKeyHeader') {
      const v = pair.value.toLowerCase();
      if (v === 'x-keap-api-key') draft.apiKeyHeader = 'X-Keap-API-Key';
      else if (v === 'authorization' || v === 'bearer') draft.apiKeyHeader = 'Authorization';
      else throw invalid('APIKeyHeader', 'is not a header Keap reads API keys from', 'Allowed values: X-Keap-API-Key (the default) or Authorization (sent as "Bearer <key>").');
    } else {
      draft.openBrowser = parseBoolean('OpenBrowser', pair.value);
    }
    other[name] = pair.value;
  }
  draft.other = other;
}

function parseAuthScheme(value: string): AuthScheme {
  const v = value.trim().toLowerCase();
  if (v === 'oauth') return 'OAuth';
  if (v === 'apikey') return 'APIKey';
  const instead: Record<string, string> = {
    none: 'Keap has no anonymous access: every API call needs an OAuth token or an API key.',
    basic: 'Keap does not accept a user name and password for its REST API.',
    ntlm: 'Keap does not accept Windows (NTLM) authentication.',
    oauth_client: 'Keap has no client-credentials grant: an OAuth token always comes from a user authorizing the app.',
  };
  const why = instead[v];
  if (why) {
    throw new ConfigError(`AuthScheme=${value.trim()} is not supported by Keap`, {
      detail: why,
      hint: 'Use AuthScheme=OAuth with InitiateOAuth=GETANDREFRESH, OAuthClientId and OAuthClientSecret, or AuthScheme=APIKey with APIKey set to a personal access token or service account key.',
    });
  }
  throw invalid('AuthScheme', `value "${truncate(value)}" is not recognized`, 'Allowed values: OAuth (the default) or APIKey.');
}

function parseChoice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a.toLowerCase() === value.trim().toLowerCase());
  if (!found) throw invalid(name, `value "${truncate(value)}" is not recognized`, `Allowed values: ${allowed.join(', ')}.`);
  return found;
}

function parseBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'off', '0'].includes(v)) return false;
  throw invalid(name, `value "${truncate(value)}" is not a boolean`, 'Allowed values: true or false.');
}

function parseInteger(name: string, value: string, min: number, max: number, allowed: string): number {
  const v = value.trim();
  if (!/^[+-]?\d+$/.test(v)) throw invalid(name, `value "${truncate(value)}" is not an integer`, `Expected ${allowed}.`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(name, `value ${truncate(v)} is out of range`, `Expected ${allowed}.`);
  return n;
}

function parseTimestamp(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    // seconds are accepted too: a 10-digit number is far too early to be milliseconds
    if (Number.isSafeInteger(n)) return n < 1e11 ? n * 1000 : n;
  }
  const parsed = Date.parse(v);
  if (/^\d{4}-\d\d-\d\d/.test(v) && !Number.isNaN(parsed)) return parsed;
  throw invalid('OAuthTokenTimestamp', `value "${truncate(value)}" is not a time`, 'Expected Unix epoch milliseconds (or seconds), or an ISO-8601 time such as 2026-01-31T12:00:00Z.');
}

function parseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw invalid(name, `value "${truncate(value)}" is not a URL`, 'Expected an absolute http:// or https:// URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(name, `URL scheme "${url.protocol.replace(/:$/, '')}" is not allowed`, 'Expected an absolute http:// or https:// URL.');
  }
  if (url.username || url.password) throw invalid(name, 'URL must not contain a user name or password', 'Remove the "user:password@" part.');
  if (name === 'CallbackURL' && (url.search || url.hash)) {
    throw invalid(name, 'URL must not have a query or fragment', 'Keap appends ?code=…&state=… to it; give scheme, host, port and path only.');
  }
  return url.toString().replace(/\/$/, url.pathname === '/' && !value.trim().endsWith('/') ? '' : '/');
}

function expandHome(value: string, env: NodeJS.ProcessEnv): string {
  if (value === '~' || value.startsWith('~/')) return join(env.HOME ?? homedir(), value.slice(1));
  return value;
}

function checkPathText(name: string, value: string): void {
  if (value.includes('\0')) throw invalid(name, 'path contains a NUL character', 'Expected a file system path.');
}

function parseDirectory(name: string, value: string, env: NodeJS.ProcessEnv): string {
  checkPathText(name, value);
  const path = resolve(expandHome(value.trim(), env));
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw invalid(name, `directory "${truncate(path, 200)}" does not exist`, 'Expected a directory of table definitions (leave Profile out for the built-in Keap tables).');
  }
  if (!isDir) throw invalid(name, `"${truncate(path, 200)}" is not a directory`, 'Expected a directory of table definitions (leave Profile out for the built-in Keap tables).');
  return path;
}

function parseFilePath(name: string, value: string, env: NodeJS.ProcessEnv): string {
  checkPathText(name, value);
  const path = resolve(expandHome(value.trim(), env));
  try {
    if (statSync(path).isDirectory()) throw invalid(name, `"${truncate(path, 200)}" is a directory`, 'Expected a file path.');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
  }
  return path;
}

/** A directory that may not exist yet (keapgres creates it), but must not be a file. */
function parseCacheLocation(value: string, env: NodeJS.ProcessEnv): string {
  checkPathText('CacheLocation', value);
  const path = resolve(expandHome(value.trim(), env));
  let isFile = false;
  try {
    isFile = !statSync(path).isDirectory();
  } catch {
    // created on first use
  }
  if (isFile) throw invalid('CacheLocation', `"${truncate(path, 200)}" is a file`, 'Expected a directory for the cache files (it is created when missing).');
  return path;
}

function parseSettingsLocation(value: string, env: NodeJS.ProcessEnv): string {
  const v = value.trim();
  if (v.toLowerCase().startsWith('memory://')) {
    const name = v.slice('memory://'.length);
    if (!/^[\w.-]+$/.test(name)) throw invalid('OAuthSettingsLocation', `memory store name "${truncate(name)}" is not allowed`, 'Expected memory://NAME with letters, digits, ".", "_" or "-".');
    return `memory://${name}`;
  }
  return parseFilePath('OAuthSettingsLocation', v, env);
}

/** The user's configuration directory, per platform conventions. */
export function userConfigDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'keapgres');
  if (process.platform === 'darwin') return join(env.HOME ?? homedir(), 'Library', 'Application Support', 'keapgres');
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'keapgres');
}

function defaultSettingsLocation(connectionName: string, clientId: string, tokenUrl: string, url: string, env: NodeJS.ProcessEnv): string {
  // one file per served connection: the same app may be authorized by several Keap accounts
  const id = createHash('sha256').update(`${clientId}\n${tokenUrl}\n${url}`).digest('hex').slice(0, 12);
  const safeName = connectionName.replace(/[^\w.-]/g, '_').slice(0, 64) || 'keap';
  return join(userConfigDirectory(env), 'oauth', `${safeName}-${id}.json`);
}

function invalid(name: string, what: string, allowed: string): ConfigError {
  return new ConfigError(`invalid value for connection property "${name}": ${what}`, { hint: allowed });
}

function truncate(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

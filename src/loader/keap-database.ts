// One served database: a Keap account (or the in-process sandbox) behind a database name. It owns
// the credentials, the connector, the account's catalog (with its custom fields), the engine
// template built from that catalog and the pool of engines made from it.
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { CacheSettings, ConnectionSettings } from '../config/connection-string.js';
import { SharedCache } from '../cache/shared-cache.js';
import { CacheFiles } from '../cache/cache-files.js';
import { CACHE_OBJECTS_SQL } from './cache-functions.js';
import { KEAP_ACTIONS_SQL, type OAuthApp } from '../writes/keap-actions.js';
import { keapgresCacheDir } from '../engine/template.js';
import { createCredentialSource } from '../oauth/index.js';
import { PostgresTokenStore } from '../shared-state/postgres-token-store.js';
import { PostgresRateShare } from '../shared-state/postgres-quota.js';
import { PostgresCacheBackplane } from '../shared-state/postgres-cache.js';
import { KeapConnector } from '../keap/connector.js';
import type { CredentialSource } from '../keap/types.js';
import { loadCatalog } from '../schema/load.js';
import { catalogDdl } from '../schema/ddl.js';
import { customFieldModels, customFieldsDdl, withAccountCustomFields } from '../schema/custom-fields.js';
import type { Catalog } from '../schema/types.js';
import type { EngineArtifacts } from '../engine/artifacts.js';
import { ensureTemplate } from '../engine/template.js';
import { DEFAULT_IDLE_LOADED, EnginePool } from '../engine/pool.js';
import type { DatabaseBackend } from '../wire/listener.js';
import { KeapSessionLoader } from './keap-loader.js';
import { registerSecret } from '../log/logger.js';
import type { Sandbox } from '../sandbox/index.js';
import type { SandboxOptions as SandboxConfig } from '../config/server-config.js';

export interface KeapAccess {
  apiBase: string;
  credentials: CredentialSource;
  pageSize: number;
  timeoutSeconds: number;
  maxRows: number;
  profile?: string;
  /** Keap's spike-arrest limit for this credential kind */
  spikePerSecond?: number;
  /** AutoCache and friends; default: a shared cache of 600 s tolerance, kept under the cache directory */
  cache?: CacheSettings;
  /** which Keap account (or sandbox) this is, without secrets: cache files of another never match */
  identity: string;
  /** the OAuth app (CData's OAuth procedures as keap.* functions) */
  oauthApp?: OAuthApp;
  /** CacheConnection: the PostgreSQL where instances share this account's tokens, request rate and cache */
  cacheConnection?: string;
  close?: () => Promise<void>;
}

export interface OpenDatabaseOptions {
  name: string;
  access: KeapAccess;
  artifacts: EngineArtifacts;
  spares: number;
  /** engines kept idle with their loaded tables for the next sessions (default DEFAULT_IDLE_LOADED; 0 empties every engine handed on) */
  idleLoaded?: number;
  logger: Logger;
  /** how long loaded rows count as fresh (ms) */
  freshMs?: number;
  cacheDir?: string;
  /** every database name the server serves: each is listed in this database's pg_database */
  listedDatabases?: readonly string[];
}

export interface KeapDatabase {
  readonly name: string;
  readonly backend: DatabaseBackend;
  /** the catalog new sessions start with (custom fields as last read) */
  readonly catalog: Catalog;
  readonly connector: KeapConnector;
  /** Re-reads the account's custom fields; new sessions get the new columns. Returns the DDL from `from`. */
  refreshSchema(from: Catalog): Promise<{ catalog: Catalog; ddl: string }>;
  close(): Promise<void>;
}

/**
 * Engine-side helpers every session has. keapgres_refresh_schema() is answered by the loader, which
 * re-reads the custom fields and alters the session's tables before the function runs.
 */
export const HELPER_FUNCTIONS_SQL = `
CREATE FUNCTION public.keapgres_refresh_schema() RETURNS text LANGUAGE sql VOLATILE
  AS $$ SELECT 'custom fields re-read from Keap'::text $$;
COMMENT ON FUNCTION public.keapgres_refresh_schema() IS 'Re-reads the Keap account''s custom fields and adds or drops the custom_* columns of this session''s tables (new sessions get them too).';
${CACHE_OBJECTS_SQL}
${KEAP_ACTIONS_SQL}`;

/** Access through a parsed connection string (OAuth or API key). */
export async function accessFromSettings(settings: ConnectionSettings, logger: Logger): Promise<KeapAccess> {
  // with CacheConnection, instances keep one token row in that PostgreSQL and refresh it under its lock
  const store = settings.cacheConnection && settings.authScheme === 'OAuth'
    ? await PostgresTokenStore.open(settings.cacheConnection, tokenKey(settings.oauthSettingsLocation), logger)
    : undefined;
  const credentials = await createCredentialSource(settings, logger, { store }).catch(async (err: unknown) => {
    await store?.close();
    throw err;
  });
  return {
    apiBase: settings.url,
    credentials,
    pageSize: settings.pageSize,
    timeoutSeconds: settings.timeoutSeconds,
    maxRows: settings.maxRows,
    profile: settings.profile,
    spikePerSecond: settings.authScheme === 'APIKey' ? 10 : 25,
    cache: settings,
    oauthApp: { clientId: settings.oauthClientId, clientSecret: settings.oauthClientSecret, authorizationUrl: settings.oauthAuthorizationUrl, tokenUrl: settings.oauthAccessTokenUrl, callbackUrl: settings.callbackUrl },
    identity: `${settings.url}|${settings.authScheme}|${settings.authScheme === 'APIKey' ? sha256(settings.apiKey ?? '') : (settings.oauthClientId ?? '')}`,
    cacheConnection: settings.cacheConnection,
    close: () => credentials.close(),
  };
}

/** The name of a connection's token row: its default token file's name (database and app digest). */
function tokenKey(location: string): string {
  return path.basename(location).replace(/\.json$/, '').replace(/^memory:\/\//, '');
}

/**
 * Access to the in-process sandbox, reached as a Keap OAuth app is (Keap's default, with its 25/s and
 * 1,500/min limits); a rejected token is replaced by a new one, as a refresh would.
 */
export function sandboxAccess(sb: Sandbox, config?: SandboxConfig): KeapAccess {
  const issue = () => {
    const t = sb.issueTokens({ expiresInSeconds: 86_400 }).access_token;
    registerSecret(t);
    return t;
  };
  let token = issue();
  return {
    apiBase: sb.apiBase,
    credentials: {
      headers: async () => ({ Authorization: `Bearer ${token}` }),
      unauthorized: async () => {
        token = issue();
        return true;
      },
    },
    pageSize: config?.pageSize ?? 1000,
    timeoutSeconds: config?.cache?.timeoutSeconds ?? 60,
    maxRows: -1,
    spikePerSecond: 25,
    cache: config?.cache,
    oauthApp: { clientId: sb.clientId, clientSecret: sb.clientSecret, authorizationUrl: sb.authorizeUrl, tokenUrl: sb.tokenUrl, callbackUrl: 'http://localhost:33333' },
    identity: `sandbox|${config?.seed ?? 1}|${config?.contacts ?? 1000}`,
  };
}

export async function openKeapDatabase(o: OpenDatabaseOptions): Promise<KeapDatabase> {
  const log = o.logger.child({ database: o.name });
  const base = loadCatalog(o.access.profile);
  const connector = new KeapConnector({
    apiBase: o.access.apiBase,
    credentials: o.access.credentials,
    pageSize: o.access.pageSize,
    timeoutSeconds: o.access.timeoutSeconds,
    maxRows: o.access.maxRows,
    spikePerSecond: o.access.spikePerSecond,
    catalog: base,
    logger: log,
  });
  // Keap's limits are per app: instances sharing a CacheConnection divide them
  const rateShare = o.access.cacheConnection
    ? await PostgresRateShare.open(o.access.cacheConnection, { account: sha256(`quota|${o.access.identity}`).slice(0, 32), budget: connector.sharedBudget }, log)
    : undefined;
  if (rateShare) connector.shareRate(rateShare);
  const cacheSettings = o.access.cache ?? { autoCache: true, cacheToleranceSeconds: 600, offline: false };
  const cacheDir = cacheSettings.autoCache || cacheSettings.offline ? cacheDirectory(o.name, o.access.identity, cacheSettings.cacheLocation) : undefined;
  const files = cacheDir ? new CacheFiles(cacheDir) : undefined;
  let catalog = await withCustomFieldsOf(base, connector, log, cacheDir, cacheSettings.offline);
  const templateDir = await ensureTemplate(o.artifacts, { database: o.name, setupSql: catalogDdl(catalog) + HELPER_FUNCTIONS_SQL, listedDatabases: o.listedDatabases, cacheDir: o.cacheDir });
  const pool = new EnginePool({
    artifacts: o.artifacts,
    templateDir,
    database: o.name,
    spares: o.spares,
    idleLoaded: o.idleLoaded,
    onError: (err) => log.error({ err }, 'could not start a spare engine'),
  });
  await pool.warm();
  // with CacheConnection the cache's entries are shared by every instance of this account
  const backplane = files && o.access.cacheConnection
    ? await PostgresCacheBackplane.open(o.access.cacheConnection, sha256(`cache|${o.access.identity}`).slice(0, 32), log)
    : undefined;
  const cache = files ? new SharedCache({
    connector,
    toleranceMs: cacheSettings.cacheToleranceSeconds * 1000,
    maxBytes: cacheSettings.cacheMaxSizeMb !== undefined ? cacheSettings.cacheMaxSizeMb * 1024 * 1024 : undefined,
    offline: cacheSettings.offline,
    files,
    logger: log,
    backplane,
  }, catalog.tables) : undefined;
  log.info({ tables: catalog.tables.size, cache: files?.directory, offline: cacheSettings.offline }, 'database ready');
  let refreshing: Promise<unknown> = Promise.resolve();
  let newest = catalog;
  const db: KeapDatabase = {
    name: o.name,
    get catalog() {
      return catalog;
    },
    connector,
    async refreshSchema(from: Catalog) {
      const next = await withCustomFieldsOf(base, connector, log, cacheDir, cacheSettings.offline);
      newest = next;
      // New sessions get the new columns once a template has them: the catalog they load by and the
      // engine they get change together, and before this call returns.
      refreshing = refreshing.then(async () => {
        const dir = await ensureTemplate(o.artifacts, { database: o.name, setupSql: catalogDdl(next) + HELPER_FUNCTIONS_SQL, listedDatabases: o.listedDatabases, cacheDir: o.cacheDir });
        if (newest !== next) return;
        await pool.replaceTemplate(dir);
        catalog = next;
      });
      await refreshing.catch((err) => log.error({ err }, 'could not rebuild the engine template after a schema refresh'));
      return { catalog: next, ddl: customFieldsDdl(from, next) };
    },
    backend: {
      pool,
      keapTables: [...catalog.tables.keys()],
      createPreparer: (logger) => new KeapSessionLoader({
        catalog, connector, maxRows: o.access.maxRows, freshMs: o.freshMs ?? 60_000, cache, keepsLoaded: (o.idleLoaded ?? DEFAULT_IDLE_LOADED) > 0,
        readOnly: o.access.cache?.readOnly === true,
        oauthApp: o.access.oauthApp,
        refreshSchema: (from) => db.refreshSchema(from),
      }, logger),
    },
    async close() {
      await refreshing.catch(() => undefined);
      await cache?.flush();
      await pool.close();
      await connector.close();
      await rateShare?.close();
      await backplane?.close();
      await o.access.close?.();
    },
  };
  return db;
}

/**
 * The account's custom fields as typed columns; without access yet (authorization pending), the base tables.
 * With a cache directory the models are kept there too, so Offline=true starts with the same columns.
 */
export async function withCustomFieldsOf(catalog: Catalog, connector: KeapConnector, log: Logger, cacheDir?: string, offline = false): Promise<Catalog> {
  const modelsFile = cacheDir ? path.join(cacheDir, 'custom-field-models.json') : undefined;
  if (offline) {
    let stored: Record<string, unknown> = {};
    try {
      stored = modelsFile ? JSON.parse(readFileSync(modelsFile, 'utf8')) as Record<string, unknown> : {};
    } catch {
      log.warn('Offline=true and no custom fields cached: tables have their base columns only');
    }
    return withAccountCustomFields(catalog, new Map(Object.entries(stored)));
  }
  const models = new Map<string, unknown>();
  const signal = AbortSignal.timeout(30_000);
  await Promise.all(customFieldModels(catalog).map(async (m) => {
    try {
      models.set(m.path, await connector.getJson(m.path, {}, signal));
    } catch (err) {
      log.warn({ model: m.path, reason: err instanceof Error ? err.message : String(err) }, 'custom fields not read');
    }
  }));
  if (modelsFile && models.size > 0) {
    try {
      writeFileSync(`${modelsFile}.tmp`, JSON.stringify(Object.fromEntries(models)), { mode: 0o600 });
      renameSync(`${modelsFile}.tmp`, modelsFile);
    } catch (err) {
      log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'custom fields not written to the cache directory');
    }
  }
  return withAccountCustomFields(catalog, models);
}

/** One directory per served database and account under CacheLocation: no two accounts share files. */
function cacheDirectory(database: string, identity: string, location?: string): string {
  const root = location ?? path.join(keapgresCacheDir(), 'data');
  return path.join(root, `${database.replace(/[^A-Za-z0-9_.-]/g, '_')}-${sha256(identity).slice(0, 16)}`);
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

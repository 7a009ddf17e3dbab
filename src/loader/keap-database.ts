// One served database: a Keap account (or the in-process sandbox) behind a database name. It owns
// the credentials, the connector, the account's catalog (with its custom fields), the engine
// template built from that catalog and the pool of engines made from it.
import type { Logger } from 'pino';
import type { ConnectionSettings } from '../config/connection-string.js';
import { createCredentialSource } from '../oauth/index.js';
import { KeapConnector } from '../keap/connector.js';
import type { CredentialSource } from '../keap/types.js';
import { loadCatalog } from '../schema/load.js';
import { catalogDdl } from '../schema/ddl.js';
import { customFieldModels, withAccountCustomFields } from '../schema/custom-fields.js';
import type { Catalog } from '../schema/types.js';
import type { EngineArtifacts } from '../engine/artifacts.js';
import { ensureTemplate } from '../engine/template.js';
import { EnginePool } from '../engine/pool.js';
import type { DatabaseBackend } from '../wire/listener.js';
import { KeapSessionLoader } from './keap-loader.js';

export interface KeapAccess {
  apiBase: string;
  credentials: CredentialSource;
  pageSize: number;
  timeoutSeconds: number;
  maxRows: number;
  profile?: string;
  /** Keap's spike-arrest limit for this credential kind */
  spikePerSecond?: number;
  close?: () => Promise<void>;
}

export interface OpenDatabaseOptions {
  name: string;
  access: KeapAccess;
  artifacts: EngineArtifacts;
  spares: number;
  logger: Logger;
  /** how long loaded rows count as fresh (ms) */
  freshMs?: number;
  cacheDir?: string;
}

export interface KeapDatabase {
  readonly name: string;
  readonly backend: DatabaseBackend;
  readonly catalog: Catalog;
  readonly connector: KeapConnector;
  close(): Promise<void>;
}

/** Access through a parsed connection string (OAuth or API key). */
export async function accessFromSettings(settings: ConnectionSettings, logger: Logger): Promise<KeapAccess> {
  const credentials = await createCredentialSource(settings, logger);
  return {
    apiBase: settings.url,
    credentials,
    pageSize: settings.pageSize,
    timeoutSeconds: settings.timeoutSeconds,
    maxRows: settings.maxRows,
    profile: settings.profile,
    spikePerSecond: settings.authScheme === 'APIKey' ? 10 : 25,
    close: () => credentials.close(),
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
  const catalog = await withCustomFieldsOf(base, connector, log);
  const templateDir = await ensureTemplate(o.artifacts, { database: o.name, setupSql: catalogDdl(catalog), cacheDir: o.cacheDir });
  const pool = new EnginePool({
    artifacts: o.artifacts,
    templateDir,
    database: o.name,
    spares: o.spares,
    onError: (err) => log.error({ err }, 'could not start a spare engine'),
  });
  await pool.warm();
  const source = { catalog, connector, maxRows: o.access.maxRows, freshMs: o.freshMs ?? 60_000 };
  log.info({ tables: catalog.tables.size }, 'database ready');
  return {
    name: o.name,
    catalog,
    connector,
    backend: {
      pool,
      keapTables: [...catalog.tables.keys()],
      createPreparer: (logger) => new KeapSessionLoader(source, logger),
    },
    async close() {
      await pool.close();
      await connector.close();
      await o.access.close?.();
    },
  };
}

/** The account's custom fields as typed columns; without access yet (authorization pending), the base tables. */
async function withCustomFieldsOf(catalog: Catalog, connector: KeapConnector, log: Logger): Promise<Catalog> {
  const models = new Map<string, unknown>();
  const signal = AbortSignal.timeout(30_000);
  await Promise.all(customFieldModels(catalog).map(async (m) => {
    try {
      models.set(m.path, await connector.getJson(m.path, {}, signal));
    } catch (err) {
      log.warn({ model: m.path, reason: err instanceof Error ? err.message : String(err) }, 'custom fields not read');
    }
  }));
  return withAccountCustomFields(catalog, models);
}

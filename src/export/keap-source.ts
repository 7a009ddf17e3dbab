// The Keap side of an export: one connection's catalog (with the account's custom fields) and its
// connector, opened the way `keapgres serve` opens a database but without any engine.
import type { Logger } from 'pino';
import { loadServerConfig } from '../config/server-config.js';
import { parseConnectionString } from '../config/connection-string.js';
import { SqlError, SQLSTATE } from '../errors.js';
import { KeapConnector } from '../keap/connector.js';
import { accessFromSettings, sandboxAccess, withCustomFieldsOf, type KeapAccess } from '../loader/keap-database.js';
import { loadCatalog } from '../schema/load.js';
import type { Catalog } from '../schema/types.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';

export interface KeapExportSource {
  /** the database name it is served as */
  readonly name: string;
  readonly catalog: Catalog;
  readonly connector: KeapConnector;
  /** MaxRows of the connection (-1: none) */
  readonly maxRows: number;
  close(): Promise<void>;
}

export interface OpenExportSourceOptions {
  /** a connection string (wins over configFile/database) */
  connection?: string;
  configFile?: string;
  /** which database of the configuration; default "keap" */
  database?: string;
  env?: NodeJS.ProcessEnv;
  logger: Logger;
}

export async function openExportSource(o: OpenExportSourceOptions): Promise<KeapExportSource> {
  const env = o.env ?? process.env;
  let name = 'keap';
  let access: KeapAccess;
  let sandbox: Sandbox | undefined;
  if (o.connection !== undefined) {
    access = await accessFromSettings(parseConnectionString(o.connection, { connectionName: name, env }), o.logger);
  } else {
    const config = loadServerConfig({ configFile: o.configFile, env });
    name = o.database ?? 'keap';
    const conn = config.databases.get(name);
    if (conn === undefined) {
      throw new SqlError(SQLSTATE.unknownDatabase, `database "${name}" is not configured`, {
        detail: `Configured: ${[...config.databases.keys()].join(', ')}.`,
        hint: 'Give --database one of those names, or --connection with a connection string.',
      });
    }
    if (conn === 'sandbox') {
      // The same sandbox `keapgres serve` would serve for this configuration (same seed and size), reached
      // the same way: as an OAuth app, with its 25 calls a second.
      const sb = await startSandbox({ port: 0, seed: config.sandbox?.seed, contacts: config.sandbox?.contacts, latencyMs: config.sandbox?.latencyMs });
      sandbox = sb;
      access = sandboxAccess(sb, config.sandbox);
    } else {
      access = await accessFromSettings(conn, o.logger.child({ database: name }));
    }
  }
  try {
    const base = loadCatalog(access.profile);
    const connector = new KeapConnector({
      apiBase: access.apiBase,
      credentials: access.credentials,
      pageSize: access.pageSize,
      timeoutSeconds: access.timeoutSeconds,
      maxRows: access.maxRows,
      spikePerSecond: access.spikePerSecond,
      catalog: base,
      logger: o.logger,
    });
    const catalog = await withCustomFieldsOf(base, connector, o.logger);
    return {
      name,
      catalog,
      connector,
      maxRows: access.maxRows,
      async close() {
        await connector.close();
        await access.close?.();
        await sandbox?.close();
      },
    };
  } catch (err) {
    await access.close?.();
    await sandbox?.close();
    throw err;
  }
}

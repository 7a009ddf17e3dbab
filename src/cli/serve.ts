// `keapgres serve`: the PostgreSQL front end over every configured database.
import { loadServerConfig } from '../config/server-config.js';
import { logServerConfig } from '../config/describe-config.js';
import { createLogger } from '../log/logger.js';
import { loadEngineArtifacts } from '../engine/artifacts.js';
import { PgListener, type DatabaseBackend } from '../wire/listener.js';
import { accessFromSettings, openKeapDatabase, sandboxAccess, type KeapDatabase } from '../loader/keap-database.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import type { Logger } from 'pino';
import { errorText } from './error-text.js';
import { ConfigError } from '../config/config-error.js';
import { withMaintenanceDatabases, type ServedNames } from './maintenance-databases.js';
import { InstanceRegistration } from '../shared-state/instances.js';
import type { ServerConfig } from '../config/server-config.js';
import os from 'node:os';

export const SERVE_USAGE = `usage: keapgres serve [--host H] [--port P] [--config FILE] [--connection STRING]
  --host H            listen address (default 127.0.0.1; env KEAPGRES_HOST)
  --port P            listen port (default 5433; env KEAPGRES_PORT)
  --config FILE       JSON configuration file (env KEAPGRES_CONFIG)
  --connection STR    a Keap connection string, served as database "keap" (env KEAPGRES_CONNECTION)
With no connection configured, a built-in sandbox Keap account is served as "keap".
`;

export interface RunningServer {
  host: string;
  port: number;
  listener: PgListener;
  databases: Map<string, KeapDatabase>;
  sandbox?: Sandbox;
  /** with a CacheConnection: this instance's registration (its id is in its pids) */
  instance?: InstanceRegistration;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  configFile?: string;
  host?: string;
  port?: number;
  connection?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const config = loadServerConfig({ configFile: opts.configFile, host: opts.host, port: opts.port, connection: opts.connection, env: opts.env });
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  logServerConfig(config, logger);
  const artifacts = await loadEngineArtifacts();
  let sandbox: Sandbox | undefined;
  const databases = new Map<string, KeapDatabase>();
  const backends = new Map<string, DatabaseBackend>();
  let names: ServedNames | undefined;
  let instance: InstanceRegistration | undefined;
  // whatever was opened, when the server cannot start after all (engines in worker threads would keep
  // the process alive)
  const closeAll = async () => {
    await names?.close();
    for (const db of databases.values()) await db.close();
    await sandbox?.close();
    await instance?.close();
  };
  try {
    // first, so that an unreachable shared PostgreSQL stops the start before any engine is made
    const shared = sharedStateUrl(config, logger);
    if (shared) instance = await InstanceRegistration.register(shared, logger, { timeoutSeconds: config.instanceTimeoutSeconds });
    for (const [name, conn] of config.databases) {
      let access;
      if (conn === 'sandbox') {
        sandbox ??= await startSandbox({ port: 0, seed: config.sandbox?.seed, contacts: config.sandbox?.contacts, latencyMs: config.sandbox?.latencyMs });
        access = sandboxAccess(sandbox, { ...(config.sandbox ?? { seed: 1, contacts: 1000 }), cache: config.sandboxCache.get(name) ?? config.sandbox?.cache });
        logger.info({ database: name, api: sandbox.apiBase }, 'serving the built-in sandbox Keap account (no Keap connection configured)');
      } else {
        access = await accessFromSettings(conn, logger.child({ database: name }));
      }
      const db = await openKeapDatabase({ name, access, artifacts, spares: config.idleSpareEngines, idleLoaded: config.idleLoadedEngines, logger, listedDatabases: [...config.databases.keys()] });
      databases.set(name, db);
      backends.set(name, db.backend);
    }
    names = await withMaintenanceDatabases(backends, { artifacts, spares: config.idleSpareEngines, logger });
  } catch (err) {
    await closeAll();
    throw err;
  }
  const listener = new PgListener({
    host: config.host, port: config.port, tls: config.tls, users: config.users, trust: config.trust, passwordMethod: config.passwordMethod,
    maxSessions: config.maxSessions, maxMessageBytes: config.maxMessageBytes, databases: names.backends, logger, instances: instance,
  });
  let addr: { host: string; port: number };
  try {
    addr = await listener.listen();
  } catch (err) {
    await closeAll();
    throw new ConfigError(`cannot listen on ${config.host}:${config.port}`, {
      detail: err instanceof Error ? err.message : String(err),
      hint: (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? 'Another server uses that port: stop it, or choose another port with --port or KEAPGRES_PORT.'
        : 'Check --host (KEAPGRES_HOST): it must be an address of this machine.',
    });
  }
  if (instance) {
    const advertised = { host: config.advertiseAddress?.host ?? reachableHost(addr.host, logger), port: config.advertiseAddress?.port ?? addr.port };
    try {
      await instance.advertise(advertised);
    } catch (err) {
      await listener.stop(0);
      await closeAll();
      throw err;
    }
    logger.info({ instance: instance.id, cancelAddress: `${advertised.host}:${advertised.port}` }, 'registered: the other instances forward cancel requests for this instance\'s sessions here');
  }
  logger.info({ host: addr.host, port: addr.port, databases: [...backends.keys()] }, 'keapgres is serving');
  return {
    host: addr.host, port: addr.port, listener, databases, sandbox, instance,
    async stop() {
      await listener.stop(config.shutdownGraceMs);
      await closeAll();
    },
  };
}

/**
 * The PostgreSQL where this instance registers (for cancel forwarding): the server-level CacheConnection,
 * else the first database's. Databases naming different ones still share their tokens each in its own.
 */
function sharedStateUrl(config: ServerConfig, logger: Logger): string | undefined {
  if (config.cacheConnection) return config.cacheConnection;
  const urls = [...new Set([...config.databases.values()].flatMap((s) => (s !== 'sandbox' && s.cacheConnection ? [s.cacheConnection] : [])))];
  if (urls.length > 1) {
    logger.info({ databases: [...config.databases].filter(([, s]) => s !== 'sandbox' && s.cacheConnection === urls[0]).map(([n]) => n) },
      'databases name different CacheConnection PostgreSQLs: this instance registers (for cancel forwarding) in the first one; set "cacheConnection" in the server configuration to choose');
  }
  return urls[0];
}

/** The listen address, or for a wildcard one (0.0.0.0, ::) an address of this machine others can reach. */
function reachableHost(listenHost: string, logger: Logger): string {
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && listenHost !== '') return listenHost;
  const candidates = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []).filter((a) => !a.internal);
  const chosen = candidates.find((a) => a.family === 'IPv4')?.address ?? candidates[0]?.address ?? os.hostname();
  logger.info({ advertised: chosen }, 'listening on every address: other instances forward cancel requests to this one; set "advertiseAddress" (KEAPGRES_ADVERTISE_ADDRESS) if they cannot reach it');
  return chosen;
}

export async function runServeCommand(args: string[]): Promise<number> {
  const opts: StartServerOptions = {};
  const usageError = (text: string) => {
    process.stderr.write(`keapgres serve: ${text}\n${SERVE_USAGE}`);
    return 2;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-h' || a === '--help') { process.stdout.write(SERVE_USAGE); return 0; }
    if (!['--host', '--port', '--config', '--connection'].includes(a)) return usageError(`unknown argument "${a.slice(0, 64)}"`);
    const v = args[++i];
    if (v === undefined) return usageError(`${a} needs a value`);
    if (a === '--host') opts.host = v;
    else if (a === '--port') opts.port = Number(v);
    else if (a === '--config') opts.configFile = v;
    else opts.connection = v;
  }
  let server: RunningServer;
  try {
    server = await startServer(opts);
  } catch (err) {
    process.stderr.write(errorText('keapgres serve', err));
    return 1;
  }
  process.stdout.write(`keapgres listening on ${server.host}:${server.port} — connect with: psql "host=${server.host} port=${server.port} dbname=${[...server.databases.keys()][0] ?? 'keap'}"\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await server.stop();
  return 0;
}

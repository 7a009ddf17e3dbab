// Starts a real keapgres on loopback for a test file: the in-process sandbox behind database "keap"
// unless the test configures otherwise. Everything listens on 127.0.0.1 with OS-assigned ports.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import type { Logger } from 'pino';

export interface TestServerOptions {
  /** extra keys of the JSON configuration file (users, trust, tls, maxSessions, databases, sandbox, …) */
  config?: Record<string, unknown>;
  /** sandbox size; default 300 contacts */
  contacts?: number;
  /** capture log lines (JSON) into this array */
  logLines?: string[];
}

export interface TestServer extends RunningServer {
  /** runs fn on a fresh node-postgres connection to database "keap", closed afterwards */
  withClient<T>(fn: (c: pg.Client) => Promise<T>, extra?: Partial<pg.ClientConfig>): Promise<T>;
  /** the rows of one statement on a fresh connection */
  rows<T extends pg.QueryResultRow>(sql: string): Promise<T[]>;
  /** node-postgres client config for database "keap" */
  clientConfig(extra?: Partial<pg.ClientConfig>): pg.ClientConfig;
  /** a libpq connection string */
  dsn(extra?: Record<string, string | number>): string;
  configDir: string;
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-test-'));
  // the cache lives in the test's own directory: a later run must not be served what an earlier one cached
  const cache = `CacheLocation=${path.join(configDir, 'cache')}`;
  const sandbox = { seed: 1, contacts: o.contacts ?? 300, cache, ...(o.config?.sandbox as Record<string, unknown> | undefined) };
  const config = { port: 0, host: '127.0.0.1', idleSpareEngines: 2, logLevel: 'info', ...o.config, sandbox };
  const configFile = path.join(configDir, 'keapgres.json');
  writeFileSync(configFile, JSON.stringify(config));
  let logger: Logger = silentLogger();
  if (o.logLines) {
    const lines = o.logLines;
    logger = createLogger({ level: 'debug', stream: { write: (s: string) => { lines.push(s); } } });
  } else if (process.env.KEAPGRES_TEST_LOG) {
    logger = createLogger({ level: process.env.KEAPGRES_TEST_LOG });
  }
  const server = await startServer({ configFile, env: {}, logger });
  const stop = server.stop.bind(server);
  const clientConfig = (extra: Partial<pg.ClientConfig> = {}): pg.ClientConfig => ({ host: '127.0.0.1', port: server.port, database: 'keap', user: 'tester', ...extra });
  const withClient = async <T>(fn: (c: pg.Client) => Promise<T>, extra?: Partial<pg.ClientConfig>): Promise<T> => {
    const c = new pg.Client(clientConfig(extra));
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return Object.assign(server, {
    withClient,
    rows: <T extends pg.QueryResultRow>(sql: string) => withClient(async (c) => (await c.query<T>(sql)).rows),
    configDir,
    clientConfig,
    dsn: (extra: Record<string, string | number> = {}) => Object.entries({ host: '127.0.0.1', port: server.port, dbname: 'keap', user: 'tester', ...extra }).map(([k, v]) => `${k}=${v}`).join(' '),
    async stop() {
      await stop();
      rmSync(configDir, { recursive: true, force: true });
    },
  });
}

// The two servers a comparison needs: keapgres over a sandbox Keap account, and a real PostgreSQL
// loaded by `keapgres export` from the same account, so both hold the same tables and rows.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { runExportCommand } from '../../src/cli/export.js';
import { silentLogger } from '../../src/log/logger.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startPostgres, type ThrowawayPostgres } from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/keapgres.js';

const OFF = 1e12;

export interface ComparedServers {
  sandbox: Sandbox;
  keapgres: TestServer;
  postgres: ThrowawayPostgres;
  /** database name on both */
  database: string;
  stop(): Promise<void>;
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** keapgres and a PostgreSQL with database `keap` holding the exported Keap tables, plus `setupSql` run there. */
export async function startComparedServers(o: { contacts: number; seed: number; setupSql?: string[] }): Promise<ComparedServers> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-replay-'));
  const sandbox = await startSandbox({ contacts: o.contacts, seed: o.seed, limits: { spikePerSecond: OFF, perMinute: OFF, perDay: OFF, tenantPerMinute: OFF, tenantPerDay: OFF } });
  const token = sandbox.issueTokens({ expiresInSeconds: 86_400 }).access_token;
  const connection = `AuthScheme=OAuth;InitiateOAuth=OFF;OAuthAccessToken=${token};OAuthSettingsLocation=memory://replay;URL=${sandbox.apiBase}`;
  const [postgres, keapgres] = await Promise.all([startPostgres(), startTestServer({ config: { databases: { keap: connection } } })]);
  try {
    const file = path.join(dir, 'keap.sql');
    const stderr = new Capture();
    const code = await runExportCommand(['--connection', connection, '--output', file, '--quiet'], { stdout: new Capture(), stderr }, { env: {}, logger: silentLogger() });
    if (code !== 0) throw new Error(`keapgres export failed: ${stderr.text}`);
    // PGlite's database has LC_CTYPE C.UTF-8; the same here, so \\l and pg_database agree
    await postgres.psql(['-c', `CREATE DATABASE keap TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'`]);
    await postgres.psql(['-d', 'keap', '-f', file]);
    if (o.setupSql?.length) {
      const client = new pg.Client(postgres.clientConfig({ database: 'keap' }));
      await client.connect();
      for (const sql of o.setupSql) await client.query(sql);
      await client.end();
    }
  } catch (err) {
    await Promise.allSettled([postgres.stop(), keapgres.stop(), sandbox.close()]);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    sandbox,
    keapgres,
    postgres,
    database: 'keap',
    async stop() {
      await Promise.allSettled([postgres.stop(), keapgres.stop()]);
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

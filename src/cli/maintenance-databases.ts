// The database names tools connect to before they know any: DBeaver's default database is postgres;
// psql -l, createdb and pgAdmin try postgres, then template1. keapgres serves both:
// - with one served database, they are other names for it, so DBeaver's default settings show the
//   Keap tables at once;
// - with several, they reach a database without Keap tables whose pg_database lists every served
//   database, as a PostgreSQL server's postgres database does; tools then connect to one by name.
// A configured database of one of these names is served as configured (template0 and template1
// cannot be configured).
import type { Logger } from 'pino';
import type { EngineArtifacts } from '../engine/artifacts.js';
import { EnginePool } from '../engine/pool.js';
import { ensureTemplate } from '../engine/template.js';
import type { DatabaseBackend } from '../wire/listener.js';

export const MAINTENANCE_DATABASES = ['postgres', 'template1'] as const;

const DESCRIPTION = 'keapgres: the databases this server serves are listed in pg_database; this one holds no Keap tables';

export interface MaintenanceOptions {
  artifacts: EngineArtifacts;
  /** idle engines of the served databases; the database without Keap tables keeps at most one */
  spares: number;
  logger: Logger;
}

export interface ServedNames {
  /** every name a client may connect to, and what serves it */
  backends: Map<string, DatabaseBackend>;
  close(): Promise<void>;
}

export async function withMaintenanceDatabases(served: ReadonlyMap<string, DatabaseBackend>, o: MaintenanceOptions): Promise<ServedNames> {
  const backends = new Map(served);
  const unserved = MAINTENANCE_DATABASES.filter((name) => !served.has(name));
  let pool: EnginePool | undefined;
  if (unserved.length > 0) {
    let target = served.size === 1 ? [...served.values()][0] : served.get('postgres');
    if (target === undefined) {
      const templateDir = await ensureTemplate(o.artifacts, {
        database: 'postgres',
        setupSql: `COMMENT ON DATABASE postgres IS '${DESCRIPTION}'`,
        listedDatabases: [...served.keys()],
      });
      pool = new EnginePool({
        artifacts: o.artifacts, templateDir, database: 'postgres', spares: Math.min(1, o.spares),
        onError: (err) => o.logger.error({ err, database: 'postgres' }, 'could not start a spare engine'),
      });
      await pool.warm();
      target = { pool };
    }
    for (const name of unserved) backends.set(name, target);
    o.logger.info({ names: unserved, serves: target.pool.database }, target.keapTables ? 'tool database names serve the one configured database' : 'tool database names serve a database without Keap tables');
  }
  return { backends, close: async () => { await pool?.close(); } };
}

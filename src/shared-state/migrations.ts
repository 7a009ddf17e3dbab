// The schema keapgres keeps in the CacheConnection PostgreSQL, by numbered steps. Every instance runs
// this at start; an advisory lock makes concurrent starts take turns, and a step is applied once.
import type pg from 'pg';

export const SCHEMA = 'keapgres';

const STEPS: readonly string[] = [
  `CREATE TABLE ${SCHEMA}.oauth_tokens (
     connection text PRIMARY KEY,
     tokens jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   );
   COMMENT ON TABLE ${SCHEMA}.oauth_tokens IS 'OAuth token pairs of Keap connections, shared by keapgres instances (refreshed under an advisory lock)'`,
];

export async function migrate(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('keapgres:migrations', 0))`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_version (version integer NOT NULL)`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${SCHEMA}.schema_version`);
    const done = rows[0]?.version ?? 0;
    for (let i = done; i < STEPS.length; i++) await client.query(STEPS[i]!);
    if (rows.length === 0) await client.query(`INSERT INTO ${SCHEMA}.schema_version VALUES ($1)`, [STEPS.length]);
    else if (done < STEPS.length) await client.query(`UPDATE ${SCHEMA}.schema_version SET version = $1`, [STEPS.length]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

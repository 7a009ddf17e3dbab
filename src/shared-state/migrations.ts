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
  `CREATE TABLE ${SCHEMA}.instances (
     id integer PRIMARY KEY CHECK (id BETWEEN 1 AND 2047),
     cancel_host text NOT NULL,
     cancel_port integer NOT NULL,
     started_at timestamptz NOT NULL DEFAULT now(),
     seen_at timestamptz NOT NULL DEFAULT now()
   );
   COMMENT ON TABLE ${SCHEMA}.instances IS 'Running keapgres instances: the number each puts in its BackendKeyData pids, and where a CancelRequest for its sessions is forwarded';
   CREATE TABLE ${SCHEMA}.quota_leases (
     account text NOT NULL,
     holder text NOT NULL,
     per_second integer NOT NULL CHECK (per_second >= 0),
     expires_at timestamptz NOT NULL,
     PRIMARY KEY (account, holder)
   );
   COMMENT ON TABLE ${SCHEMA}.quota_leases IS 'Shares of a Keap app''s request rate, one per instance that is calling Keap; the unexpired shares never sum above the spike limit';
   CREATE TABLE ${SCHEMA}.quota_headers (
     account text PRIMARY KEY,
     per_second double precision NOT NULL,
     observed_at timestamptz NOT NULL
   );
   COMMENT ON TABLE ${SCHEMA}.quota_headers IS 'The lowest request rate Keap''s x-keap-* quota headers allowed lately, as any instance saw them';
   CREATE TABLE ${SCHEMA}.cache_entries (
     id bigserial PRIMARY KEY,
     account text NOT NULL,
     key text NOT NULL,
     table_name text NOT NULL,
     pushed jsonb NOT NULL,
     limited boolean NOT NULL,
     truncated boolean NOT NULL,
     row_count bigint NOT NULL DEFAULT 0,
     version bigint NOT NULL,
     synced_at timestamptz NOT NULL,
     UNIQUE (account, key)
   );
   COMMENT ON TABLE ${SCHEMA}.cache_entries IS 'The shared cache: one row per cached answer of Keap (a table and the conditions Keap applied), with its version and when it was synchronised';
   CREATE TABLE ${SCHEMA}.cache_rows (
     entry bigint NOT NULL REFERENCES ${SCHEMA}.cache_entries (id) ON DELETE CASCADE,
     row_key text NOT NULL,
     version bigint NOT NULL,
     line text,
     PRIMARY KEY (entry, row_key)
   );
   CREATE INDEX cache_rows_by_version ON ${SCHEMA}.cache_rows (entry, version);
   COMMENT ON TABLE ${SCHEMA}.cache_rows IS 'Rows of the shared cache as COPY text lines by primary key; version: the entry version that last changed the row; a NULL line is a deletion, kept so instances behind catch up by changes'`,
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

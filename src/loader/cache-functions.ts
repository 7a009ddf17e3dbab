// keapgres_cache (a view of the shared cache's entries) and keapgres_cache_clear([table]) live in the engine
// as ordinary SQL objects (src/loader/keap-database.ts creates them in the template); what they show or do
// is done here, just before a statement that names them runs: the view reads a temporary table filled now,
// and the clear happens before the function reports it.
import type { CacheEntryInfo } from '../cache/shared-cache.js';
import { quoteLiteral } from '../schema/ddl.js';

export const CACHE_OBJECTS_SQL = `
CREATE FUNCTION public.keapgres_cache_entries() RETURNS TABLE ("table" text, conditions text, rows bigint, bytes bigint, version integer, synced_at timestamptz, hits bigint, truncated boolean)
  LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF pg_catalog.to_regclass('pg_temp.keapgres_cache_rows') IS NOT NULL THEN
    RETURN QUERY EXECUTE 'SELECT * FROM pg_temp.keapgres_cache_rows';
  END IF;
END $$;
CREATE VIEW public.keapgres_cache AS SELECT * FROM public.keapgres_cache_entries();
COMMENT ON VIEW public.keapgres_cache IS 'Entries of the shared cache of Keap rows: table, the conditions Keap applied (empty: the whole table), rows, bytes, version, when last synchronised, hits.';
CREATE FUNCTION public.keapgres_cache_clear(table_name text DEFAULT NULL) RETURNS text LANGUAGE sql VOLATILE
  AS $$ SELECT 'cache entries cleared: ' || COALESCE(pg_catalog.current_setting('keapgres.cache_cleared', true), '0') $$;
COMMENT ON FUNCTION public.keapgres_cache_clear(text) IS 'Empties the shared cache of Keap rows, or only the entries of one table; the next query fetches from Keap again.';
`;

/** What a batch asks of the cache functions: the tables to clear (null: all), and whether it reads the view. */
export function cacheFunctionCalls(statements: readonly string[]): { clear?: Array<string | null>; view: boolean } {
  const clear: Array<string | null> = [];
  let view = false;
  for (const sql of statements) {
    for (const m of sql.matchAll(/keapgres_cache_clear\s*\(\s*(?:'((?:[^']|'')*)'\s*(?:::\s*text\s*)?)?\)/gi)) clear.push(m[1] === undefined ? null : m[1].replace(/''/g, "'"));
    if (/keapgres_cache\b(?!_)/i.test(sql) || /keapgres_cache_entries/i.test(sql)) view = true;
  }
  return { clear: clear.length ? clear : undefined, view };
}

/** Fills the temporary table the view reads. */
export function cacheViewRowsSql(entries: readonly CacheEntryInfo[]): string {
  const values = entries.map((e) => `(${[quoteLiteral(e.table), quoteLiteral(e.conditions), e.rows, e.bytes, e.version, `${quoteLiteral(e.syncedAt.toISOString())}::timestamptz`, e.hits, e.truncated].join(', ')})`);
  return `CREATE TEMP TABLE IF NOT EXISTS keapgres_cache_rows ("table" text, conditions text, rows bigint, bytes bigint, version integer, synced_at timestamptz, hits bigint, truncated boolean);
TRUNCATE pg_temp.keapgres_cache_rows;
${values.length ? `INSERT INTO pg_temp.keapgres_cache_rows VALUES ${values.join(', ')};` : ''}`;
}

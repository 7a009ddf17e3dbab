// What an engine's Keap tables hold, kept with the engine itself: the cache entries (and versions) whose rows
// each table has. It outlives the session, so the next session of the database gets an engine whose tables
// are loaded already and only catches up with what changed. Before an engine is handed on, the tables it
// keeps are checked against the engine's own row counters: a session that wrote to a Keap table by some
// path the planner cannot see (dynamic SQL) leaves that table emptied, never passed on.
import type { EngineInstance } from '../engine/instance.js';
import { qualifiedName, quoteIdent, quoteLiteral } from '../schema/ddl.js';
import type { TableSchema } from '../schema/types.js';
import type { CacheEntry } from '../cache/entry.js';

/** Rows of one cache entry at one version: all of them, or only some keys. */
export interface HeldPart {
  entry: CacheEntry;
  version: number;
  keys?: Set<string>;
}

export interface HeldTable {
  parts: HeldPart[];
  /** loaded inside a client transaction: gone if it rolled back */
  inTransaction: boolean;
  /** the table holds rows of unknown provenance (a load that failed part-way): empty it before use */
  dirty: boolean;
  /** the engine's insert/update/delete counters after keapgres's own last write */
  counters?: string;
  /** vacuumed and analysed since its rows last changed (done when the engine is handed on) */
  vacuumed?: boolean;
}

const contents = new WeakMap<EngineInstance, Map<string, HeldTable>>();

export function heldTables(engine: EngineInstance): Map<string, HeldTable> {
  let m = contents.get(engine);
  if (!m) contents.set(engine, (m = new Map()));
  return m;
}

/** True when the held parts include every row the needed parts ask for. */
export function satisfies(held: HeldTable | undefined, needs: readonly HeldPart[]): boolean {
  if (!held || held.dirty) return false;
  return needs.every((n) => held.parts.some((p) => p.entry === n.entry && p.version === n.entry.version && p.version === n.version && (!p.keys || (n.keys !== undefined && [...n.keys].every((k) => p.keys!.has(k))))));
}

/** Empties a table without TRUNCATE, which would have to name every table a foreign key ties it to. */
export async function emptyTable(engine: EngineInstance, table: TableSchema): Promise<void> {
  await engine.query(`DELETE FROM ${qualifiedName(table)}`);
}

/**
 * Empties tables for the next session, storage too: a size left behind would tell it what was read. All
 * tables at once are one TRUNCATE; some, beside tables that are kept, a DELETE and a VACUUM each (TRUNCATE
 * would have to name the kept tables a foreign key ties them to).
 */
export async function emptyForNextSession(engine: EngineInstance, tables: readonly TableSchema[], all: readonly TableSchema[]): Promise<void> {
  if (tables.length === 0) return;
  if (tables.length === all.length) {
    await engine.query(`TRUNCATE ${all.map(qualifiedName).join(', ')}`);
    return;
  }
  for (const t of tables) {
    await engine.query(`DELETE FROM ${qualifiedName(t)}`);
    await vacuumTable(engine, t, false);
  }
}

/**
 * VACUUM (and ANALYZE) outside a transaction clears pg_class.relhastriggers on a table without triggers, and
 * psql before 18 prints a table's foreign keys only when it is set (CLIENT_COMPAT_SQL sets it once, in the
 * template): set it again after each.
 */
export async function vacuumTable(engine: EngineInstance, table: TableSchema, analyze: boolean): Promise<void> {
  const name = qualifiedName(table);
  await engine.query(`VACUUM ${analyze ? '(ANALYZE) ' : ''}${name}`);
  await engine.query(
    `UPDATE pg_catalog.pg_class SET relhastriggers = true WHERE oid = ${quoteLiteral(name)}::regclass AND NOT relhastriggers ` +
    `AND oid IN (SELECT conrelid FROM pg_catalog.pg_constraint WHERE contype = 'f' UNION SELECT confrelid FROM pg_catalog.pg_constraint WHERE contype = 'f')`,
  );
}

/**
 * Brings a table holding an older version of an entry up to date: the changed rows through a staging table,
 * replacing the old ones by key, and the deleted keys (COPY text of the key columns) through another. One
 * transaction.
 */
export async function applyChanges(engine: EngineInstance, table: TableSchema, copySql: string, changedRows: Iterable<{ bytes: Buffer }>, deletedKeys: readonly string[]): Promise<void> {
  const pk = table.primaryKey.map(quoteIdent);
  const stageName = quoteIdent('keapgres_delta_' + table.name);
  const goneName = quoteIdent('keapgres_gone_' + table.name);
  const stage = `pg_temp.${stageName}`;
  const gone = `pg_temp.${goneName}`;
  await engine.query(`CREATE TEMP TABLE IF NOT EXISTS ${stageName} (LIKE ${qualifiedName(table)});
    CREATE TEMP TABLE IF NOT EXISTS ${goneName} AS SELECT ${pk.join(', ')} FROM ${qualifiedName(table)} WITH NO DATA;
    TRUNCATE ${stage}, ${gone}`);
  for (const b of changedRows) await engine.query(copySql.replace(qualifiedName(table), stage), b.bytes);
  if (deletedKeys.length) await engine.query(`COPY ${gone} (${pk.join(', ')}) FROM '/dev/blob'`, Buffer.from(deletedKeys.join('\n') + '\n', 'utf8'));
  const match = (alias: string) => pk.map((k) => `t.${k} = ${alias}.${k}`).join(' AND ');
  await engine.query(`BEGIN;
DELETE FROM ${qualifiedName(table)} t USING ${stage} s WHERE ${match('s')};
DELETE FROM ${qualifiedName(table)} t USING ${gone} g WHERE ${match('g')};
INSERT INTO ${qualifiedName(table)} SELECT * FROM ${stage};
COMMIT;
TRUNCATE ${stage}, ${gone}`);
}

/** The engine's own count of rows inserted, updated and deleted per table, as one comparable string. */
export async function readCounters(engine: EngineInstance, tables: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (tables.length === 0) return out;
  // cumulative statistics reach the views once flushed, which happens when the engine goes idle after this
  await engine.query('SELECT pg_catalog.pg_stat_force_next_flush()');
  const { rows } = await engine.query(`SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd FROM pg_catalog.pg_stat_user_tables
    WHERE schemaname = 'public' AND relname = ANY (${quoteLiteral(`{${tables.map((t) => `"${t}"`).join(',')}}`)}::text[])`);
  for (const r of rows) out.set(String(r.relname), `${r.n_tup_ins}/${r.n_tup_upd}/${r.n_tup_del}/${r.n_tup_hot_upd}`);
  return out;
}

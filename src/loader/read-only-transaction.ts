// Loading Keap rows inside a read-only transaction that cannot be restarted (a cursor is open, as DBeaver
// keeps one, or a portal has run). PostgreSQL lets a read-only transaction write to temporary tables only,
// and create nothing; so before such a transaction begins, each Keap table gets an empty temporary child
// table that inherits from it. A query of the table, qualified or not, reads the child's rows too; the
// client's own writes to the Keap table stay refused (25006). Rows loaded in the transaction go to the
// child, and the children are emptied once the transaction is over. Measured (PGlite, 30 tables):
// creating the children 37 ms once per session, an empty child adds nothing measurable to a scan.
import type { EngineInstance } from '../engine/instance.js';
import { qualifiedName, quoteIdent } from '../schema/ddl.js';
import type { Catalog, TableSchema } from '../schema/types.js';
import type { BatchStatement } from '../session/session.js';
import type { HeldPart, HeldTable } from './engine-contents.js';

interface Children {
  /** tables that have a child */
  tables: Set<string>;
  /** what each child holds in the running transaction */
  used: Map<string, HeldTable>;
}

const children = new WeakMap<EngineInstance, Children>();

export function childName(table: TableSchema): string {
  return `pg_temp.${quoteIdent(`keapgres_tx_${table.name}`)}`;
}

/** Whether the batch begins a transaction that will be read-only (by its own words or the session default). */
export async function beginsReadOnly(engine: EngineInstance, statements: readonly BatchStatement[]): Promise<boolean> {
  const begins = statements.filter((s) => /^\s*(begin|start\s+transaction)\b/i.test(s.sql));
  if (begins.length === 0) return false;
  if (begins.some((s) => /\bread\s+only\b/i.test(s.sql))) return true;
  if (begins.every((s) => /\bread\s+write\b/i.test(s.sql))) return false;
  return defaultReadOnly(engine);
}

export async function defaultReadOnly(engine: EngineInstance): Promise<boolean> {
  const { rows } = await engine.query("SELECT pg_catalog.current_setting('default_transaction_read_only') AS ro");
  return rows[0]?.ro === 'on';
}

/** DISCARD ALL / DISCARD TEMP drop the children with every temporary table. */
export function dropsTemporaryTables(statements: readonly BatchStatement[]): boolean {
  return statements.some((s) => /\bdiscard\s+(all|temp|temporary)\b/i.test(s.sql));
}

/** Gives every Keap table its child (outside any transaction: CREATE is refused in a read-only one). */
export async function ensureChildren(engine: EngineInstance, catalog: Catalog): Promise<void> {
  const have = children.get(engine);
  const missing = [...catalog.tables.values()].filter((t) => !have?.tables.has(t.name));
  if (missing.length === 0) return;
  await engine.query(missing.map((t) => `CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent(`keapgres_tx_${t.name}`)} () INHERITS (${qualifiedName(t)});`).join('\n'));
  const c = have ?? { tables: new Set<string>(), used: new Map<string, HeldTable>() };
  for (const t of missing) c.tables.add(t.name);
  children.set(engine, c);
}

export function hasChildren(engine: EngineInstance): boolean {
  return (children.get(engine)?.tables.size ?? 0) > 0;
}

/** What the table's child holds in this transaction; undefined when the table has no child. */
export function childContents(engine: EngineInstance, table: TableSchema): HeldTable | undefined {
  const c = children.get(engine);
  if (!c?.tables.has(table.name)) return undefined;
  let h = c.used.get(table.name);
  if (!h) c.used.set(table.name, (h = { parts: [], inTransaction: true, dirty: false }));
  return h;
}

/** After rows went into the child: those the table itself holds go (its rows win), and repeated keys. */
export async function dedupeChild(engine: EngineInstance, table: TableSchema, parentHoldsRows: boolean): Promise<void> {
  const match = (a: string, b: string) => table.primaryKey.map((k) => `${a}.${quoteIdent(k)} = ${b}.${quoteIdent(k)}`).join(' AND ');
  const child = childName(table);
  const sql = [
    parentHoldsRows ? `DELETE FROM ${child} c USING ONLY ${qualifiedName(table)} p WHERE ${match('c', 'p')};` : '',
    `DELETE FROM ${child} a USING ${child} b WHERE ${match('a', 'b')} AND a.ctid > b.ctid;`,
  ];
  await engine.query(sql.join('\n'));
}

/** Once the transaction is over: the children it filled are emptied. */
export async function emptyChildren(engine: EngineInstance): Promise<void> {
  const c = children.get(engine);
  if (!c || c.used.size === 0) return;
  const filled = [...c.used.entries()].filter(([, h]) => h.parts.length > 0 || h.dirty).map(([name]) => `pg_temp.${quoteIdent(`keapgres_tx_${name}`)}`);
  c.used.clear();
  if (filled.length) await engine.query(`TRUNCATE ${filled.join(', ')}`);
}

/** The engine's temporary tables are gone (DISCARD, the engine handed on): nothing to remember. */
export function forgetChildren(engine: EngineInstance): void {
  children.delete(engine);
}

/** True when the parts include every row the needed parts ask for, at whatever version (the transaction's view). */
export function holdsAnyVersion(held: HeldTable | undefined, needs: readonly HeldPart[]): boolean {
  if (!held || held.dirty) return false;
  return needs.every((n) => held.parts.some((p) => p.entry === n.entry && (!p.keys || (n.keys !== undefined && [...n.keys].every((k) => p.keys!.has(k))))));
}

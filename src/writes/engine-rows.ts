// The engine's part in a write. Before any call, the client's statement runs once over the loaded rows with a
// trigger that records each touched row (old and new values) and skips it: the engine decides which rows and
// what values, with full PostgreSQL semantics. After the calls, Keap's rows are staged in temporary tables and
// an "apply" trigger is put on the table: when the client's statement then really runs, each row takes Keap's
// values (UPDATE, INSERT), is deleted (DELETE), or is skipped when Keap did not write it — so the command tag
// counts what Keap accepted and RETURNING shows Keap's rows. The trigger is removed before the next batch.
import { SqlError } from '../errors.js';
import type { EngineInstance } from '../engine/instance.js';
import { copyStatement, escapeCopy } from '../schema/rows.js';
import { qualifiedName, quoteIdent, quoteLiteral } from '../schema/ddl.js';
import type { TableSchema } from '../schema/types.js';
import type { TouchedRow, WriteOp } from './keap-calls.js';
import type { Json } from './row-body.js';

const CAPTURE = 'pg_temp.keapgres_w_captured';

/** Engines with an apply trigger in place: the table it is on. */
const pending = new WeakMap<EngineInstance, { table: string; op: WriteOp }>();

export interface ClientStatement {
  sql: string;
  params?: ReadonlyArray<string | null | undefined>;
}

/** Runs the statement with the capture trigger: the rows it would touch, in the order it touches them. */
export async function captureTouchedRows(engine: EngineInstance, table: TableSchema, stmt: ClientStatement, inTransaction: boolean): Promise<TouchedRow[]> {
  // Temporary objects go when the engine passes to another session (DISCARD ALL): made again each time, cheaply.
  // Everything is one round trip to the engine, and the rows come back as one JSON text (one row to decode, not
  // one per touched row).
  const trigger = `CREATE TRIGGER keapgres_capture BEFORE INSERT OR UPDATE OR DELETE ON ${qualifiedName(table)} FOR EACH ROW EXECUTE FUNCTION ${CAPTURE}()`;
  const drop = `DROP TRIGGER keapgres_capture ON ${qualifiedName(table)}`;
  // Inside the client's transaction (keap_writes = immediate) a failure aborts it anyway, as the statement would.
  const script = [
    `CREATE TEMP TABLE IF NOT EXISTS keapgres_w_captured (n bigserial, old_row jsonb, new_row jsonb)`,
    `CREATE OR REPLACE FUNCTION ${CAPTURE}() RETURNS trigger LANGUAGE plpgsql AS $keapgres$
BEGIN
  INSERT INTO ${CAPTURE} (old_row, new_row) VALUES (CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END, CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
  RETURN NULL;
END $keapgres$`,
    inTransaction ? '' : 'BEGIN', `TRUNCATE ${CAPTURE} RESTART IDENTITY`, trigger, ...statementSql(stmt), drop, inTransaction ? '' : 'COMMIT',
    `SELECT pg_catalog.json_agg(pg_catalog.json_build_array(old_row, new_row) ORDER BY n)::text AS touched FROM ${CAPTURE}`,
  ].filter((x) => x !== '').join(';\n');
  let rows: Record<string, unknown>[];
  try {
    ({ rows } = await engine.query(script));
  } catch (err) {
    if (!inTransaction) await engine.query('ROLLBACK').catch(() => undefined);
    await engine.query('DEALLOCATE keapgres_w_stmt').catch(() => undefined);
    throw err;
  }
  const text = rows[0]?.touched;
  const pairs = typeof text === 'string' ? (JSON.parse(text) as Array<[Json | null, Json | null]>) : [];
  return pairs.map(([o, n]) => ({ old: o ?? undefined, new: n ?? undefined }));
}

/** The client's statement; bound parameters go in as literals of unknown type (as the engine would infer them). */
function statementSql(stmt: ClientStatement): string[] {
  const sql = stmt.sql.replace(/;\s*$/, '');
  if (!stmt.params || stmt.params.length === 0) return [sql];
  if (stmt.params.some((p) => p === undefined)) {
    throw new SqlError('0A000', 'a write to a Keap table cannot take a binary parameter of this type', { hint: 'Bind the parameters as text.' });
  }
  const args = stmt.params.map((p) => (p === null ? 'NULL' : quoteLiteral(p!))).join(', ');
  return [`PREPARE keapgres_w_stmt AS ${sql}`, `EXECUTE keapgres_w_stmt(${args})`, 'DEALLOCATE keapgres_w_stmt'];
}

/** The names of a table's staging objects. */
function stagingNames(table: TableSchema) {
  return {
    rows: `pg_temp.${quoteIdent(`keapgres_w_staged_${table.name}`)}`,
    done: `pg_temp.${quoteIdent(`keapgres_w_done_${table.name}`)}`,
    fn: `pg_temp.${quoteIdent(`keapgres_w_apply_${table.name}`)}`,
    seq: `pg_temp.keapgres_w_seq`,
  };
}

/**
 * The part of staging that does not depend on Keap's answer: the empty staging tables and the apply function.
 * Run while the Keap calls are in flight (the engine is idle then), so only the rows and the trigger are left
 * for after them. `rows` holds Keap's rows, each with the statement's ordinal (INSERT) — one indexed lookup per
 * touched row; `done` the keys Keap deleted.
 */
export async function prepareStaging(engine: EngineInstance, table: TableSchema): Promise<void> {
  const t = qualifiedName(table);
  const n = stagingNames(table);
  const pk = table.primaryKey.map(quoteIdent);
  const cols = table.columns.map((c) => quoteIdent(c.name));
  const onOld = pk.map((k) => `r.${k} = OLD.${k}`).join(' AND ');
  const onDoneOld = pk.map((k) => `d.${k} = OLD.${k}`).join(' AND ');
  const into = `SELECT ${cols.map((c) => `r.${c}`).join(', ')} INTO NEW FROM ${n.rows} r`;
  // No counter is updated per row: updating one row n times in a statement costs n² (every version stays).
  await engine.query(`CREATE TEMP TABLE IF NOT EXISTS ${n.rows.slice('pg_temp.'.length)} (LIKE ${t} INCLUDING INDEXES, keapgres_ord integer);
CREATE INDEX IF NOT EXISTS ${quoteIdent(`keapgres_w_ord_${table.name}`)} ON ${n.rows} (keapgres_ord);
CREATE TEMP TABLE IF NOT EXISTS ${n.done.slice('pg_temp.'.length)} AS SELECT ${pk.join(', ')} FROM ${t} WITH NO DATA;
CREATE INDEX IF NOT EXISTS ${quoteIdent(`keapgres_w_key_${table.name}`)} ON ${n.done} (${pk.join(', ')});
CREATE TEMP SEQUENCE IF NOT EXISTS keapgres_w_seq;
TRUNCATE ${n.rows}, ${n.done};
SELECT pg_catalog.setval('${n.seq}', 1, false);
CREATE OR REPLACE FUNCTION ${n.fn}() RETURNS trigger LANGUAGE plpgsql AS $keapgres$
DECLARE n integer;
BEGIN
  IF TG_OP = 'INSERT' THEN
    n := pg_catalog.nextval('${n.seq}');
    ${into} WHERE r.keapgres_ord = n;
    IF NOT FOUND THEN RETURN NULL; END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    ${into} WHERE ${onOld};
    IF NOT FOUND THEN RETURN NULL; END IF;
  ELSE
    PERFORM 1 FROM ${n.done} d WHERE ${onDoneOld};
    IF NOT FOUND THEN RETURN NULL; END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $keapgres$`);
}

/**
 * Stages what Keap wrote and puts the apply trigger on the table (after `prepareStaging`). `lines`: COPY lines of
 * the rows as Keap returned them (INSERT in the statement's row order, by `ordinals`; UPDATE by key);
 * `unchangedKeys`: UPDATE rows with no call (they keep their values); `deletedKeys`: DELETE rows Keap deleted.
 * Keys are COPY text of the key columns.
 */
export async function stageAndArm(engine: EngineInstance, table: TableSchema, op: WriteOp, staged: {
  lines: string[];
  ordinals?: number[];
  unchangedKeys: string[];
  deletedKeys: string[];
}): Promise<void> {
  const t = qualifiedName(table);
  const n = stagingNames(table);
  const pk = table.primaryKey.map(quoteIdent);
  const cols = table.columns.map((c) => quoteIdent(c.name));
  if (staged.lines.length) {
    const lines = op === 'insert' ? staged.lines.map((l, i) => `${l}\t${staged.ordinals![i]}`) : staged.lines.map((l) => `${l}\t\\N`);
    await engine.query(`COPY ${n.rows} (${cols.join(', ')}, keapgres_ord) FROM '/dev/blob'`, Buffer.from(lines.join('\n') + '\n', 'utf8'));
  }
  if (op === 'delete' && staged.deletedKeys.length) {
    await engine.query(`COPY ${n.done} FROM '/dev/blob'`, Buffer.from(staged.deletedKeys.join('\n') + '\n', 'utf8'));
  }
  const unchanged = staged.unchangedKeys.length
    ? `INSERT INTO ${n.rows} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${t} WHERE (${pk.join(', ')}) IN (${staged.unchangedKeys.map((k) => `(${k.split('\t').map((v) => quoteLiteral(unescapeCopy(v))).join(', ')})`).join(', ')});\n`
    : '';
  await engine.query(`${unchanged}CREATE TRIGGER keapgres_write BEFORE INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${n.fn}()`);
  pending.set(engine, { table: table.name, op });
}

/**
 * Before the next batch: removes the apply trigger. Returns the table and whether the statement applied every
 * staged row (false: it failed in the engine after Keap was written, so the table no longer matches the cache).
 */
export async function disarm(engine: EngineInstance, tables: ReadonlyMap<string, TableSchema>): Promise<{ table: string; complete: boolean } | undefined> {
  const p = pending.get(engine);
  if (p === undefined) return undefined;
  pending.delete(engine);
  const table = tables.get(p.table);
  if (!table) return { table: p.table, complete: false };
  const t = qualifiedName(table);
  const n = stagingNames(table);
  const on = (a: string, b: string) => table.primaryKey.map((k) => `${a}.${quoteIdent(k)} = ${b}.${quoteIdent(k)}`).join(' AND ');
  const row = (a: string) => `ROW(${table.columns.map((c) => `${a}.${quoteIdent(c.name)}`).join(', ')})`;
  let complete = false;
  try {
    // the statement applied every staged row: each is in the table as staged (DELETE: none is left)
    const check = p.op === 'delete'
      ? `SELECT NOT EXISTS (SELECT 1 FROM ${n.done} d JOIN ${t} x ON ${on('x', 'd')}) AS ok`
      : `SELECT NOT EXISTS (SELECT 1 FROM ${n.rows} r WHERE NOT EXISTS (SELECT 1 FROM ${t} x WHERE ${on('x', 'r')} AND ${row('x')} IS NOT DISTINCT FROM ${row('r')})) AS ok`;
    complete = (await engine.query(`DROP TRIGGER IF EXISTS keapgres_write ON ${t};\n${check}`)).rows[0]?.ok === true;
  } catch {
    complete = false;
  }
  return { table: p.table, complete };
}

/** The engine has an apply trigger waiting for the client's statement. */
export function armed(engine: EngineInstance): boolean {
  return pending.has(engine);
}

function unescapeCopy(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c));
}

/** A value of to_jsonb as a COPY field of `type` (for columns Keap's answer did not carry). */
export function jsonToCopyField(value: unknown, type: string): string {
  if (value === null || value === undefined) return '\\N';
  if (type === 'jsonb') return escapeCopy(JSON.stringify(value));
  if (type === 'boolean') return value ? 't' : 'f';
  if (Array.isArray(value)) return escapeCopy(`{${value.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`);
  return escapeCopy(String(value));
}

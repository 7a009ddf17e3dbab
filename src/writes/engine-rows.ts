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

const CAPTURE = 'pg_temp.keapgres_w_capture';

/** Engines with an apply trigger in place: the table it is on. */
const pending = new WeakMap<EngineInstance, { table: string; op: WriteOp }>();

export interface ClientStatement {
  sql: string;
  params?: ReadonlyArray<string | null | undefined>;
}

/** Runs the statement with the capture trigger: the rows it would touch, in the order it touches them. */
export async function captureTouchedRows(engine: EngineInstance, table: TableSchema, stmt: ClientStatement, inTransaction: boolean): Promise<TouchedRow[]> {
  // temporary objects go when the engine passes to another session (DISCARD ALL): made again each time, cheaply
  await engine.query(`CREATE TEMP TABLE IF NOT EXISTS keapgres_w_capture (n serial PRIMARY KEY, old_row jsonb, new_row jsonb);
CREATE OR REPLACE FUNCTION pg_temp.keapgres_w_capture() RETURNS trigger LANGUAGE plpgsql AS $keapgres$
BEGIN
  INSERT INTO ${CAPTURE} (old_row, new_row) VALUES (CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END, CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
  RETURN NULL;
END $keapgres$`);
  // Inside the client's transaction (keap_writes = immediate) a failure aborts it anyway, as the statement would.
  const trigger = `CREATE TRIGGER keapgres_capture BEFORE INSERT OR UPDATE OR DELETE ON ${qualifiedName(table)} FOR EACH ROW EXECUTE FUNCTION pg_temp.keapgres_w_capture()`;
  const drop = `DROP TRIGGER keapgres_capture ON ${qualifiedName(table)}`;
  // one round trip to the engine: the statement between creating and dropping the trigger
  const script = [inTransaction ? '' : 'BEGIN', `TRUNCATE ${CAPTURE} RESTART IDENTITY`, trigger, ...statementSql(stmt), drop, inTransaction ? '' : 'COMMIT']
    .filter((x) => x !== '').join(';\n');
  try {
    await engine.query(script);
  } catch (err) {
    if (!inTransaction) await engine.query('ROLLBACK').catch(() => undefined);
    await engine.query('DEALLOCATE keapgres_w_stmt').catch(() => undefined);
    throw err;
  }
  const { rows } = await engine.query(`SELECT old_row::text AS o, new_row::text AS n FROM ${CAPTURE} ORDER BY n`);
  return rows.map((r) => ({ old: parse(r.o), new: parse(r.n) }));
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

function parse(text: unknown): Json | undefined {
  return typeof text === 'string' ? (JSON.parse(text) as Json) : undefined;
}

/**
 * Stages what Keap wrote and puts the apply trigger on the table. `lines`: COPY lines of the rows as Keap returned
 * them (INSERT in the statement's row order, by `ordinals`; UPDATE by key); `unchangedKeys`: UPDATE rows with no
 * call (they keep their values); `deletedKeys`: DELETE rows Keap deleted. Keys are COPY text of the key columns.
 */
export async function stageAndArm(engine: EngineInstance, table: TableSchema, op: WriteOp, staged: {
  lines: string[];
  ordinals?: number[];
  keysOfLines: string[];
  unchangedKeys: string[];
  deletedKeys: string[];
}): Promise<void> {
  const t = qualifiedName(table);
  const rowsName = quoteIdent(`keapgres_w_rows_${table.name}`);
  const doneName = quoteIdent(`keapgres_w_done_${table.name}`);
  const fn = `pg_temp.${quoteIdent(`keapgres_w_apply_${table.name}`)}`;
  const pk = table.primaryKey.map(quoteIdent);
  // indexed: the trigger looks a row up per row the statement touches
  await engine.query(`CREATE TEMP TABLE IF NOT EXISTS ${rowsName} (LIKE ${t} INCLUDING INDEXES);
CREATE TEMP TABLE IF NOT EXISTS ${doneName} AS SELECT 0 AS keapgres_ord, ${pk.join(', ')} FROM ${t} WITH NO DATA;
CREATE INDEX IF NOT EXISTS ${quoteIdent(`keapgres_w_ord_${table.name}`)} ON pg_temp.${doneName} (keapgres_ord);
CREATE INDEX IF NOT EXISTS ${quoteIdent(`keapgres_w_key_${table.name}`)} ON pg_temp.${doneName} (${pk.join(', ')});
CREATE TEMP SEQUENCE IF NOT EXISTS keapgres_w_seq;
TRUNCATE pg_temp.${rowsName}, pg_temp.${doneName};
ALTER SEQUENCE pg_temp.keapgres_w_seq RESTART WITH 1`);
  if (staged.lines.length) await engine.query(copyStatement(table).replace(t, `pg_temp.${rowsName}`), Buffer.from(staged.lines.join('\n') + '\n', 'utf8'));
  const done: string[] = [];
  if (op === 'insert') staged.keysOfLines.forEach((k, i) => done.push(`${staged.ordinals![i]}\t${k}`));
  if (op === 'delete') for (const k of staged.deletedKeys) done.push(`\\N\t${k}`);
  if (done.length) await engine.query(`COPY pg_temp.${doneName} FROM '/dev/blob'`, Buffer.from(done.join('\n') + '\n', 'utf8'));
  if (staged.unchangedKeys.length) {
    const keys = staged.unchangedKeys.map((k) => `(${k.split('\t').map((v) => quoteLiteral(unescapeCopy(v))).join(', ')})`).join(', ');
    await engine.query(`INSERT INTO pg_temp.${rowsName} SELECT * FROM ${t} WHERE (${pk.join(', ')}) IN (${keys})`);
  }
  const onOld = pk.map((k) => `r.${k} = OLD.${k}`).join(' AND ');
  const onDone = pk.map((k) => `r.${k} = d.${k}`).join(' AND ');
  const onDoneOld = pk.map((k) => `d.${k} = OLD.${k}`).join(' AND ');
  // No counter is updated per row: updating one row n times in a statement costs n² (every version stays).
  await engine.query(`CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $keapgres$
DECLARE n bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    n := pg_catalog.nextval('pg_temp.keapgres_w_seq');
    SELECT r.* INTO NEW FROM pg_temp.${rowsName} r JOIN pg_temp.${doneName} d ON ${onDone} WHERE d.keapgres_ord = n;
    IF NOT FOUND THEN RETURN NULL; END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT r.* INTO NEW FROM pg_temp.${rowsName} r WHERE ${onOld};
    IF NOT FOUND THEN RETURN NULL; END IF;
  ELSE
    PERFORM 1 FROM pg_temp.${doneName} d WHERE ${onDoneOld};
    IF NOT FOUND THEN RETURN NULL; END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $keapgres$;
CREATE TRIGGER keapgres_write BEFORE INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
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
  const rowsName = `pg_temp.${quoteIdent(`keapgres_w_rows_${table.name}`)}`;
  const doneName = `pg_temp.${quoteIdent(`keapgres_w_done_${table.name}`)}`;
  const on = (a: string, b: string) => table.primaryKey.map((k) => `${a}.${quoteIdent(k)} = ${b}.${quoteIdent(k)}`).join(' AND ');
  let complete = false;
  try {
    await engine.query(`DROP TRIGGER IF EXISTS keapgres_write ON ${t}`);
    // the statement applied every staged row: each is in the table as staged (DELETE: none is left)
    const sql = p.op === 'delete'
      ? `SELECT NOT EXISTS (SELECT 1 FROM ${doneName} d JOIN ${t} x ON ${on('x', 'd')}) AS ok`
      : `SELECT NOT EXISTS (SELECT 1 FROM ${rowsName} r WHERE NOT EXISTS (SELECT 1 FROM ${t} x WHERE ${on('x', 'r')} AND ROW(x.*) IS NOT DISTINCT FROM ROW(r.*))) AS ok`;
    complete = (await engine.query(sql)).rows[0]?.ok === true;
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

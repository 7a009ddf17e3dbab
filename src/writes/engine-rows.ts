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
const STATE = 'pg_temp.keapgres_w_state';

/** Engines with an apply trigger in place: the table it is on. */
const pending = new WeakMap<EngineInstance, string>();

export interface ClientStatement {
  sql: string;
  params?: ReadonlyArray<string | null | undefined>;
}

/** Runs the statement with the capture trigger: the rows it would touch, in the order it touches them. */
export async function captureTouchedRows(engine: EngineInstance, table: TableSchema, stmt: ClientStatement, inTransaction: boolean): Promise<TouchedRow[]> {
  await engine.query(`CREATE TEMP TABLE IF NOT EXISTS keapgres_w_capture (n serial PRIMARY KEY, old_row jsonb, new_row jsonb);
TRUNCATE ${CAPTURE} RESTART IDENTITY;
CREATE OR REPLACE FUNCTION pg_temp.keapgres_w_capture() RETURNS trigger LANGUAGE plpgsql AS $keapgres$
BEGIN
  INSERT INTO ${CAPTURE} (old_row, new_row) VALUES (CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END, CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
  RETURN NULL;
END $keapgres$`);
  // Inside the client's transaction (keap_writes = immediate) a failure aborts it anyway, as the statement would.
  const begin = inTransaction ? 'SELECT 1' : 'BEGIN';
  const end = inTransaction ? 'SELECT 1' : 'COMMIT';
  await engine.query(`${begin}; CREATE TRIGGER keapgres_capture BEFORE INSERT OR UPDATE OR DELETE ON ${qualifiedName(table)} FOR EACH ROW EXECUTE FUNCTION pg_temp.keapgres_w_capture()`);
  try {
    await runStatement(engine, stmt);
    await engine.query(`DROP TRIGGER keapgres_capture ON ${qualifiedName(table)}; ${end}`);
  } catch (err) {
    if (!inTransaction) await engine.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  const { rows } = await engine.query(`SELECT old_row::text AS o, new_row::text AS n FROM ${CAPTURE} ORDER BY n`);
  await engine.query(`TRUNCATE ${CAPTURE}`);
  return rows.map((r) => ({ old: parse(r.o), new: parse(r.n) }));
}

/** The client's statement, its bound parameters as literals of unknown type (as the engine would infer them). */
async function runStatement(engine: EngineInstance, stmt: ClientStatement): Promise<void> {
  const sql = stmt.sql.replace(/;\s*$/, '');
  if (!stmt.params || stmt.params.length === 0) {
    await engine.query(sql);
    return;
  }
  if (stmt.params.some((p) => p === undefined)) {
    throw new SqlError('0A000', 'a write to a Keap table cannot take a binary parameter of this type', { hint: 'Bind the parameters as text.' });
  }
  const args = stmt.params.map((p) => (p === null ? 'NULL' : quoteLiteral(p!))).join(', ');
  await engine.query(`PREPARE keapgres_w_stmt AS ${sql}`);
  try {
    await engine.query(`EXECUTE keapgres_w_stmt(${args})`);
  } finally {
    await engine.query('DEALLOCATE keapgres_w_stmt').catch(() => undefined);
  }
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
  await engine.query(`CREATE TEMP TABLE IF NOT EXISTS ${rowsName} (LIKE ${t});
CREATE TEMP TABLE IF NOT EXISTS ${doneName} AS SELECT 0 AS keapgres_ord, ${pk.join(', ')} FROM ${t} WITH NO DATA;
CREATE TEMP TABLE IF NOT EXISTS keapgres_w_state (tbl text, seq int, applied int, expected int);
TRUNCATE pg_temp.${rowsName}, pg_temp.${doneName}, ${STATE}`);
  if (staged.lines.length) await engine.query(copyStatement(table).replace(t, `pg_temp.${rowsName}`), Buffer.from(staged.lines.join('\n') + '\n', 'utf8'));
  const done: string[] = [];
  if (op === 'insert') staged.keysOfLines.forEach((k, i) => done.push(`${staged.ordinals![i]}\t${k}`));
  if (op === 'delete') for (const k of staged.deletedKeys) done.push(`\\N\t${k}`);
  if (done.length) await engine.query(`COPY pg_temp.${doneName} FROM '/dev/blob'`, Buffer.from(done.join('\n') + '\n', 'utf8'));
  if (staged.unchangedKeys.length) {
    const keys = staged.unchangedKeys.map((k) => `(${k.split('\t').map((v) => quoteLiteral(unescapeCopy(v))).join(', ')})`).join(', ');
    await engine.query(`INSERT INTO pg_temp.${rowsName} SELECT * FROM ${t} WHERE (${pk.join(', ')}) IN (${keys})`);
  }
  const expected = op === 'delete' ? staged.deletedKeys.length : staged.lines.length + staged.unchangedKeys.length;
  const onOld = pk.map((k) => `r.${k} = OLD.${k}`).join(' AND ');
  const onDone = pk.map((k) => `r.${k} = d.${k}`).join(' AND ');
  const onDoneOld = pk.map((k) => `d.${k} = OLD.${k}`).join(' AND ');
  await engine.query(`INSERT INTO ${STATE} VALUES (${quoteLiteral(table.name)}, 0, 0, ${expected});
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $keapgres$
DECLARE n int;
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE ${STATE} SET seq = seq + 1 RETURNING seq INTO n;
    SELECT r.* INTO NEW FROM pg_temp.${rowsName} r JOIN pg_temp.${doneName} d ON ${onDone} WHERE d.keapgres_ord = n;
    IF NOT FOUND THEN RETURN NULL; END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT r.* INTO NEW FROM pg_temp.${rowsName} r WHERE ${onOld};
    IF NOT FOUND THEN RETURN NULL; END IF;
  ELSE
    PERFORM 1 FROM pg_temp.${doneName} d WHERE ${onDoneOld};
    IF NOT FOUND THEN RETURN NULL; END IF;
  END IF;
  UPDATE ${STATE} SET applied = applied + 1;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $keapgres$;
CREATE TRIGGER keapgres_write BEFORE INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
  pending.set(engine, table.name);
}

/**
 * Before the next batch: removes the apply trigger. Returns the table and whether the statement applied every
 * staged row (false: it failed in the engine after Keap was written, so the table no longer matches the cache).
 */
export async function disarm(engine: EngineInstance, tables: ReadonlyMap<string, TableSchema>): Promise<{ table: string; complete: boolean } | undefined> {
  const name = pending.get(engine);
  if (name === undefined) return undefined;
  const table = tables.get(name);
  pending.delete(engine);
  if (!table) return { table: name, complete: false };
  let complete = false;
  try {
    const { rows } = await engine.query(`SELECT applied, expected FROM ${STATE}`);
    complete = rows.length === 1 && rows[0]!.applied === rows[0]!.expected;
  } catch {
    complete = false;
  }
  await engine.query(`DROP TRIGGER IF EXISTS keapgres_write ON ${qualifiedName(table)}; TRUNCATE ${STATE}`).catch(() => undefined);
  return { table: name, complete };
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

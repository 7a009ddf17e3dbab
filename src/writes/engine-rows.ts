// The engine's part in a write. Before any call, the client's statement runs once over the loaded rows with a
// trigger that records each touched row (old and new values) and skips it: the engine decides which rows and
// what values, with full PostgreSQL semantics. After the calls, Keap's rows are staged in temporary tables and
// an "apply" trigger is put on the table: when the client's statement then really runs, each row takes Keap's
// values (UPDATE, INSERT), is deleted (DELETE), or is skipped when Keap did not write it — so the command tag
// counts what Keap accepted and RETURNING shows Keap's rows. The trigger is removed before the next batch.
// A batch of several writes (pgjdbc's executeBatch) stages each statement's rows under its number in the batch; a
// statement-level trigger counts the statements as they run, and raises the Keap error of the one that failed.
import { SqlError } from '../errors.js';
import type { EngineInstance } from '../engine/instance.js';
import { escapeCopy } from '../schema/rows.js';
import { qualifiedName, quoteIdent, quoteLiteral } from '../schema/ddl.js';
import type { TableSchema } from '../schema/types.js';
import type { TouchedRow, WriteOp } from './keap-calls.js';
import type { Json } from './row-body.js';

const CAPTURE = 'pg_temp.keapgres_w_captured';

/** Engines with apply triggers in place: the tables they are on, and whether several statements were staged. */
const pending = new WeakMap<EngineInstance, { tables: string[]; batch: boolean }>();

/** Names of prepared statements made for captures (unique: one left by a failed capture cannot clash). */
let prepared = 0;

export interface ClientStatement {
  sql: string;
  params?: ReadonlyArray<string | null | undefined>;
}

/** Runs the statement with the capture trigger: the rows it would touch, in the order it touches them. */
export async function captureTouchedRows(engine: EngineInstance, table: TableSchema, stmt: ClientStatement, inTransaction: boolean): Promise<TouchedRow[]> {
  // Temporary objects go when the engine passes to another session (DISCARD ALL): made again each time, cheaply.
  // Everything is one round trip to the engine, and the rows come back as one JSON text (one row to decode, not
  // one per touched row).
  const name = `keapgres_w_stmt_${++prepared}`;
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
  let rows: Record<string, unknown>[] = [];
  try {
    ({ rows } = await engine.query(script.replace(/\bkeapgres_w_stmt\b/g, name)));
  } catch (err) {
    if (!inTransaction) await engine.query('ROLLBACK').catch(() => undefined);
    await engine.query(`DEALLOCATE ${name}`).catch(() => undefined);
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

/** What one statement of a batch staged for its real run. Keys and lines are COPY text. */
export interface StagedStatement {
  table: TableSchema;
  op: WriteOp;
  /** Keap's rows: INSERT in the statement's row order (by `ordinals`), UPDATE by key */
  lines: string[];
  ordinals: number[];
  /** UPDATE rows with no call: they keep their values */
  unchangedKeys: string[];
  /** DELETE rows Keap deleted */
  deletedKeys: string[];
  /** INSERT … ON CONFLICT DO UPDATE: the engine fires its UPDATE statement triggers too (not a statement of its own) */
  upsert: boolean;
}

/** The error a statement of a batch raises when it runs (its Keap calls failed, or an earlier statement's did). */
export interface StatementFailure {
  sqlstate: string;
  message: string;
  detail: string;
  hint: string;
}

/** The names of a table's staging objects. */
function stagingNames(table: TableSchema) {
  return {
    rows: `pg_temp.${quoteIdent(`keapgres_w_staged_${table.name}`)}`,
    done: `pg_temp.${quoteIdent(`keapgres_w_kept_${table.name}`)}`,
    fn: `pg_temp.${quoteIdent(`keapgres_w_apply_${table.name}`)}`,
  };
}
const STATEMENTS = 'pg_temp.keapgres_w_statements';
const STATEMENT_FN = 'pg_temp.keapgres_w_statement';
/** the statement of the batch running now (1, 2, …), the row ordinal within it, the upsert whose UPDATE half is next */
const STMT_SEQ = 'pg_temp.keapgres_w_stmt_no';
const ORD_SEQ = 'pg_temp.keapgres_w_ord';
const UPSERT_SEQ = 'pg_temp.keapgres_w_upsert';

/**
 * The part of staging that does not depend on Keap's answers: the empty staging tables and the trigger functions.
 * Run while the Keap calls are in flight (the engine is idle then), so only the rows and the triggers are left
 * for after them. `rows` holds Keap's rows by statement and ordinal (INSERT) or key: one indexed lookup per touched
 * row; `done` the keys a statement deleted ('d') or left unchanged ('u').
 */
export async function prepareStaging(engine: EngineInstance, tables: readonly TableSchema[]): Promise<void> {
  const sql: string[] = [
    `CREATE TEMP SEQUENCE IF NOT EXISTS ${STMT_SEQ.slice(8)}`,
    `CREATE TEMP SEQUENCE IF NOT EXISTS ${ORD_SEQ.slice(8)}`,
    `CREATE TEMP SEQUENCE IF NOT EXISTS ${UPSERT_SEQ.slice(8)} MINVALUE 0 START 0`,
    `CREATE TEMP TABLE IF NOT EXISTS ${STATEMENTS.slice(8)} (k integer PRIMARY KEY, upsert boolean NOT NULL, sqlstate text, message text, detail text, hint text)`,
    `TRUNCATE ${STATEMENTS}`,
    `CREATE OR REPLACE FUNCTION ${STATEMENT_FN}() RETURNS trigger LANGUAGE plpgsql AS $keapgres$
DECLARE keapgres_k integer; keapgres_s record;
BEGIN
  -- INSERT … ON CONFLICT DO UPDATE fires the BEFORE UPDATE statement triggers right after its BEFORE INSERT ones
  IF TG_OP = 'UPDATE' AND (SELECT last_value FROM ${UPSERT_SEQ}) > 0 THEN
    PERFORM pg_catalog.setval('${UPSERT_SEQ}', 0);
    RETURN NULL;
  END IF;
  keapgres_k := pg_catalog.nextval('${STMT_SEQ}');
  PERFORM pg_catalog.setval('${ORD_SEQ}', 1, false);
  SELECT * INTO keapgres_s FROM ${STATEMENTS} x WHERE x.k = keapgres_k;
  IF FOUND AND keapgres_s.upsert AND TG_OP = 'INSERT' THEN PERFORM pg_catalog.setval('${UPSERT_SEQ}', keapgres_k); END IF;
  IF FOUND AND keapgres_s.sqlstate IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = keapgres_s.sqlstate, MESSAGE = keapgres_s.message, DETAIL = keapgres_s.detail, HINT = keapgres_s.hint;
  END IF;
  RETURN NULL;
END $keapgres$`,
  ];
  for (const table of tables) {
    const t = qualifiedName(table);
    const n = stagingNames(table);
    const pk = table.primaryKey.map(quoteIdent);
    const cols = table.columns.map((c) => quoteIdent(c.name));
    const onOld = pk.map((k) => `r.${k} = OLD.${k}`).join(' AND ');
    const onDoneOld = pk.map((k) => `d.${k} = OLD.${k}`).join(' AND ');
    const into = `SELECT ${cols.map((c) => `r.${c}`).join(', ')} INTO NEW FROM ${n.rows} r`;
    // no unique key: a batch may stage one row for several statements
    sql.push(
      `CREATE TEMP TABLE IF NOT EXISTS ${n.rows.slice(8)} (LIKE ${t}, keapgres_stmt integer, keapgres_ord integer)`,
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(`keapgres_w_ord_${table.name}`)} ON ${n.rows} (keapgres_stmt, keapgres_ord)`,
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(`keapgres_w_key_${table.name}`)} ON ${n.rows} (${pk.join(', ')}, keapgres_stmt)`,
      `CREATE TEMP TABLE IF NOT EXISTS ${n.done.slice(8)} AS SELECT ${pk.join(', ')}, 0 AS keapgres_stmt, 'd'::text AS keapgres_kind FROM ${t} WITH NO DATA`,
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(`keapgres_w_kept_${table.name}`)} ON ${n.done} (${pk.join(', ')}, keapgres_stmt)`,
      `TRUNCATE ${n.rows}, ${n.done}`,
      // No counter is updated per row: updating one row n times in a statement costs n² (every version stays).
      `CREATE OR REPLACE FUNCTION ${n.fn}() RETURNS trigger LANGUAGE plpgsql AS $keapgres$
DECLARE keapgres_k integer := pg_catalog.currval('${STMT_SEQ}'); keapgres_n integer;
BEGIN
  IF TG_OP = 'INSERT' THEN
    keapgres_n := pg_catalog.nextval('${ORD_SEQ}');
    ${into} WHERE r.keapgres_stmt = keapgres_k AND r.keapgres_ord = keapgres_n;
    IF NOT FOUND THEN RETURN NULL; END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    ${into} WHERE ${onOld} AND r.keapgres_stmt = keapgres_k;
    IF NOT FOUND THEN
      PERFORM 1 FROM ${n.done} d WHERE ${onDoneOld} AND d.keapgres_stmt = keapgres_k AND d.keapgres_kind = 'u';
      IF NOT FOUND THEN RETURN NULL; END IF;
    END IF;
  ELSE
    PERFORM 1 FROM ${n.done} d WHERE ${onDoneOld} AND d.keapgres_stmt = keapgres_k AND d.keapgres_kind = 'd';
    IF NOT FOUND THEN RETURN NULL; END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $keapgres$`,
    );
  }
  await engine.query(sql.join(';\n'));
}

/**
 * Stages what Keap wrote for each statement of the batch (after `prepareStaging` of their tables) and puts the
 * triggers on the tables. `failure`: the statement (0-based) that raises it when it runs; later ones do not run.
 */
export async function stageAndArm(engine: EngineInstance, statements: readonly StagedStatement[], failure?: { at: number; error: StatementFailure }): Promise<void> {
  const tables = new Map<string, TableSchema>();
  for (const s of statements) tables.set(s.table.name, s.table);
  const byTable = new Map<string, { rows: string[]; done: string[] }>();
  statements.forEach((s, i) => {
    const k = i + 1;
    let b = byTable.get(s.table.name);
    if (!b) byTable.set(s.table.name, (b = { rows: [], done: [] }));
    s.lines.forEach((l, j) => b!.rows.push(`${l}\t${k}\t${s.op === 'insert' ? s.ordinals[j] : '\\N'}`));
    for (const key of s.unchangedKeys) b.done.push(`${key}\t${k}\tu`);
    if (s.op === 'delete') for (const key of s.deletedKeys) b.done.push(`${key}\t${k}\td`);
  });
  for (const [name, b] of byTable) {
    const table = tables.get(name)!;
    const n = stagingNames(table);
    const cols = table.columns.map((c) => quoteIdent(c.name));
    if (b.rows.length) await engine.query(`COPY ${n.rows} (${cols.join(', ')}, keapgres_stmt, keapgres_ord) FROM '/dev/blob'`, Buffer.from(b.rows.join('\n') + '\n', 'utf8'));
    if (b.done.length) await engine.query(`COPY ${n.done} FROM '/dev/blob'`, Buffer.from(b.done.join('\n') + '\n', 'utf8'));
  }
  const flags = statements.map((s, i) => {
    const f = failure && i === failure.at ? failure.error : undefined;
    return `(${i + 1}, ${s.upsert}, ${f ? [f.sqlstate, f.message, f.detail, f.hint].map(quoteLiteral).join(', ') : 'NULL, NULL, NULL, NULL'})`;
  });
  const sql = [
    `INSERT INTO ${STATEMENTS} VALUES ${flags.join(', ')}`,
    `SELECT pg_catalog.setval('${STMT_SEQ}', 1, false), pg_catalog.setval('${UPSERT_SEQ}', 0)`,
  ];
  for (const table of tables.values()) {
    const t = qualifiedName(table);
    sql.push(
      `CREATE TRIGGER keapgres_write_statement BEFORE INSERT OR UPDATE OR DELETE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION ${STATEMENT_FN}()`,
      `CREATE TRIGGER keapgres_write BEFORE INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${stagingNames(table).fn}()`,
    );
  }
  await engine.query(sql.join(';\n'));
  pending.set(engine, { tables: [...tables.keys()], batch: statements.length > 1 });
}

/**
 * Before the next batch: removes the apply triggers. Returns each table and whether the batch applied every staged
 * row (false: a statement failed in the engine after Keap was written, so the table no longer matches the cache).
 */
export async function disarm(engine: EngineInstance, tables: ReadonlyMap<string, TableSchema>): Promise<Array<{ table: string; complete: boolean }> | undefined> {
  const p = pending.get(engine);
  if (p === undefined) return undefined;
  pending.delete(engine);
  const names = p.tables;
  const out: Array<{ table: string; complete: boolean }> = [];
  for (const name of names) {
    const table = tables.get(name);
    if (!table) {
      out.push({ table: name, complete: false });
      continue;
    }
    const t = qualifiedName(table);
    const n = stagingNames(table);
    const pk = table.primaryKey.map(quoteIdent);
    const on = (a: string, b: string) => pk.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
    const row = (a: string) => `ROW(${table.columns.map((c) => `${a}.${quoteIdent(c.name)}`).join(', ')})`;
    // Every key ends as the last statement that staged it left it: Keap's row, or gone when it deleted it. (One
    // statement stages a key once: the plain join, which the next batch waits for, is cheaper than sorting.)
    const check = !p.batch
      ? `SELECT NOT EXISTS (SELECT 1 FROM ${n.rows} r WHERE NOT EXISTS (SELECT 1 FROM ${t} x WHERE ${on('x', 'r')} AND ${row('x')} IS NOT DISTINCT FROM ${row('r')}))
  AND NOT EXISTS (SELECT 1 FROM ${n.done} d JOIN ${t} x ON ${on('x', 'd')} WHERE d.keapgres_kind = 'd') AS ok`
      : `WITH r AS (SELECT DISTINCT ON (${pk.join(', ')}) * FROM ${n.rows} ORDER BY ${pk.join(', ')}, keapgres_stmt DESC),
d AS (SELECT DISTINCT ON (${pk.join(', ')}) * FROM ${n.done} WHERE keapgres_kind = 'd' ORDER BY ${pk.join(', ')}, keapgres_stmt DESC)
SELECT NOT EXISTS (SELECT 1 FROM r WHERE NOT EXISTS (SELECT 1 FROM d WHERE ${on('d', 'r')} AND d.keapgres_stmt > r.keapgres_stmt)
    AND NOT EXISTS (SELECT 1 FROM ${t} x WHERE ${on('x', 'r')} AND ${row('x')} IS NOT DISTINCT FROM ${row('r')}))
  AND NOT EXISTS (SELECT 1 FROM d JOIN ${t} x ON ${on('x', 'd')} WHERE NOT EXISTS (SELECT 1 FROM r WHERE ${on('r', 'd')} AND r.keapgres_stmt > d.keapgres_stmt)) AS ok`;
    let complete = false;
    try {
      complete = (await engine.query(`DROP TRIGGER IF EXISTS keapgres_write ON ${t};\nDROP TRIGGER IF EXISTS keapgres_write_statement ON ${t};\n${check}`)).rows[0]?.ok === true;
    } catch {
      complete = false;
    }
    out.push({ table: name, complete });
  }
  return out;
}

/**
 * Inside the transaction a batch of writes is decided in: the table takes what Keap wrote for one statement (rows by
 * key, deleted keys), so the next statement's rows are decided over them. Rolled back with that transaction.
 */
export async function applyInTransaction(engine: EngineInstance, table: TableSchema, lines: readonly string[], deletedKeys: readonly string[]): Promise<void> {
  if (lines.length === 0 && deletedKeys.length === 0) return;
  const t = qualifiedName(table);
  const pk = table.primaryKey.map(quoteIdent);
  const rows = quoteIdent(`keapgres_w_next_${table.name}`);
  const gone = quoteIdent(`keapgres_w_gone_${table.name}`);
  const match = (a: string) => pk.map((k) => `t.${k} = ${a}.${k}`).join(' AND ');
  await engine.query(`CREATE TEMP TABLE IF NOT EXISTS ${rows} (LIKE ${t});
CREATE TEMP TABLE IF NOT EXISTS ${gone} AS SELECT ${pk.join(', ')} FROM ${t} WITH NO DATA;
TRUNCATE pg_temp.${rows}, pg_temp.${gone}`);
  if (lines.length) await engine.query(`COPY pg_temp.${rows} (${table.columns.map((c) => quoteIdent(c.name)).join(', ')}) FROM '/dev/blob'`, Buffer.from(lines.join('\n') + '\n', 'utf8'));
  if (deletedKeys.length) await engine.query(`COPY pg_temp.${gone} FROM '/dev/blob'`, Buffer.from(deletedKeys.join('\n') + '\n', 'utf8'));
  await engine.query(`DELETE FROM ${t} t USING pg_temp.${rows} s WHERE ${match('s')};
DELETE FROM ${t} t USING pg_temp.${gone} g WHERE ${match('g')};
INSERT INTO ${t} SELECT * FROM pg_temp.${rows}`);
}

/** The engine has an apply trigger waiting for the client's statement. */
export function armed(engine: EngineInstance): boolean {
  return pending.has(engine);
}

/** A value of to_jsonb as a COPY field of `type` (for columns Keap's answer did not carry). */
export function jsonToCopyField(value: unknown, type: string): string {
  if (value === null || value === undefined) return '\\N';
  if (type === 'jsonb') return escapeCopy(JSON.stringify(value));
  if (type === 'boolean') return value ? 't' : 'f';
  if (Array.isArray(value)) return escapeCopy(`{${value.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`);
  return escapeCopy(String(value));
}

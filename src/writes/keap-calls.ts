// The rows a statement touched → the fewest Keap calls: one per row (PATCH of only the changed columns, POST of
// the given ones, DELETE), or one per group where the schema names a bulk call (contact_tags: one applyTags per
// tag for up to 1,000 contacts). Checks made before any call: columns Keap cannot take, values an INSERT requires.
import { SqlError, SQLSTATE } from '../errors.js';
import type { TableSchema, WriteCall } from '../schema/types.js';
import { bodyOf, topLevelName, writableColumn, writePath, type Json } from './row-body.js';

export type WriteOp = 'insert' | 'update' | 'delete';

/** One row the engine decided the statement touches: its values before (UPDATE, DELETE) and after (INSERT, UPDATE). */
export interface TouchedRow {
  old?: Json;
  new?: Json;
}

export interface KeapCall {
  method: WriteCall['method'];
  path: string;
  query: Array<[string, string]>;
  body?: Json;
  /** indexes of the rows this call writes */
  rows: number[];
  /** sending it twice does no harm (PATCH, DELETE, bulk tag calls): retried after a timeout */
  idempotent: boolean;
  /** bulk: the list values in body order, one per row */
  bulkValues?: string[];
}

export interface CallPlan {
  calls: KeapCall[];
  /** UPDATE rows whose writable columns did not change: counted, with no call */
  unchanged: number[];
}

export function planCalls(table: TableSchema, op: WriteOp, rows: readonly TouchedRow[], upsert = false): CallPlan {
  const spec = table.write!;
  const call = spec[op]!;
  const calls: KeapCall[] = [];
  const unchanged: number[] = [];
  const bulkGroups = new Map<string, KeapCall>();
  const idempotent = call.method !== 'POST' || call.bulk !== undefined;
  rows.forEach((row, i) => {
    const values = (op === 'delete' ? row.old : row.new)!;
    let columns: string[] = [];
    if (op === 'insert') {
      for (const c of table.columns) {
        if (values[c.name] === null || values[c.name] === undefined) continue;
        if (!writableColumn(table, c.name)) throw readOnlyColumn(table, c.name, 'INSERT', spec.columns);
        columns.push(c.name);
      }
      for (const r of spec.required) {
        if (values[r] === null || values[r] === undefined) {
          throw new SqlError('23502', `null value in column "${r}" of relation "${table.name}" violates not-null constraint`, {
            detail: `Keap requires ${r} to create a row of ${table.name}; no call was made.`,
          });
        }
      }
    } else if (op === 'update') {
      const changed = table.columns.filter((c) => JSON.stringify(row.old![c.name] ?? null) !== JSON.stringify(values[c.name] ?? null)).map((c) => c.name);
      for (const c of changed) {
        if (!writableColumn(table, c) || spec.insertOnly.includes(c)) {
          throw readOnlyColumn(table, c, 'UPDATE', spec.columns.filter((x) => !spec.insertOnly.includes(x)));
        }
      }
      if (changed.length === 0) {
        unchanged.push(i);
        return;
      }
      // A nested object (an address) and the custom_fields list are replaced whole by Keap: their other columns go
      // along with their values.
      const objects = new Set(changed.map((c) => writePath(table, c)).filter((p) => p.includes('.') || p === 'custom_fields').map(topLevelName));
      const candidates = table.columns.map((c) => c.name).filter((c) => writableColumn(table, c) && !spec.insertOnly.includes(c));
      columns = [...new Set([...changed, ...candidates.filter((c) => objects.has(topLevelName(writePath(table, c))))])];
    }
    const path = call.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(String(((op === 'insert' ? values : row.old!)[name]) ?? '')));
    if (call.bulk) {
      const by = String(values[call.bulk.by]);
      const key = `${path}\u0000${by}`;
      let group = bulkGroups.get(key);
      if (!group || group.rows.length >= call.bulk.max) {
        group = { method: call.method, path, query: [], body: { [call.bulk.list]: [] }, rows: [], idempotent, bulkValues: [] };
        bulkGroups.set(key, group);
        calls.push(group);
      }
      const value = String(values[call.bulk.column]);
      (group.body![call.bulk.list] as string[]).push(value);
      group.bulkValues!.push(value);
      group.rows.push(i);
      return;
    }
    const query: Array<[string, string]> = [];
    if (op === 'update' && call.updateMask) for (const name of new Set(columns.map((c) => topLevelName(writePath(table, c))))) query.push(['update_mask', name]);
    if (op === 'insert' && upsert) query.push(...Object.entries(call.upsert ?? {}));
    calls.push({ method: call.method, path, query, body: op === 'delete' ? undefined : bodyOf(table, values, columns), rows: [i], idempotent });
  });
  return { calls, unchanged };
}

function readOnlyColumn(table: TableSchema, column: string, action: string, allowed: readonly string[]): SqlError {
  return new SqlError(SQLSTATE.featureNotSupported, `column "${column}" of Keap table "${table.name}" cannot be written by ${action}`, {
    detail: `Keap does not take it; no call was made. Columns ${action} can set: ${allowed.join(', ')}.`,
  });
}

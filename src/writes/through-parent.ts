// Writes of rows that are elements of a list inside a parent record (a contact's email addresses, phone numbers,
// addresses). Keap replaces such a list whole on a write, so per parent the list is read, the touched slots are
// changed in it, and it is written back: two calls per parent, however many of its rows the statement touched.
import { UncertainWrite, type KeapConnector } from '../keap/connector.js';
import { SqlError } from '../errors.js';
import type { TableSchema } from '../schema/types.js';
import type { TouchedRow, WriteOp } from './keap-calls.js';
import { keapMessageOf, sqlstateOf, type RowOutcome } from './keap-errors.js';
import { wireValue, type Json } from './row-body.js';

export interface ThroughResult {
  outcomes: RowOutcome[];
  cancelled: boolean;
  calls: number;
}

/** `parentQuery`: asks the PATCH to answer with the parent's fields as its table reads them (the cache takes that row). */
export async function runThroughParent(connector: KeapConnector, table: TableSchema, op: WriteOp, rows: readonly TouchedRow[], signal: AbortSignal, parentQuery: Array<[string, string]> = []): Promise<ThroughResult> {
  const spec = table.write!;
  const call = spec[op]!;
  const list = call.through!;
  const parentColumn = /\{(\w+)\}/.exec(call.path)![1]!;
  // the slot key within the list: the key column that is not the parent's
  const slotColumn = table.primaryKey.find((k) => k !== parentColumn)!;
  const slotPath = table.columns.find((c) => c.name === slotColumn)!.path;
  const itemColumns = table.columns.filter((c) => (spec.columns.includes(c.name) || c.name === slotColumn) && c.name !== parentColumn);
  const outcomes: RowOutcome[] = rows.map(() => ({ kind: 'not attempted' }));
  const byParent = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const v = (op === 'insert' ? r.new : r.old)![parentColumn];
    const key = String(v);
    let l = byParent.get(key);
    if (!l) byParent.set(key, (l = []));
    l.push(i);
  });
  for (const [, idx] of byParent) {
    const row = rows[idx[0]!]!;
    for (const i of idx) {
      const r = rows[i]!;
      if (op === 'update' && r.new![parentColumn] !== r.old![parentColumn]) throw readOnly(table, parentColumn);
      if (op === 'update' && r.new![slotColumn] !== r.old![slotColumn]) throw readOnly(table, slotColumn);
      if (op === 'update') {
        for (const c of table.columns) {
          if (JSON.stringify(r.old![c.name] ?? null) !== JSON.stringify(r.new![c.name] ?? null) && !spec.columns.includes(c.name)) throw readOnly(table, c.name);
        }
      }
      if (op === 'insert') {
        for (const c of table.columns) if (r.new![c.name] !== null && r.new![c.name] !== undefined && !spec.columns.includes(c.name)) throw readOnly(table, c.name);
        for (const req of spec.required) {
          if (r.new![req] === null || r.new![req] === undefined) throw new SqlError('23502', `null value in column "${req}" of relation "${table.name}" violates not-null constraint`);
        }
      }
    }
    void row;
  }
  let calls = 0;
  let stop = false;
  for (const [parent, idx] of byParent) {
    if (stop || signal.aborted) break;
    const path = call.path.replace(`{${parentColumn}}`, encodeURIComponent(parent));
    const set = (o: RowOutcome) => { for (const i of idx) outcomes[i] = o; };
    try {
      calls++;
      const got = await connector.send('GET', path, [['fields', list]], undefined, signal, true);
      if (got.status === 404) { set({ kind: 'missing' }); continue; }
      if (got.status < 200 || got.status >= 300) {
        const m = keapMessageOf(got.body, got.bodyText);
        set({ kind: 'failed', status: got.status, sqlstate: sqlstateOf(got.status, m), message: m });
        stop = true;
        continue;
      }
      const items = (((got.body as Json | undefined)?.[list] ?? []) as Json[]).map((it) => pickItem(it, itemColumns));
      let duplicate: string | undefined;
      for (const i of idx) {
        const r = rows[i]!;
        const slot = String((op === 'insert' ? r.new : r.old)![slotColumn]);
        const at = items.findIndex((it) => String(it[slotPath]) === slot);
        if (op === 'delete') { if (at >= 0) items.splice(at, 1); continue; }
        if (op === 'insert' && at >= 0) { duplicate = `${list} of ${parentColumn} ${parent} already has ${slot}`; break; }
        const item: Json = op === 'update' && at >= 0 ? items[at]! : { [slotPath]: slot };
        for (const c of itemColumns) {
          const v = r.new![c.name];
          if (c.name === slotColumn) continue;
          if (op === 'update' && JSON.stringify(r.old![c.name] ?? null) === JSON.stringify(v ?? null)) continue;
          if (v === null || v === undefined) delete item[c.path];
          else item[c.path] = wireValue(c, v, 2);
        }
        if (at < 0) items.push(item);
      }
      if (duplicate) { set({ kind: 'duplicate', message: duplicate }); stop = true; continue; }
      calls++;
      const res = await connector.send('PATCH', path, [['update_mask', list], ...parentQuery], { [list]: items }, signal, true);
      if (res.status === 404) { set({ kind: 'missing' }); continue; }
      if (res.status < 200 || res.status >= 300) {
        const m = keapMessageOf(res.body, res.bodyText) || `HTTP ${res.status}`;
        set({ kind: 'failed', status: res.status, sqlstate: sqlstateOf(res.status, m), message: m });
        stop = true;
        continue;
      }
      set({ kind: 'written', record: res.body, date: res.date });
    } catch (err) {
      if (signal.aborted) break;
      set(err instanceof UncertainWrite ? { kind: 'uncertain', message: err.reason } : { kind: 'failed', status: 0, sqlstate: err instanceof SqlError ? err.sqlstate : '58000', message: err instanceof Error ? err.message : String(err) });
      stop = true;
    }
  }
  return { outcomes, cancelled: signal.aborted, calls };
}

/** An element as Keap takes it back: only the properties a write may set (read-only ones such as number_e164 go). */
function pickItem(item: Json, columns: ReadonlyArray<{ path: string }>): Json {
  const out: Json = {};
  for (const c of columns) if (item[c.path] !== undefined && item[c.path] !== null) out[c.path] = item[c.path];
  return out;
}

function readOnly(table: TableSchema, column: string): SqlError {
  return new SqlError('0A000', `column "${column}" of Keap table "${table.name}" cannot be written by UPDATE`, {
    detail: `Keap does not take it; no call was made. Columns UPDATE can set: ${table.write!.columns.filter((c) => !table.write!.insertOnly.includes(c)).join(', ')}.`,
  });
}

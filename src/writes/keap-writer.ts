// One write statement to a Keap table, from the engine's touched rows to Keap's calls and back: what Keap
// wrote (COPY lines for the cache and the engine), and either the staging that lets the client's statement run
// over Keap's rows, or the error that says exactly what was written, what failed and why.
import { SqlError, SQLSTATE } from '../errors.js';
import type { EngineInstance } from '../engine/instance.js';
import type { KeapConnector } from '../keap/connector.js';
import { CopyRowEncoder } from '../schema/rows.js';
import type { TableSchema } from '../schema/types.js';
import type { WriteTarget } from '../planner/types.js';
import type { ErrorFields } from '../wire/backend-messages.js';
import { runCalls } from './call-runner.js';
import { planCalls, type TouchedRow } from './keap-calls.js';
import type { RowOutcome } from './keap-errors.js';
import { runThroughParent } from './through-parent.js';
import { captureTouchedRows, jsonToCopyField, prepareStaging, type ClientStatement, type StagedStatement } from './engine-rows.js';
import { topLevelName, type Json } from './row-body.js';

export interface WriteRequest {
  engine: EngineInstance;
  connector: KeapConnector;
  table: TableSchema;
  target: WriteTarget;
  statement: ClientStatement;
  /** inside a transaction: the client's (keapgres.keap_writes = 'immediate'), or the one a batch of writes is decided in */
  inTransaction: boolean;
  /** make the staging objects while Keap answers (false: the caller has made them) */
  prestage: boolean;
  /** the table whose records hold this table's rows as a list (contacts for email slots, orders for items) */
  parent?: TableSchema;
  signal: AbortSignal;
  concurrency: number;
}

/** What Keap now holds that the cache and the engine must take: rows by COPY line, and deleted keys. */
export interface KeapChanges {
  lines: string[];
  deleted: string[];
}

export interface WriteResult {
  changes: KeapChanges;
  notices: ErrorFields[];
  /** the statement must fail with this: the changes are applied by the caller without running it */
  error?: SqlError;
  /** what the client's statement takes when it runs (src/writes/engine-rows.ts stageAndArm) */
  staged: StagedStatement;
  /** the staging objects made while Keap answered: an error when that failed (make them again) */
  staging: Promise<unknown>;
  calls: number;
  /** the engine's table ends up as the cache has it (false: Keap's answer changed rows the statement did not touch) */
  engineFollows: boolean;
  /** where the time went: running the statement to find its rows, the Keap calls */
  ms: { capture: number; calls: number };
  /** the parents' rows as Keap now has them (COPY lines of `parent`); undefined when they could not be had */
  parentLines?: string[];
}

export async function executeWrite(w: WriteRequest): Promise<WriteResult> {
  const { table, target } = w;
  const t0 = performance.now();
  const touched = await captureTouchedRows(w.engine, table, w.statement, w.inTransaction);
  const t1 = performance.now();
  const through = table.write![target.op]!.through !== undefined;
  const plan = through ? { calls: [], unchanged: [] } : planCalls(table, target.op, touched, target.upsert === true);
  // the engine is idle while Keap answers: what staging needs that does not depend on the answer is made meanwhile
  const staging = w.prestage ? prepareStaging(w.engine, [table]).then(() => undefined, (err: unknown) => err ?? new Error('staging failed')) : Promise.resolve(undefined);
  const run = through
    ? await runThroughParent(w.connector, table, target.op, touched, w.signal, w.parent ? fieldsQuery(w.parent) : [])
    : await runCalls(w.connector, plan.calls, touched.length, w.signal, w.concurrency);
  const t2 = performance.now();
  for (const i of plan.unchanged) run.outcomes[i] = { kind: 'unchanged' };
  // rows of a list in a parent: Keap's answer is the parent, whose every element is a row (siblings included)
  const siblingLines: string[] = [];

  const encoder = new CopyRowEncoder(table);
  const lines: string[] = [];
  const ordinals: number[] = [];
  const deleted: string[] = [];
  const gone: string[] = [];
  const unchangedKeys: string[] = [];
  let written = 0;
  let missing = 0;
  let skippedDuplicates = 0;
  const failures: string[] = [];
  let first: { sqlstate: string; message: string } | undefined;
  run.outcomes.forEach((o, i) => {
    const row = touched[i]!;
    switch (o.kind) {
      case 'written': {
        written++;
        if (target.op === 'delete') {
          deleted.push(keyOf(table, row.old!));
          return;
        }
        encoder.forgetKeys();
        if (through) {
          const all = encoder.encodeRecord(o.record).split('\n').filter((l) => l !== '');
          encoder.forgetKeys();
          siblingLines.push(...all);
          const key = keyOf(table, row.new!);
          const mine = all.find((l) => keyOfLine(table, l) === key);
          if (!mine) return;
          lines.push(mine);
          ordinals.push(i + 1);
          return;
        }
        const line = lineOf(table, encoder, row, o.record, o.date);
        lines.push(line);
        ordinals.push(i + 1);
        return;
      }
      case 'unchanged':
        written++;
        unchangedKeys.push(keyOf(table, row.old!));
        return;
      case 'missing':
        missing++;
        if (row.old) gone.push(keyOf(table, row.old));
        return;
      case 'duplicate':
        if (target.onConflictNothing) {
          skippedDuplicates++;
          return;
        }
        first ??= { sqlstate: '23505', message: o.message };
        failures.push(`${describe(table, row, i)}: ${o.message}`);
        return;
      case 'failed':
        first ??= { sqlstate: o.sqlstate, message: o.message };
        failures.push(`${describe(table, row, i)}: ${o.message}`);
        return;
      case 'uncertain':
        first ??= { sqlstate: '08007', message: `the outcome of the Keap call for ${describe(table, row, i)} is unknown: ${o.message}` };
        failures.push(`${describe(table, row, i)}: outcome unknown (${o.message}); the call was not sent again`);
        return;
      case 'not attempted':
        return;
    }
  });
  const notAttempted = run.outcomes.filter((o) => o.kind === 'not attempted').length;
  const parentLines = w.parent ? await parentsAfter(w, through, touched, run.outcomes) : undefined;
  const notices: ErrorFields[] = [];
  if (missing > 0) {
    notices.push({ severity: 'NOTICE', sqlstate: '02000', message: `${missing} row${missing === 1 ? ' was' : 's were'} no longer at Keap (404) and ${missing === 1 ? 'was' : 'were'} not written` });
  }
  if (skippedDuplicates > 0) notices.push({ severity: 'NOTICE', sqlstate: '00000', message: `${skippedDuplicates} row${skippedDuplicates === 1 ? ' was' : 's were'} already at Keap (ON CONFLICT DO NOTHING)` });
  const changes = { lines: through ? [...new Set(siblingLines)] : lines, deleted: [...deleted, ...gone] };
  const action = target.op.toUpperCase();
  const one = touched.length === 1;
  const summary = `${written} of ${touched.length} row${one ? ' was' : 's were'} written to Keap and stay${one ? 's' : ''} written`;
  let error: SqlError | undefined;
  if (first) {
    const state = first.sqlstate;
    error = new SqlError(state, state === '08007' ? first.message : `Keap refused the ${action} of a row of "${table.name}": ${first.message}`, {
      detail: `${summary}; failed: ${failures.slice(0, 5).join('; ')}${failures.length > 5 ? `; and ${failures.length - 5} more` : ''}${notAttempted ? `; ${notAttempted} not sent` : ''}.`,
      hint: state === '08007'
        ? `Check at Keap whether the row was created before running the ${action} again (a POST is never sent twice).`
        : 'The rows written stay written (Keap has no transactions); fix the failed rows and run the statement for them again.',
    });
  } else if (run.cancelled && notAttempted > 0) {
    error = new SqlError(SQLSTATE.queryCanceled, 'canceling statement due to user request', {
      detail: `${summary}; ${notAttempted} ${notAttempted === 1 ? 'was' : 'were'} not sent to Keap.`,
    });
  }
  return {
    changes, notices, error, calls: run.calls, engineFollows: !through, parentLines, ms: { capture: Math.round(t1 - t0), calls: Math.round(t2 - t1) },
    staging,
    staged: { table, op: target.op, lines, ordinals, unchangedKeys, deletedKeys: deleted, upsert: target.upsert === true },
  };
}

/** A v2 read's `fields` (v1's `optional_properties`) as the table's listing asks them. */
export function fieldsQuery(table: TableSchema): Array<[string, string]> {
  const fields = table.source.fields;
  return fields && fields.length ? [[table.source.version === 2 ? 'fields' : 'optional_properties', fields.join(',')]] : [];
}

/**
 * The parents of the rows a write changed, as Keap now has them, so the cache takes them instead of fetching the
 * parent's table again: a write through the parent is answered with the parent itself; an item written by its own
 * call changed its parent too (an order's totals), which is read back by id — one call per parent, no listing.
 */
async function parentsAfter(w: WriteRequest, through: boolean, touched: readonly TouchedRow[], outcomes: readonly RowOutcome[]): Promise<string[] | undefined> {
  const parent = w.parent!;
  const column = w.table.columns.find((c) => c.path === '$parent.id');
  if (!column) return undefined;
  const records: unknown[] = [];
  if (through) {
    for (const o of new Set(outcomes)) if (o.kind === 'written' && o.record && typeof o.record === 'object') records.push(o.record);
  } else {
    const ids = new Set<string>();
    outcomes.forEach((o, i) => {
      const row = touched[i]!.old ?? touched[i]!.new;
      if ((o.kind === 'written' || o.kind === 'missing') && row?.[column.name] != null) ids.add(String(row[column.name]));
    });
    try {
      for (const id of ids) {
        if (w.signal.aborted) return undefined;
        const res = await w.connector.send('GET', `${parent.source.path}/${encodeURIComponent(id)}`, fieldsQuery(parent), undefined, w.signal, true);
        if (res.status === 404) continue;
        if (res.status < 200 || res.status >= 300 || !res.body || typeof res.body !== 'object') return undefined;
        records.push(res.body);
      }
    } catch {
      return undefined; // the parent's table then catches up by its next synchronisation
    }
  }
  const encoder = new CopyRowEncoder(parent);
  return records.map((r) => encoder.encodeRecord(r).replace(/\n$/, '')).filter((l) => l !== '');
}

/** The COPY line of a row Keap wrote: its answer, with what the answer does not carry kept from the row. */
function lineOf(table: TableSchema, encoder: CopyRowEncoder, row: TouchedRow, record: unknown, date: number | undefined): string {
  const values = row.new ?? {};
  if (record === null || typeof record !== 'object' || table.source.perParent) {
    // no record came back (bulk tag calls): the row as written, its time the time Keap answered
    return table.columns.map((c) => {
      const v = values[c.name];
      if ((v === null || v === undefined) && c.type === 'timestamptz' && date !== undefined) return new Date(date).toISOString();
      return jsonToCopyField(v, c.type);
    }).join('\t');
  }
  // a row of a list inside a parent (an order's items), answered alone: read as the parent's only element
  const parentColumn = table.source.unnest ? table.columns.find((c) => c.path === '$parent.id') : undefined;
  if (parentColumn) record = { id: (row.new ?? row.old ?? {})[parentColumn.name], [table.source.unnest!]: [record] };
  const encoded = encoder.encodeRecord(record).replace(/\n$/, '');
  const fields = encoded === '' ? table.columns.map(() => '\\N') : encoded.split('\t');
  const fallback = row.old ?? values;
  table.columns.forEach((c, i) => {
    const top = topLevelName(c.path.split('|')[0]!);
    const element = parentColumn ? ((record as Json)[table.source.unnest!] as Json[])[0]! : (record as Json);
    if (element[top] === undefined && !c.path.startsWith('$parent')) fields[i] = jsonToCopyField(fallback[c.name], c.type);
  });
  return fields.join('\t');
}

function keyOf(table: TableSchema, row: Json): string {
  return table.primaryKey.map((k) => jsonToCopyField(row[k], table.columns.find((c) => c.name === k)!.type)).join('\t');
}

function keyOfLine(table: TableSchema, line: string): string {
  const fields = line.split('\t');
  return table.primaryKey.map((k) => fields[table.columns.findIndex((c) => c.name === k)] ?? '').join('\t');
}

function describe(table: TableSchema, row: TouchedRow, i: number): string {
  const v = row.old ?? row.new ?? {};
  const key = table.primaryKey.map((k) => `${k}=${v[k] === null || v[k] === undefined ? 'NULL' : String(v[k])}`).join(', ');
  return row.old ? `(${key})` : `row ${i + 1}${table.primaryKey.every((k) => v[k] !== null && v[k] !== undefined) ? ` (${key})` : ''}`;
}

export type { RowOutcome };

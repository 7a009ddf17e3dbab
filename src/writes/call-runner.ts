// Makes a write's Keap calls: several at once (the connector's pacer keeps them within Keap's rate limits), in
// order, stopping at the first failure or cancel — the calls already sent finish, so every row's outcome is known.
import { UncertainWrite, type KeapConnector, type WriteResponse } from '../keap/connector.js';
import { SqlError } from '../errors.js';
import type { KeapCall } from './keap-calls.js';
import { isDuplicateMessage, keapMessageOf, sqlstateOf, type RowOutcome } from './keap-errors.js';

export interface RunResult {
  outcomes: RowOutcome[];
  /** the statement was cancelled: calls not sent by then were not sent */
  cancelled: boolean;
  calls: number;
}

export async function runCalls(connector: KeapConnector, calls: readonly KeapCall[], rowCount: number, signal: AbortSignal, concurrency: number): Promise<RunResult> {
  const outcomes: RowOutcome[] = Array.from({ length: rowCount }, () => ({ kind: 'not attempted' }));
  // Calls in flight finish even when the statement is cancelled: their outcome must be known and reported.
  const inFlight = new AbortController();
  let next = 0;
  let stop = false;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (!stop && !signal.aborted && next < calls.length) {
      const call = calls[next++]!;
      sent++;
      let res: WriteResponse;
      try {
        res = await connector.send(call.method, call.path, call.query, call.body, inFlight.signal, call.idempotent);
      } catch (err) {
        stop = true;
        for (const r of call.rows) {
          outcomes[r] = err instanceof UncertainWrite
            ? { kind: 'uncertain', message: err.reason }
            : { kind: 'failed', status: 0, sqlstate: err instanceof SqlError ? err.sqlstate : '58000', message: err instanceof Error ? err.message : String(err) };
        }
        continue;
      }
      if (!record(call, res, outcomes)) stop = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, calls.length)) }, worker));
  return { outcomes, cancelled: signal.aborted, calls: sent };
}

/** Sets the outcomes of the call's rows; false when a row failed (no further call is started). */
function record(call: KeapCall, res: WriteResponse, outcomes: RowOutcome[]): boolean {
  if (res.status >= 200 && res.status < 300) {
    if (call.bulkValues) return bulkResults(call, res, outcomes);
    for (const r of call.rows) outcomes[r] = { kind: 'written', record: res.body, date: res.date };
    return true;
  }
  // a row that vanished is not written; a parent that is missing (POST /contacts/{id}/notes) is a foreign key violation
  if (res.status === 404 && !call.bulkValues && call.method !== 'POST') {
    for (const r of call.rows) outcomes[r] = { kind: 'missing' };
    return true;
  }
  const message = keapMessageOf(res.body, res.bodyText) || `HTTP ${res.status}`;
  const sqlstate = res.status === 404 ? '23503' : sqlstateOf(res.status, message);
  for (const r of call.rows) outcomes[r] = isDuplicateMessage(message) ? { kind: 'duplicate', message } : { kind: 'failed', status: res.status, sqlstate, message };
  return false;
}

/** applyTags answers per contact (SUCCESS, DUPLICATE, CONTACT_NOT_FOUND, …); removeTags with 204 for all. */
function bulkResults(call: KeapCall, res: WriteResponse, outcomes: RowOutcome[]): boolean {
  const results = (res.body as { results?: Record<string, string> } | undefined)?.results ?? (res.body as Record<string, string> | undefined);
  let ok = true;
  call.rows.forEach((r, k) => {
    const value = call.bulkValues![k]!;
    const result = res.status === 204 || !results ? 'SUCCESS' : (results[value] ?? 'SUCCESS');
    if (result === 'SUCCESS') outcomes[r] = { kind: 'written', record: undefined, date: res.date };
    else if (result === 'DUPLICATE') outcomes[r] = { kind: 'duplicate', message: `Keap answered DUPLICATE for ${value}: it is applied already` };
    else {
      ok = false;
      const sqlstate = /NOT_FOUND/.test(result) ? '23503' : result === 'NO_PERMISSION' ? '42501' : '58000';
      outcomes[r] = { kind: 'failed', status: res.status, sqlstate, message: `Keap answered ${result} for ${value}` };
    }
  });
  return ok;
}

// statement_timeout, idle_in_transaction_session_timeout, idle_session_timeout and transaction_timeout,
// enforced by the session. PostgreSQL arms them with SIGALRM; an engine runs its statements
// synchronously on one thread, where no timer can fire, so the session keeps the clock and cancels the
// statement (in place, see engine/interrupt.ts) or ends the connection as PostgreSQL would. The values
// are the engine's own settings, read after every batch that may change them.
import { WATCHED_SETTINGS } from '../engine/worker-protocol.js';

export interface SessionTimeouts {
  /** milliseconds; 0 = off */
  statement: number;
  idleInTransaction: number;
  idleSession: number;
  transaction: number;
}

export const NO_TIMEOUTS: SessionTimeouts = { statement: 0, idleInTransaction: 0, idleSession: 0, transaction: 0 };

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A time setting as PostgreSQL reads it (a number, milliseconds unless a unit follows); undefined if unreadable. */
export function parseTimeSetting(value: string): number | undefined {
  const m = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(us|ms|s|min|h|d)?\s*$/i.exec(value);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 'ms').toLowerCase()]!;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.round(ms);
}

/** The timeouts in settings read from the engine (current_setting text); missing ones keep `before`. */
export function timeoutsFrom(settings: Record<string, string | undefined>, before: SessionTimeouts = NO_TIMEOUTS): SessionTimeouts {
  const read = (name: (typeof WATCHED_SETTINGS)[number], old: number) => {
    const v = settings[name];
    return v === undefined ? old : (parseTimeSetting(v) ?? old);
  };
  return {
    statement: read('statement_timeout', before.statement),
    idleInTransaction: read('idle_in_transaction_session_timeout', before.idleInTransaction),
    idleSession: read('idle_session_timeout', before.idleSession),
    transaction: read('transaction_timeout', before.transaction),
  };
}

const SET_STATEMENT_TIMEOUT =
  /\b(?:set\s+(?:session\s+|local\s+)?statement_timeout\s*(?:=|\bto\b)\s*('(?:[^']|'')*'|[\w.+-]+)|reset\s+(statement_timeout|all)\b|set_config\s*\(\s*'statement_timeout'\s*,\s*'((?:[^']|'')*)')/gi;

/**
 * The statement timeout that holds for a batch: the session's, unless the batch itself sets it
 * (`SET statement_timeout = 500; SELECT …` in one Query, as psql -c sends it). The last setting in the
 * batch counts, from the batch's start: a batch of several statements is timed as a whole.
 */
export function batchStatementTimeout(sqls: readonly string[], current: number): number {
  let timeout = current;
  for (const sql of sqls) {
    if (!/statement_timeout|reset\s+all/i.test(sql)) continue;
    for (const m of sql.matchAll(SET_STATEMENT_TIMEOUT)) {
      if (m[2] !== undefined) timeout = 0; // RESET: back to the default, which keapgres leaves at 0
      else {
        const raw = m[1] ?? m[3] ?? '';
        const text = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : raw;
        timeout = /^default$/i.test(text) ? 0 : (parseTimeSetting(text) ?? timeout);
      }
    }
  }
  return timeout;
}

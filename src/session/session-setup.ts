// What every engine of a session runs first: the client's role and startup settings; and the
// ParameterStatus values PostgreSQL reports after authentication, read from the engine itself.
import type { EngineInstance } from '../engine/instance.js';
import { WATCHED_SETTINGS } from '../engine/worker-protocol.js';

/** The parameters PostgreSQL 18 reports to a client (GUC_REPORT), in the order it sends them. */
export const REPORTED_PARAMETERS = [
  'application_name', 'client_encoding', 'DateStyle', 'default_transaction_read_only', 'in_hot_standby',
  'integer_datetimes', 'IntervalStyle', 'is_superuser', 'scram_iterations', 'search_path', 'server_encoding',
  'server_version', 'session_authorization', 'standard_conforming_strings', 'TimeZone',
] as const;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The engine runs as the role the client logged in as (so current_user, session_authorization and
 * \du show it), with the startup packet's settings applied as PostgreSQL applies them.
 */
export function engineSetupSql(user: string, settings: ReadonlyArray<readonly [string, string]>): string {
  const parts = [`SET SESSION AUTHORIZATION ${quoteIdent(user)}`];
  for (const [name, value] of settings) {
    parts.push(`SELECT pg_catalog.set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, false)`);
  }
  return parts.join(';\n') + ';';
}

const REPORTED_SELECT = `SELECT ${[...REPORTED_PARAMETERS, ...WATCHED_SETTINGS].map((p) => `pg_catalog.current_setting(${quoteLiteral(p)}, true) AS ${quoteIdent(p)}`).join(', ')}`;

export interface SessionSettings {
  /** the ParameterStatus values */
  reported: Array<[string, string]>;
  /** WATCHED_SETTINGS as they are (the timeouts the session enforces) */
  watched: Record<string, string>;
}

/**
 * Sets the engine up for the client (role, startup settings) and reads the parameters to report, in
 * one round trip to the engine; the role is created the first time a user name is seen.
 */
export async function setUpSession(engine: EngineInstance, user: string, settings: ReadonlyArray<readonly [string, string]>): Promise<SessionSettings> {
  const sql = `${engineSetupSql(user, settings)}\n${REPORTED_SELECT}`;
  try {
    return reportedFrom((await engine.query(sql)).rows);
  } catch (err) {
    const { rows } = await engine.query(`SELECT 1 AS x FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(user)}`);
    if (rows.length > 0) throw err; // the role exists: a startup setting was refused
    await engine.query(`CREATE ROLE ${quoteIdent(user)} SUPERUSER LOGIN`);
    return reportedFrom((await engine.query(sql)).rows);
  }
}

export async function readReportedParameters(engine: EngineInstance): Promise<SessionSettings> {
  return reportedFrom((await engine.query(REPORTED_SELECT)).rows);
}

function reportedFrom(rows: Record<string, unknown>[]): SessionSettings {
  const row = rows[0] ?? {};
  const reported: Array<[string, string]> = [];
  for (const p of REPORTED_PARAMETERS) {
    const v = row[p];
    if (typeof v === 'string') reported.push([p, v]);
  }
  const watched: Record<string, string> = {};
  for (const p of WATCHED_SETTINGS) {
    const v = row[p];
    if (typeof v === 'string') watched[p] = v;
  }
  return { reported, watched };
}

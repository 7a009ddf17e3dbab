// What the planner needs to know about the session it plans for.
import type { Catalog } from '../schema/types.js';

export interface PlannerContext {
  catalog: Catalog;
  /** the session's search_path as a list, e.g. ['"$user"', 'public'] (quotes allowed) */
  searchPath: readonly string[];
  /** SQL-level prepared statements: name → the full `PREPARE name … AS …` text (see sessionDefinitions) */
  preparedStatements?: ReadonlyMap<string, string>;
  /**
   * Views (and materialized views) the user created in this session: lower-case name, bare ("v") or
   * qualified ("crm.v") → the full `CREATE VIEW …` / `CREATE MATERIALIZED VIEW …` text (see sessionDefinitions).
   * Querying a view needs the rows of the Keap tables it reads.
   */
  views?: ReadonlyMap<string, string>;
  /**
   * Functions and procedures the user created in this session: lower-case name (without schema) → the full
   * `CREATE FUNCTION …` text (see sessionDefinitions). A statement calling one loads every Keap table its
   * definition mentions, in full, and is refused if the definition writes to one.
   */
  functions?: ReadonlyMap<string, string>;
  /**
   * Temporary relations known to exist in the session (lower-case names). An unqualified Keap table name
   * that a temporary table shadows is not a Keap table. Report only relations that certainly exist
   * (e.g. read from the engine): a wrongly reported one would leave a Keap table unloaded.
   */
  tempRelations?: ReadonlySet<string>;
  /** the session's TimeZone setting; literal timestamps without an offset are read in it. Unknown → widened bounds. */
  timeZone?: string;
}

/** The schema the engine creates every Keap table in. */
export const KEAP_SCHEMA = 'public';

/** `'"$user", public'`-style entries → plain schema names ('$user' kept as is). */
export function normaliseSearchPath(entries: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    for (const part of splitSearchPathText(entry)) out.push(part);
  }
  return out;
}

/** Splits one search_path text on commas outside double quotes; unquoted names fold to lower case. */
function splitSearchPathText(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let wasQuoted = false;
  const flush = (): void => {
    const name = wasQuoted ? current : current.trim().toLowerCase();
    if (name !== '') out.push(name);
    current = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') {
      quoted = true;
      wasQuoted = true;
      current = '';
    } else if (ch === ',') flush();
    else if (!wasQuoted) current += ch;
  }
  flush();
  return out;
}

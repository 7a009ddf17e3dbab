// Keap tables are read-only for now: a statement that would change one (its rows or its definition) is
// refused with 0A000 before it reaches the engine. Scratch tables the user creates stay writable.
import { SQLSTATE } from '../errors.js';
import type { BatchPlan } from './types.js';

export type Rejection = NonNullable<BatchPlan['rejection']>;

export function readOnlyRejection(table: string, action: string): Rejection {
  return {
    sqlstate: SQLSTATE.featureNotSupported,
    message: `Keap table "${table}" is read-only`,
    detail: `Keap takes no ${action} of this table through keapgres (its schema declares no such write); ${action} was refused.`,
    hint: `Copy the rows into a table of your own and change that, e.g. CREATE TEMP TABLE my_${table} AS SELECT * FROM ${table}.`,
  };
}

/** Statement tags that change a relation's definition or metadata, by the node field naming the relation. */
export const DEFINITION_CHANGES: Record<string, { field: string; action: string }> = {
  AlterTableStmt: { field: 'relation', action: 'ALTER TABLE' },
  RenameStmt: { field: 'relation', action: 'ALTER TABLE … RENAME' },
  AlterObjectSchemaStmt: { field: 'relation', action: 'ALTER TABLE … SET SCHEMA' },
  IndexStmt: { field: 'relation', action: 'CREATE INDEX' },
  CreateTrigStmt: { field: 'relation', action: 'CREATE TRIGGER' },
  RuleStmt: { field: 'relation', action: 'CREATE RULE' },
  CreatePolicyStmt: { field: 'table', action: 'CREATE POLICY' },
  AlterPolicyStmt: { field: 'table', action: 'ALTER POLICY' },
};

/** DROP / COMMENT ON object types that name a relation by a qualified-name list. */
export const RELATION_OBJECT_TYPES = new Set(['OBJECT_TABLE', 'OBJECT_FOREIGN_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW']);

/** Words in a procedural body (DO, functions) that write to the table named right after them. */
export function bodyWrites(body: string, tableNames: Iterable<string>): string | undefined {
  for (const name of tableNames) {
    const quoted = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = new RegExp(
      `\\b(insert\\s+into|update|delete\\s+from|truncate(?:\\s+table)?|alter\\s+table|drop\\s+table(?:\\s+if\\s+exists)?|merge\\s+into)\\s+(?:only\\s+)?(?:"?public"?\\s*\\.\\s*)?"?${quoted}"?(?![\\w$])`,
      'i',
    );
    if (re.test(body)) return name;
  }
  return undefined;
}

/** Keap table names a procedural body mentions as a word (it may read them). */
export function bodyMentions(body: string, tableNames: Iterable<string>): string[] {
  const out: string[] = [];
  for (const name of tableNames) {
    const quoted = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (new RegExp(`(?<![\\w$])${quoted}(?![\\w$])`, 'i').test(body)) out.push(name);
  }
  return out;
}

/** A write keapgres could make but not as asked (a read-only column, an upsert Keap cannot do). */
export function writeRejection(table: string, message: string, detail: string): Rejection {
  return { sqlstate: SQLSTATE.featureNotSupported, message, detail, hint: `\d+ ${table} describes the table; its schema file's write: block lists what can be written.` };
}

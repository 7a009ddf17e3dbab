// The text of a keapgres export: a psql script in the shape pg_dump writes (settings, tables with keys
// and comments, then each table's rows as a `COPY … FROM stdin` block or as INSERTs, then foreign keys).
import { qualifiedName, quoteIdent, quoteLiteral, tableDdl } from '../schema/ddl.js';
import { copyStatement } from '../schema/rows.js';
import type { TableSchema } from '../schema/types.js';
import { catalogOf } from '../schema/load.js';
import { modelViewsDdl } from '../schema/model-views.js';

export type ExportFormat = 'copy' | 'inserts';

/** A table's name in the export's schema (`public."t"`, as the engine names it, or `"schema"."t"`). */
export function tableIn(schema: string, table: TableSchema | string): string {
  return schema === 'public' ? qualifiedName(table) : `${quoteIdent(schema)}.${quoteIdent(typeof table === 'string' ? table : table.name)}`;
}

/**
 * The engine's DDL moved to another schema. Only the `public.` that begins a statement is replaced,
 * never text inside a comment's literal.
 */
function inSchema(sql: string, schema: string): string {
  if (schema === 'public') return sql;
  return sql.replace(/^(CREATE TABLE|COMMENT ON TABLE|COMMENT ON COLUMN|COPY) public\./gm, (_m, head: string) => `${head} ${quoteIdent(schema)}.`);
}

/** Settings and the opening of the transaction: a failed load leaves nothing behind. */
export function dumpPreamble(database: string, tables: readonly TableSchema[], schema = 'public'): string {
  return [
    '--',
    `-- keapgres export of database "${database.replace(/[\r\n]/g, ' ')}": ${tables.length} Keap table${tables.length === 1 ? '' : 's'}`,
    '-- Load it with: psql -v ON_ERROR_STOP=1 -f FILE (one transaction: all of it or nothing)',
    '--',
    '',
    "SET client_encoding = 'UTF8';",
    'SET standard_conforming_strings = on;',
    'SET check_function_bodies = false;',
    'SET client_min_messages = warning;',
    '',
    'BEGIN;',
    '',
    ...(schema === 'public' ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};`, '']),
    '',
  ].join('\n');
}

/** CREATE TABLE with primary keys and comments, for every table (DROP … CASCADE first when clean). */
export function createTablesSql(tables: readonly TableSchema[], clean: boolean, schema = 'public'): string {
  const parts: string[] = [];
  if (clean) parts.push(tables.map((t) => `DROP TABLE IF EXISTS ${tableIn(schema, t)} CASCADE;`).join('\n'));
  for (const t of tables) parts.push(inSchema(tableDdl(t), schema));
  // the *_model views over custom_fields, as the engine has them (when custom_fields is exported)
  const views = modelViewsDdl(catalogOf(tables), (relation) => tableIn(schema, relation));
  if (views) parts.push(views);
  return parts.join('\n\n') + '\n\n';
}

/** `-- Data for table "x"` and, for the copy format, the COPY line psql reads rows after. */
export function dataHeader(table: TableSchema, format: ExportFormat, schema = 'public'): string {
  const head = `--\n-- Data for table ${quoteIdent(table.name)}\n--\n\n`;
  return format === 'copy' ? `${head}${inSchema(copyStatement(table, 'stdin'), schema)};\n` : head;
}

/** What ends a table's rows: the `\.` line of a COPY block. */
export function dataFooter(format: ExportFormat): string {
  return format === 'copy' ? '\\.\n\n' : '\n';
}

/**
 * COPY text lines (as CopyRowEncoder writes them) as INSERT statements, one per row. Every value is a
 * quoted literal the column's type reads, exactly as COPY would have read the field.
 */
export function copyTextToInserts(table: TableSchema, copyText: string, schema = 'public'): string {
  const head = `INSERT INTO ${tableIn(schema, table)} (${table.columns.map((c) => quoteIdent(c.name)).join(', ')}) VALUES (`;
  let out = '';
  let start = 0;
  while (start < copyText.length) {
    let end = copyText.indexOf('\n', start);
    if (end < 0) end = copyText.length;
    const fields = copyText.slice(start, end).split('\t');
    out += head + fields.map(copyFieldToLiteral).join(', ') + ');\n';
    start = end + 1;
  }
  return out;
}

/** One COPY text field → an SQL literal (`\N` is NULL; the escapes CopyRowEncoder writes are undone). */
export function copyFieldToLiteral(field: string): string {
  if (field === '\\N') return 'NULL';
  if (!field.includes('\\')) return quoteLiteral(field);
  let value = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!;
    if (c !== '\\' || i + 1 === field.length) {
      value += c;
      continue;
    }
    const next = field[++i]!;
    value += next === 'n' ? '\n' : next === 'r' ? '\r' : next === 't' ? '\t' : next;
  }
  return quoteLiteral(value);
}

/** A comment in the script saying why a table is empty or incomplete (one line, no secrets in it). */
export function dumpComment(text: string): string {
  return `-- keapgres: ${text.replace(/[\r\n]+/g, ' ')}\n`;
}

/**
 * Foreign keys between exported tables, added after the rows. PostgreSQL 18 takes them NOT ENFORCED, as
 * keapgres declares them (Keap rows may point at records that are gone). Older servers have no NOT
 * ENFORCED: there they are added NOT VALID, so existing rows are not checked while tools still see
 * the relation in pg_constraint (later writes to those tables are checked).
 */
export function foreignKeysSql(tables: readonly TableSchema[], schema = 'public'): string {
  const exported = new Set(tables.map((t) => t.name));
  const statements: string[] = [];
  for (const table of tables) {
    for (const fk of table.foreignKeys) {
      if (!exported.has(fk.references.table)) continue;
      const name = `${table.name}_${fk.columns.join('_')}_fkey`;
      statements.push(
        `ALTER TABLE ${tableIn(schema, table)} ADD CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (${fk.columns.map(quoteIdent).join(', ')}) ` +
          `REFERENCES ${tableIn(schema, fk.references.table)} (${fk.references.columns.map(quoteIdent).join(', ')})`,
      );
    }
  }
  if (statements.length === 0) return '';
  const list = statements.map((s) => `    ${quoteLiteral(s)}`).join(',\n');
  return [
    '--',
    '-- Foreign keys (NOT ENFORCED on PostgreSQL 18 and later, NOT VALID before)',
    '--',
    '',
    'DO $keapgres$',
    'DECLARE',
    '  fk text;',
    "  mode text := CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 180000 THEN ' NOT ENFORCED' ELSE ' NOT VALID' END;",
    'BEGIN',
    '  FOREACH fk IN ARRAY ARRAY[',
    list,
    '  ] LOOP',
    '    EXECUTE fk || mode;',
    '  END LOOP;',
    'END',
    '$keapgres$;',
    '',
    '',
  ].join('\n');
}

export const DUMP_END = 'COMMIT;\n';

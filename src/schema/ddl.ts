// The catalog as PostgreSQL DDL: tables, keys and descriptions exist before any row is fetched, so
// psql \d, pgjdbc getImportedKeys, DBeaver, Metabase and SQLAlchemy see every Keap table at once.
import type { Catalog, ColumnSchema, TableSchema } from './types.js';
import { modelViewsDdl } from './model-views.js';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function qualifiedName(table: TableSchema | string): string {
  return `public.${quoteIdent(typeof table === 'string' ? table : table.name)}`;
}

/** CREATE TABLE with NOT NULL and PRIMARY KEY, and COMMENT ON the table and each column. */
export function tableDdl(table: TableSchema): string {
  const pk = new Set(table.primaryKey);
  const lines = table.columns.map((c) => `  ${quoteIdent(c.name)} ${c.type}${c.notNull || pk.has(c.name) ? ' NOT NULL' : ''}`);
  lines.push(`  CONSTRAINT ${quoteIdent(`${table.name}_pkey`)} PRIMARY KEY (${table.primaryKey.map(quoteIdent).join(', ')})`);
  const out = [`CREATE TABLE ${qualifiedName(table)} (\n${lines.join(',\n')}\n);`];
  out.push(`COMMENT ON TABLE ${qualifiedName(table)} IS ${quoteLiteral(table.description)};`);
  for (const c of table.columns) {
    out.push(`COMMENT ON COLUMN ${qualifiedName(table)}.${quoteIdent(c.name)} IS ${quoteLiteral(c.description)};`);
  }
  return out.join('\n');
}

/**
 * Foreign keys are declared NOT ENFORCED (PostgreSQL 18): tools read them from pg_constraint and
 * information_schema to offer joins, while the loader may COPY tables in any order and rows may point
 * at records that were never fetched (or were deleted in Keap).
 */
export function foreignKeyDdl(table: TableSchema): string {
  return table.foreignKeys
    .map((fk) => {
      const name = `${table.name}_${fk.columns.join('_')}_fkey`;
      return (
        `ALTER TABLE ${qualifiedName(table)} ADD CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (${fk.columns.map(quoteIdent).join(', ')}) ` +
        `REFERENCES ${qualifiedName(fk.references.table)} (${fk.references.columns.map(quoteIdent).join(', ')}) NOT ENFORCED;`
      );
    })
    .join('\n');
}

/** The whole catalog: every table first, then every foreign key (targets must exist), then the model views. */
export function catalogDdl(catalog: Catalog): string {
  const tables = [...catalog.tables.values()];
  const parts = tables.map(tableDdl);
  for (const t of tables) {
    const fks = foreignKeyDdl(t);
    if (fks) parts.push(fks);
  }
  const views = modelViewsDdl(catalog);
  if (views) parts.push(views);
  return parts.join('\n\n') + '\n';
}

/** ALTER TABLE … ADD COLUMN with comments: custom field columns added to a table that already exists. */
export function addColumnsDdl(table: TableSchema | string, columns: readonly ColumnSchema[]): string {
  const name = qualifiedName(table);
  return columns
    .map(
      (c) =>
        `ALTER TABLE ${name} ADD COLUMN ${quoteIdent(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''};\n` +
        `COMMENT ON COLUMN ${name}.${quoteIdent(c.name)} IS ${quoteLiteral(c.description)};`,
    )
    .join('\n');
}

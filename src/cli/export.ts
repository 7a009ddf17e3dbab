// `keapgres export`: a connection's Keap tables (DDL with keys and comments, then the rows) as a psql
// script that loads into any PostgreSQL — a snapshot of a Keap account in one's own database.
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { closestName } from '../config/closest-name.js';
import { SqlError } from '../errors.js';
import { exportTables, type TableExportReport } from '../export/export-tables.js';
import { openExportSource } from '../export/keap-source.js';
import type { ExportFormat } from '../export/sql-dump.js';
import { createLogger } from '../log/logger.js';
import { errorText } from './error-text.js';
import type { TableSchema } from '../schema/types.js';
import type { Logger } from 'pino';

export const EXPORT_USAGE = `usage: keapgres export [--connection STRING | --config FILE [--database NAME]] [options]
  --connection STRING   a Keap connection string
  --config FILE         the server configuration file (default $KEAPGRES_CONFIG)
  --database NAME       which database of the configuration (default keap)
  --tables a,b,…        only these tables (default: all)
  --format copy|inserts rows as COPY … FROM stdin blocks (default, as pg_dump writes) or INSERTs
  --output FILE         write here (default: standard output)
  --schema NAME         create the tables in this schema (default public); keeps them apart from
                        tables of the same names (users, orders, tasks, files, …) in your database
  --clean               DROP TABLE IF EXISTS … CASCADE before each CREATE TABLE
  --quiet               no per-table summary on standard error
With no connection configured, the built-in sandbox Keap account is exported.
Load the result with: psql -v ON_ERROR_STOP=1 -d yourdb -f FILE
`;

export interface ExportCommandIo {
  stdout: Writable;
  stderr: Writable;
}

export interface ExportCommandOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  signal?: AbortSignal;
}

interface ExportArgs {
  connection?: string;
  configFile?: string;
  database?: string;
  tables?: string[];
  format: ExportFormat;
  output?: string;
  schema: string;
  clean: boolean;
  quiet: boolean;
}

const VALUE_OPTIONS = ['--connection', '--config', '--database', '--tables', '--format', '--output', '--schema'];
const FLAG_OPTIONS = ['--clean', '--quiet'];

export async function runExportCommand(args: string[], io: ExportCommandIo = process, options: ExportCommandOptions = {}): Promise<number> {
  let parsed: ExportArgs;
  try {
    const p = parseExportArgs(args);
    if (p === 'help') {
      io.stdout.write(EXPORT_USAGE);
      return 0;
    }
    parsed = p;
  } catch (err) {
    io.stderr.write(`keapgres export: ${(err as Error).message}\n${EXPORT_USAGE}`);
    return 2;
  }
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ level: env.KEAPGRES_LOG_LEVEL ?? 'warn' });
  const controller = new AbortController();
  const onAbort = () => controller.abort(new SqlError('57014', 'export cancelled'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  process.once('SIGINT', onAbort);
  let source: Awaited<ReturnType<typeof openExportSource>> | undefined;
  // A file is written beside its final name and renamed at the end: a failed export never leaves a
  // half script where a complete one was expected.
  const partial = parsed.output !== undefined ? `${parsed.output}.partial` : undefined;
  try {
    source = await openExportSource({ connection: parsed.connection, configFile: parsed.configFile, database: parsed.database, env, logger });
    const tables = chooseTables([...source.catalog.tables.values()], parsed.tables);
    const out = partial !== undefined ? createWriteStream(partial, { mode: 0o600 }) : io.stdout;
    if (partial !== undefined) await once(out, 'open');
    const reports = await exportTables(source, out, {
      tables, format: parsed.format, clean: parsed.clean, schema: parsed.schema, signal: controller.signal,
      onTable: (r) => { if (!parsed.quiet || r.error !== undefined) io.stderr.write(reportLine(r)); },
    });
    if (partial !== undefined) {
      out.end();
      await once(out, 'finish');
      renameSync(partial, parsed.output!);
    }
    const failed = reports.filter((r) => r.error !== undefined);
    if (!parsed.quiet) {
      const rows = reports.reduce((n, r) => n + r.rows, 0);
      io.stderr.write(`keapgres export: ${reports.length - failed.length} of ${reports.length} tables, ${rows} rows${parsed.output ? ` → ${parsed.output}` : ''}\n`);
    }
    return failed.length > 0 ? 1 : 0;
  } catch (err) {
    if (partial !== undefined) rmSync(partial, { force: true });
    io.stderr.write(errorText('keapgres export', err));
    return 1;
  } finally {
    process.off('SIGINT', onAbort);
    options.signal?.removeEventListener('abort', onAbort);
    await source?.close();
  }
}

function parseExportArgs(args: string[]): ExportArgs | 'help' {
  const out: ExportArgs = { format: 'copy', schema: 'public', clean: false, quiet: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-h' || a === '--help') return 'help';
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (FLAG_OPTIONS.includes(name) && eq < 0) {
      if (name === '--clean') out.clean = true;
      else out.quiet = true;
      continue;
    }
    if (!VALUE_OPTIONS.includes(name)) {
      const known = [...VALUE_OPTIONS, ...FLAG_OPTIONS];
      throw new Error(`unknown option "${name.slice(0, 64)}"${name.startsWith('--') ? ` (did you mean ${closestName(name, known)}?)` : ''}`);
    }
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else if (i + 1 < args.length) value = args[++i]!;
    else throw new Error(`${name} needs a value`);
    switch (name) {
      case '--connection': out.connection = value; break;
      case '--config': out.configFile = value; break;
      case '--database': out.database = value; break;
      case '--output': out.output = value; break;
      case '--schema':
        // PostgreSQL truncates longer identifiers silently; refuse instead of loading somewhere unexpected
        if (value === '' || Buffer.byteLength(value) > 63 || value.includes('\0')) throw new Error('--schema needs a name of 1 to 63 bytes');
        out.schema = value;
        break;
      case '--tables':
        out.tables = value.split(',').map((s) => s.trim()).filter(Boolean);
        if (out.tables.length === 0) throw new Error('--tables needs at least one table name');
        break;
      case '--format':
        if (value !== 'copy' && value !== 'inserts') throw new Error(`--format must be copy or inserts, not "${value.slice(0, 32)}"`);
        out.format = value;
        break;
    }
  }
  if (out.connection !== undefined && (out.configFile !== undefined || out.database !== undefined)) {
    throw new Error('give either --connection or --config/--database, not both');
  }
  return out;
}

/** The chosen tables in catalog order; an unknown name is an error naming the closest table. */
function chooseTables(all: TableSchema[], names: string[] | undefined): TableSchema[] {
  if (names === undefined) return all;
  const known = all.map((t) => t.name);
  for (const n of names) {
    if (!known.includes(n)) {
      throw new SqlError('42P01', `table "${n.slice(0, 64)}" is not a Keap table of this connection`, {
        detail: `Perhaps you meant "${closestName(n.slice(0, 64), known)}".`,
        hint: `Tables: ${known.join(', ')}.`,
      });
    }
  }
  const wanted = new Set(names);
  return all.filter((t) => wanted.has(t.name));
}

function reportLine(r: TableExportReport): string {
  if (r.error !== undefined) return `keapgres export: ${r.table}: FAILED, left empty: ${r.error}\n`;
  const notes: string[] = [];
  if (r.truncated) notes.push('cut at MaxRows');
  if (r.skippedDuplicateKey > 0) notes.push(`${r.skippedDuplicateKey} duplicate keys skipped`);
  if (r.skippedNullKey > 0) notes.push(`${r.skippedNullKey} rows without a key skipped`);
  return `keapgres export: ${r.table}: ${r.rows} rows in ${(r.ms / 1000).toFixed(1)} s${notes.length ? ` (${notes.join(', ')})` : ''}\n`;
}

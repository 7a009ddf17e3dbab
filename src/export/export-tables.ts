// Streams an export: DDL for the chosen tables, then each table's rows page by page as the connector
// fetches them (so a million contacts never sit in memory at once), then the foreign keys.
import type { Writable } from 'node:stream';
import { SqlError } from '../errors.js';
import { scrubSecrets } from '../log/logger.js';
import { CopyRowEncoder } from '../schema/rows.js';
import type { TableSchema } from '../schema/types.js';
import type { KeapExportSource } from './keap-source.js';
import {
  copyTextToInserts, createTablesSql, dataFooter, dataHeader, dumpComment, dumpPreamble, DUMP_END, foreignKeysSql, tableIn,
  type ExportFormat,
} from './sql-dump.js';

export interface ExportOptions {
  tables: readonly TableSchema[];
  format: ExportFormat;
  /** DROP TABLE IF EXISTS … CASCADE before each CREATE TABLE */
  clean: boolean;
  /** the schema the tables are created in; default public, as keapgres serves them */
  schema?: string;
  signal: AbortSignal;
  /** after each table (progress, warnings) */
  onTable?: (report: TableExportReport) => void;
}

export interface TableExportReport {
  table: string;
  rows: number;
  skippedDuplicateKey: number;
  skippedNullKey: number;
  /** MaxRows cut the table short */
  truncated: boolean;
  ms: number;
  /** the table could not be fetched; it is left empty in the export */
  error?: string;
}

/** Bytes of rows gathered before a write: big enough for few writes, small enough to stream. */
const WRITE_CHUNK = 1 << 20;

/** Writing the export failed (disk full, closed pipe): the export stops, unlike when one table cannot be read. */
export class ExportOutputError extends Error {
  constructor(reason: string) {
    super(`cannot write the export: ${reason}`);
    this.name = 'ExportOutputError';
  }
}

/** Writes with backpressure; rejects with ExportOutputError when the stream fails or closes meanwhile. */
function writerTo(out: Writable): (text: string) => Promise<void> {
  return async (text) => {
    if (text === '') return;
    if (out.destroyed || out.writableEnded) throw new ExportOutputError(out.errored?.message ?? 'the output was closed');
    if (out.write(text)) return;
    await new Promise<void>((resolve, reject) => {
      const settle = (err?: Error): void => {
        out.off('drain', onDrain);
        out.off('error', onError);
        out.off('close', onClose);
        if (err) reject(new ExportOutputError(err.message));
        else resolve();
      };
      const onDrain = (): void => settle();
      const onError = (err: Error): void => settle(err);
      const onClose = (): void => settle(out.errored ?? new Error('the output was closed'));
      out.on('drain', onDrain);
      out.on('error', onError);
      out.on('close', onClose);
    });
  };
}

export async function exportTables(source: KeapExportSource, out: Writable, o: ExportOptions): Promise<TableExportReport[]> {
  const write = writerTo(out);
  // A stream error between two writes would otherwise be an uncaught 'error' event; the next write
  // sees the stream destroyed and stops the export with the reason.
  const noted = (): void => undefined;
  out.on('error', noted);
  try {
    const schema = o.schema ?? 'public';
    await write(dumpPreamble(source.name, o.tables, schema));
    await write(createTablesSql(o.tables, o.clean, schema));
    const reports: TableExportReport[] = [];
    for (const table of o.tables) {
      const report = await exportRows(source, table, o, write);
      reports.push(report);
      o.onTable?.(report);
    }
    await write(foreignKeysSql(o.tables, schema));
    await write(DUMP_END);
    return reports;
  } finally {
    out.off('error', noted);
  }
}

async function exportRows(source: KeapExportSource, table: TableSchema, o: ExportOptions, write: (text: string) => Promise<void>): Promise<TableExportReport> {
  const started = performance.now();
  const schema = o.schema ?? 'public';
  const encoder = new CopyRowEncoder(table);
  const fetch = source.connector.fetch(table, { table: table.name, conditions: [] }, o.signal);
  let pending = '';
  const flush = async (): Promise<void> => {
    const text = pending;
    pending = '';
    await write(o.format === 'copy' ? text : copyTextToInserts(table, text, schema));
  };
  let error: string | undefined;
  await write(dataHeader(table, o.format, schema));
  try {
    for await (const records of fetch.records) {
      pending += encoder.encode(records);
      if (pending.length >= WRITE_CHUNK) await flush();
    }
    await flush();
  } catch (err) {
    if (o.signal.aborted || err instanceof ExportOutputError) throw err;
    pending = '';
    error = describeError(err);
  }
  await write(dataFooter(o.format));
  if (error !== undefined) {
    // Rows already written are dropped again: a table is exported whole or left empty, never half.
    await write(dumpComment(`table ${table.name} could not be read from Keap and is left empty: ${error}`) + `TRUNCATE ${tableIn(schema, table)};\n\n`);
  }
  const truncated = error === undefined && fetch.truncated();
  if (truncated) await write(dumpComment(`table ${table.name} was cut at MaxRows=${source.maxRows} rows`) + '\n');
  return {
    table: table.name,
    rows: error === undefined ? encoder.rowCount : 0,
    skippedDuplicateKey: encoder.skippedDuplicateKey,
    skippedNullKey: encoder.skippedNullKey,
    truncated,
    ms: Math.round(performance.now() - started),
    error,
  };
}

function describeError(err: unknown): string {
  if (err instanceof SqlError) return scrubSecrets(`${err.message}${err.detail ? ` (${err.detail})` : ''}`);
  return scrubSecrets(err instanceof Error ? err.message : String(err));
}

// Reads test/corpus/*.sql (format in test/corpus/README.md) into what to send: connections, and per
// connection the statements in capture order, each with the frontend messages its `-- protocol:` line gives.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrontendStep } from './raw-client.js';

export interface CorpusEntry {
  file: string;
  /** 1-based line of the entry's `-- purpose:` line */
  line: number;
  purpose: string;
  /** the statement text; undefined when the capture re-used an already parsed statement or portal */
  sql?: string;
  protocolLine: string;
  /** steps with `parse.sql` empty where the entry's SQL goes */
  steps: FrontendStep[];
}

export interface CorpusConnection {
  file: string;
  /** StartupMessage parameters of the capture (user and database are replaced by the replay) */
  startup: Record<string, string>;
  entries: CorpusEntry[];
}

/** Bind values for the few entries whose protocol line names the parameters but not the values bound. */
const VAGUE_PARAMETERS: Array<[RegExp, string[]]> = [
  [/\$1 = oid|paramtypes=\[oid\]/, ['1043']],
  [/\$1 = type name \(varchar\)/, ['int4']],
  [/\$1 = type name, \$2 = schema, \$3 = bool/, ['int4', 'pg_catalog', 'true']],
  [/\$1 = array type oid/, ['1007']],
  [/\$1 = schema, \$2 = table/, ['public', 'orders']],
  [/\$1 = schema name/, ['public']],
];

function parseValueList(list: string): Array<Buffer | null> {
  const out: Array<Buffer | null> = [];
  for (const m of list.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|None|NULL|0x([0-9a-fA-F]*)/g)) {
    if (m[3] !== undefined) out.push(Buffer.from(m[3], 'hex'));
    else if (m[1] !== undefined || m[2] !== undefined) out.push(Buffer.from(unescapePython(m[1] ?? m[2]!), 'utf8'));
    else out.push(null);
  }
  return out;
}

function unescapePython(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

function numbers(list: string | undefined): number[] {
  return (list ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
}

/** the frontend messages of one `-- protocol:` line */
export function parseProtocolLine(line: string, sql: string | undefined): FrontendStep[] {
  const text = line.replace(/^--\s*protocol:\s*/, '');
  if (/^simple/i.test(text) || /Query\[simple\]/.test(text)) return [{ kind: 'query', sql: sql ?? '' }];
  const vague = /pgx/.test(text) || /paramtypes=\[[a-z]/.test(text) || (!/Parse\(stmt=|Bind\(portal=/.test(text) && !/^(Close|Describe|Execute)\(/.test(text));
  if (sql !== undefined && vague) return vagueSteps(text, sql);
  const steps: FrontendStep[] = [];
  const re = /(Parse|Bind|Describe|Execute|Close)\(((?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^)'"])*)\)|\bSync\b/g;
  for (const m of text.matchAll(re)) {
    const args = m[2] ?? '';
    const str = (key: string) => new RegExp(`${key}='((?:[^'\\\\]|\\\\.)*)'`).exec(args)?.[1] ?? '';
    const list = (key: string) => new RegExp(`${key}=\\[((?:'(?:[^'\\\\]|\\\\.)*'|"(?:[^"\\\\]|\\\\.)*"|[^\\]'"])*)\\]`).exec(args)?.[1];
    switch (m[1]) {
      case 'Parse':
        steps.push({ kind: 'parse', name: str('stmt'), sql: sql ?? '', types: numbers(list('paramtypes')) });
        break;
      case 'Bind':
        steps.push({
          kind: 'bind',
          portal: str('portal'),
          statement: str('stmt'),
          paramFormats: numbers(list('paramformats')),
          params: parseValueList(list('params') ?? ''),
          resultFormats: numbers(list('resultformats')),
        });
        break;
      case 'Describe':
      case 'Close': {
        const target = /^\s*statement/.test(args) ? 'S' : 'P';
        const name = /'((?:[^'\\]|\\.)*)'/.exec(args)?.[1] ?? '';
        steps.push({ kind: m[1] === 'Describe' ? 'describe' : 'close', target, name });
        break;
      }
      case 'Execute':
        steps.push({ kind: 'execute', portal: str('portal'), maxRows: Number(/maxrows=(\d+)/.exec(args)?.[1] ?? 0) });
        break;
      default:
        steps.push({ kind: 'sync' });
    }
  }
  if (steps.length > 0 && steps.at(-1)!.kind !== 'sync') steps.push({ kind: 'sync' });
  return steps;
}

let pgxStatements = 0;

/**
 * "extended, unnamed statement, $1 = …": the capture describes the call, not its bytes. pgjdbc's are an
 * unnamed statement with text parameters; pgx's statement cache is Parse(named) Describe(statement) Sync,
 * then Bind Execute Sync.
 */
function vagueSteps(text: string, sql: string): FrontendStep[] {
  const count = Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  const values = (VAGUE_PARAMETERS.find(([re]) => re.test(text))?.[1] ?? ['int4', 'pg_catalog', 'true']).slice(0, count);
  const params = values.map((v) => Buffer.from(v));
  if (/pgx/.test(text)) {
    const name = `stmtcache_${++pgxStatements}`;
    return [
      { kind: 'parse', name, sql, types: [] },
      { kind: 'describe', target: 'S', name },
      { kind: 'sync' },
      { kind: 'bind', portal: '', statement: name, paramFormats: [], params, resultFormats: [] },
      { kind: 'execute', portal: '', maxRows: 0 },
      { kind: 'sync' },
    ];
  }
  return [
    { kind: 'parse', name: '', sql, types: [] },
    { kind: 'bind', portal: '', statement: '', paramFormats: [], params, resultFormats: [] },
    { kind: 'describe', target: 'P', name: '' },
    { kind: 'execute', portal: '', maxRows: 0 },
    { kind: 'sync' },
  ];
}

export function parseCorpusFile(file: string, text: string): CorpusConnection[] {
  const lines = text.split('\n');
  const connections: CorpusConnection[] = [];
  let connection: CorpusConnection | undefined;
  let entry: { line: number; purpose: string; protocol?: string; sourceProtocol?: string; exact?: string; sql: string[] } | undefined;

  const finish = () => {
    if (!entry) return;
    const sqlText = entry.sql.join('\n').trim();
    const sql = entry.exact ?? (sqlText === '' ? undefined : sqlText);
    const protocolLine = entry.protocol ?? (entry.sourceProtocol ? `-- protocol: ${entry.sourceProtocol}` : '-- protocol: simple Query');
    if (sql !== undefined || entry.protocol !== undefined) {
      if (!connection) {
        connection = { file, startup: {}, entries: [] };
        connections.push(connection);
      }
      connection.entries.push({ file, line: entry.line, purpose: entry.purpose, sql, protocolLine, steps: parseProtocolLine(protocolLine, sql) });
    }
    entry = undefined;
  };

  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line.startsWith('-- purpose:')) {
      finish();
      entry = { line: i + 1, purpose: line.slice('-- purpose:'.length).trim(), sql: [] };
      return;
    }
    const startup = /^-- \[connection \w+\] StartupMessage .*params=(\{.*\})/.exec(line);
    if (startup) {
      finish();
      const params: Record<string, string> = {};
      for (const m of startup[1]!.matchAll(/'([^']*)': '([^']*)'/g)) params[m[1]!] = m[2]!;
      connection = { file, startup: params, entries: [] };
      connections.push(connection);
      return;
    }
    if (line.startsWith('-- [connection') || line.startsWith('-- =====')) {
      finish();
      return;
    }
    if (!entry) return;
    if (entry.sql.length === 0 && line.startsWith('--')) {
      if (line.startsWith('-- protocol:')) entry.protocol = line;
      const inSource = /^-- source:.*protocol: (.*)$/.exec(line);
      if (inSource) entry.sourceProtocol = inSource[1];
      const exact = /\(exact query text sent: "(.*?)"/.exec(line);
      if (exact) entry.exact = exact[1];
      return;
    }
    if (entry.sql.length === 0 && line === '') return;
    entry.sql.push(raw);
  });
  finish();
  return connections;
}

export function loadCorpus(dir: string): CorpusConnection[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .flatMap((f) => parseCorpusFile(f, readFileSync(join(dir, f), 'utf8')));
}

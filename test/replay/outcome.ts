// What a server answered to one replayed statement, in a form two servers' answers can be compared in:
// the backend messages in order, result columns by name and type, rows as a sorted multiset of cells.
import { decodeDataRow, decodeError, decodeParameterDescription, decodeRowDescription, type BackendMessage } from './raw-client.js';

export interface Column {
  name: string;
  type: number;
  format: number;
}

export type OutcomeItem =
  | { kind: 'columns'; columns: Column[] }
  | { kind: 'rows'; rows: Array<Array<string | null>> }
  | { kind: 'message'; text: string };

export type Outcome = OutcomeItem[];

/** type oids whose values are object identifiers */
export const OID_TYPES = new Set([26, 24, 2202, 2203, 2204, 2205, 2206, 4089, 4096, 30, 1028]);

/** oid → a name that is the same on both servers (user objects get different oids in each database) */
export type OidSymbols = Map<string, string>;

function cell(value: Buffer | null, column: Column | undefined, symbols: OidSymbols, catalog: boolean): string | null {
  if (value === null) return null;
  if (column?.format === 1) {
    if (column.type === 26 && value.length === 4) return symbols.get(String(value.readUInt32BE())) ?? String(value.readUInt32BE());
    return `\\x${value.toString('hex')}`;
  }
  const text = value.toString('utf8');
  if (catalog || (column && (OID_TYPES.has(column.type) || /oid|relid|typid|objid/i.test(column.name)))) {
    // names built from oids too: pg_toast_16385, add_one_16663 (pgjdbc specific_name)
    // also inside oidvector / oid[] text
    return text.replace(/(?<!\d)\d{4,}(?!\d)/g, (d) => symbols.get(d) ?? d);
  }
  return text;
}

/** `catalog`: the statement reads the system catalogs, where any number may be an oid */
export function buildOutcome(messages: BackendMessage[], symbols: OidSymbols, lastColumns?: Column[], catalog = false): Outcome {
  const out: Outcome = [];
  let columns: Column[] | undefined = lastColumns;
  let rows: Array<Array<string | null>> | undefined;
  const flushRows = () => {
    if (rows) out.push({ kind: 'rows', rows: rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) });
    rows = undefined;
  };
  for (const m of messages) {
    if (m.type === 'D') {
      rows ??= [];
      rows.push(decodeDataRow(m.body).map((v, i) => cell(v, columns?.[i], symbols, catalog)));
      continue;
    }
    flushRows();
    switch (m.type) {
      case 'T':
        columns = decodeRowDescription(m.body).map((f) => ({ name: f.name, type: f.typeOid, format: f.format }));
        out.push({ kind: 'columns', columns });
        break;
      case 'E':
        out.push({ kind: 'message', text: `ERROR ${decodeError(m.body).code}` });
        break;
      case 'C':
        out.push({ kind: 'message', text: `CommandComplete ${m.body.toString('utf8').replace(/\0$/, '')}` });
        break;
      case 't':
        out.push({ kind: 'message', text: `ParameterDescription ${decodeParameterDescription(m.body).join(',')}` });
        break;
      case 'Z':
        out.push({ kind: 'message', text: `ReadyForQuery ${m.body.toString('latin1')}` });
        break;
      case 'S':
        // ParameterStatus after SET: which ones a server reports differs by version; values are compared by SHOW
        break;
      default:
        out.push({ kind: 'message', text: { '1': 'ParseComplete', '2': 'BindComplete', '3': 'CloseComplete', n: 'NoData', s: 'PortalSuspended', I: 'EmptyQueryResponse' }[m.type] ?? `message ${m.type}` });
    }
  }
  flushRows();
  return out;
}

/** the RowDescription in force at the end (a later Execute of the same portal has none of its own) */
export function lastColumns(outcome: Outcome): Column[] | undefined {
  for (let i = outcome.length - 1; i >= 0; i--) {
    const item = outcome[i]!;
    if (item.kind === 'columns') return item.columns;
  }
  return undefined;
}

// Points a captured statement at the Keap tables. The capture ran against its own objects (tables
// `contacts` and `orders`, view `big_orders`, function `add_one`, database `crm`); the replay keeps each
// statement's shape and swaps in Keap names, Keap columns, and the oids each server gave the objects.
import type { FrontendStep } from './raw-client.js';

/** Oids of the capture cluster, literal in statements and bound as parameters. */
export const CAPTURE_OIDS = { database: 16384, contacts: 16385, orders: 16395, bigOrders: 16408 } as const;

export type ServerOids = { [K in keyof typeof CAPTURE_OIDS]: number };

/** The capture's columns of `contacts` and `orders`, and the Keap column of the same kind. */
const COLUMN_FOR: Record<string, Record<string, string>> = {
  contacts: { name: 'given_name', created_at: 'create_time', score: 'owner_id', email: 'email' },
  orders: { amount: 'total', ordered_at: 'order_time' },
};

/** SQL that creates the capture's view and function over the Keap tables (run on both servers first). */
export const CAPTURE_OBJECTS_SQL = [
  `CREATE VIEW public.big_orders AS SELECT o.id, o.contact_id, o.total, o.status FROM public.orders o WHERE o.total > 100`,
  `CREATE FUNCTION public.add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT i + 1'`,
];

/** Statements reading the capture's tables as data (not the catalog): only these get the column renames. */
function readsCaptureTables(sql: string): boolean {
  return /\b(from|join)\s+("?public"?\s*\.\s*)?"?(contacts|orders)\b/i.test(sql) && !/pg_catalog|information_schema|\bpg_class\b/i.test(sql);
}

/**
 * Catalog columns that PostgreSQL renamed after 15, for the statements whose client picks its SQL by the
 * server's version: psql 15 sends these to a 15 server; against keapgres's 18 it sends the 18 spelling.
 */
export const VERSION_VARIANTS: Array<{ from: RegExp; to: string; why: string }> = [
  { from: /\bd\.daticulocale\b/g, to: 'd.datlocale', why: 'pg_database.daticulocale is datlocale since PostgreSQL 17 (psql \\l)' },
];

export function rewriteSql(sql: string, oids: ServerOids, engineMajor = 15): string {
  let out = sql;
  if (engineMajor >= 17) for (const v of VERSION_VARIANTS) out = out.replace(v.from, v.to);
  if (readsCaptureTables(out)) {
    for (const cols of Object.values(COLUMN_FOR)) {
      for (const [from, to] of Object.entries(cols)) {
        // bare or quoted column name, not a string literal or a longer identifier
        out = out.replace(new RegExp(`(?<![\\w'$])("?)${from}\\1(?![\\w'])`, 'g'), (_m, q: string) => `${q}${to}${q}`);
      }
    }
  }
  // one pass: a server's oid may equal another capture oid, which a second replacement would change again
  const byCapture = new Map(Object.entries(CAPTURE_OIDS).map(([k, v]) => [String(v), String(oids[k as keyof typeof CAPTURE_OIDS])]));
  out = out.replace(new RegExp(`(?<![\\w.])(${[...byCapture.keys()].join('|')})(?![\\w.])`, 'g'), (d) => byCapture.get(d)!);
  return out;
}

function rewriteParam(p: Buffer | null, format: number, oids: ServerOids): Buffer | null {
  if (p === null) return p;
  for (const key of Object.keys(CAPTURE_OIDS) as Array<keyof typeof CAPTURE_OIDS>) {
    const capture = CAPTURE_OIDS[key];
    if (format === 1 && p.length === 8 && p.readBigInt64BE() === BigInt(capture)) {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(oids[key]));
      return b;
    }
    if (format === 1 && p.length === 4 && p.readInt32BE() === capture) {
      const b = Buffer.alloc(4);
      b.writeInt32BE(oids[key]);
      return b;
    }
    // psycopg 3 binds a Python int that fits as int2 (SQLAlchemy's get_pk_constraint: conrelid IN ($3))
    if (format === 1 && p.length === 2 && p.readInt16BE() === capture && oids[key] <= 32767) {
      const b = Buffer.alloc(2);
      b.writeInt16BE(oids[key]);
      return b;
    }
    if (format === 0 && p.toString() === String(capture)) return Buffer.from(String(oids[key]));
  }
  if (format === 0 && p.toString() === 'crm') return Buffer.from('keap');
  return p;
}

export function rewriteSteps(steps: FrontendStep[], sql: string | undefined, oids: ServerOids, engineMajor = 15): FrontendStep[] {
  return steps.map((s) => {
    if (s.kind === 'query') return { ...s, sql: rewriteSql(sql ?? s.sql, oids, engineMajor) };
    if (s.kind === 'parse') return { ...s, sql: rewriteSql(sql ?? s.sql, oids, engineMajor) };
    if (s.kind === 'bind') {
      const fmt = (i: number) => (s.paramFormats.length === 1 ? s.paramFormats[0]! : s.paramFormats[i] ?? 0);
      return { ...s, params: s.params.map((p, i) => rewriteParam(p, fmt(i), oids)) };
    }
    return s;
  });
}

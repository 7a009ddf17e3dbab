// Every difference the replay suite allows between keapgres and a real PostgreSQL, with its reason.
// A rule rewrites both outcomes of one statement the same way; the statement counts as an allowed
// difference only when the rewritten outcomes are then equal. Rules never apply to a statement that
// reads Keap rows as data (those must match exactly, after the oid naming that applies to everything).
import type { Column, Outcome, OutcomeItem } from './outcome.js';

export interface AllowedDifference {
  name: string;
  reason: string;
  /** whether the rule may apply to this statement */
  applies(sql: string): boolean;
  normalise(keapgres: Outcome, postgres: Outcome): [Outcome, Outcome];
}

const CATALOG = /\b(pg_catalog|information_schema|pg_[a-z_]+)\b/i;

function mapCells(o: Outcome, f: (value: string | null, column: number) => string | null): Outcome {
  return o.map((item) => (item.kind === 'rows' ? { kind: 'rows', rows: item.rows.map((r) => r.map(f)).sort(byJson) } : item));
}

function byJson(a: unknown, b: unknown): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** keeps, in each result, the columns both servers return (by name), in the first server's order */
function commonColumns(a: Outcome, b: Outcome): [Outcome, Outcome] {
  const colsA = a.filter((i) => i.kind === 'columns');
  const colsB = b.filter((i) => i.kind === 'columns');
  if (colsA.length !== colsB.length) return [a, b];
  const keep: Array<[number[], number[]]> = colsA.map((ca, k) => {
    const namesA = ca.kind === 'columns' ? ca.columns.map((c) => c.name) : [];
    const cb = colsB[k]!;
    const namesB = cb.kind === 'columns' ? cb.columns.map((c) => c.name) : [];
    const shared = namesA.filter((n) => namesB.includes(n));
    return [shared.map((n) => namesA.indexOf(n)), shared.map((n) => namesB.indexOf(n))];
  });
  const project = (o: Outcome, side: 0 | 1): Outcome => {
    let set = -1;
    return o.map((item): OutcomeItem => {
      if (item.kind === 'columns') {
        set++;
        return { kind: 'columns', columns: keep[set]![side].map((i) => item.columns[i]!) };
      }
      if (item.kind === 'rows' && set >= 0) return { kind: 'rows', rows: item.rows.map((r) => keep[set]![side].map((i) => r[i] ?? null)).sort(byJson) };
      return item;
    });
  };
  return [project(a, 0), project(b, 1)];
}

/** keeps only rows that mention one of the compared objects: the Keap tables, their schema, database and oids */
function rowsAboutUserObjects(o: Outcome, names: Set<string>): Outcome {
  const mentions = (v: string | null) => v !== null && (names.has(v) || /\b(class|type|constraint|proc|rewrite|database|toast):/.test(v));
  return o.map((item) => (item.kind === 'rows' ? { kind: 'rows', rows: item.rows.filter((r) => r.some(mentions)) } : item));
}

/** after rows were dropped: the SELECT/FETCH count of each command is the count of rows left */
function recount(o: Outcome): Outcome {
  let lastRows = 0;
  return o.map((item): OutcomeItem => {
    if (item.kind === 'rows') lastRows = item.rows.length;
    if (item.kind === 'message' && /^CommandComplete (SELECT|FETCH) \d+$/.test(item.text)) {
      const text = item.text.replace(/\d+$/, String(lastRows));
      lastRows = 0;
      return { kind: 'message', text };
    }
    return item;
  });
}

/** same column names: the column types PostgreSQL changed between versions (int4 → int2 …) are not compared */
function untypedColumns(o: Outcome): Outcome {
  return o.map((item) => (item.kind === 'columns' ? { kind: 'columns', columns: item.columns.map((c) => ({ ...c, type: 0 })) } : item));
}

/** rewrites cells knowing their column (name and type) */
function mapColumnCells(o: Outcome, f: (value: string | null, column: Column) => string | null): Outcome {
  let columns: Column[] = [];
  return o.map((item): OutcomeItem => {
    if (item.kind === 'columns') columns = item.columns;
    if (item.kind !== 'rows') return item;
    return { kind: 'rows', rows: item.rows.map((r) => r.map((v, i) => (columns[i] ? f(v, columns[i]!) : v))).sort(byJson) };
  });
}

function dropRows(o: Outcome, drop: (row: Array<string | null>) => boolean): Outcome {
  return o.map((item) => (item.kind === 'rows' ? { kind: 'rows', rows: item.rows.filter((r) => !drop(r)) } : item));
}

/** Rows naming the keap schema (in a schema-name column) or one of its functions or its description. */
function dropKeapSchemaRows(o: Outcome): Outcome {
  let columns: Column[] = [];
  const schemaColumn = /^(nspname|table_schem|schema_name|schema|name|routine_schema|specific_schema|function_schema|proc_schema)$/i;
  const keapObject = /^(keap\._call|_call|add_to_campaign_sequence|remove_from_campaign_sequence|opt_in_email|opt_out_email|send_email|complete_task|getoauthauthorizationurl|getoauthaccesstoken|refreshoauthaccesstoken)\b|^Keap actions that are not row writes|keapgres internal: what the keap/;
  return o.map((item): OutcomeItem => {
    if (item.kind === 'columns') columns = item.columns;
    if (item.kind !== 'rows') return item;
    return { kind: 'rows', rows: item.rows.filter((r) => !r.some((v, i) => v !== null && ((v === 'keap' && schemaColumn.test(columns[i]?.name ?? '')) || keapObject.test(v)))) };
  });
}

function both(a: Outcome, b: Outcome, f: (o: Outcome) => Outcome): [Outcome, Outcome] {
  return [f(a), f(b)];
}

/**
 * Drops keapgres's own objects from both answers. A portal suspended at maxrows (Metabase's 500 rows) then
 * holds as many fewer rows on keapgres's side as were dropped, and PostgreSQL's window holds that many rows
 * the client has not reached on keapgres yet. Outcome rows are sorted, so the windows are compared as sets:
 * every row keapgres kept is in PostgreSQL's window, which has exactly the dropped number more.
 */
function withoutOwnObjects(a: Outcome, b: Outcome, own: (row: Array<string | null>) => boolean): [Outcome, Outcome] {
  const rowsOf = (o: Outcome) => o.flatMap((i) => (i.kind === 'rows' ? i.rows : []));
  const dropped = rowsOf(a).filter(own).length;
  const [x, y] = both(a, b, (o) => recount(dropRows(o, own)));
  const suspended = (o: Outcome) => o.some((i) => i.kind === 'message' && i.text === 'PortalSuspended');
  const rx = rowsOf(x); const ry = rowsOf(y);
  if (dropped === 0 || !suspended(x) || !suspended(y) || x.filter((i) => i.kind === 'rows').length !== 1 || ry.length - rx.length !== dropped) return [x, y];
  const inY = new Set(ry.map((r) => JSON.stringify(r)));
  if (!rx.every((r) => inY.has(JSON.stringify(r)))) return [x, y];
  return [x, y.map((i): OutcomeItem => (i.kind === 'rows' ? { kind: 'rows', rows: rx } : i))];
}

export function allowedDifferences(userObjectNames: Set<string>): AllowedDifference[] {
  return [
    {
      name: "keapgres's own objects",
      reason:
        'keapgres adds public.keapgres_refresh_schema() (re-reads custom fields), the view public.keapgres_cache (the shared cache\'s entries) and its functions keapgres_cache_entries() and keapgres_cache_clear() to every session; catalog listings show them',
      applies: (sql) => CATALOG.test(sql),
      normalise: (a, b) => withoutOwnObjects(a, b, (r) => r.some((v) => v !== null && /keapgres_(refresh_schema|cache)/.test(v))),
    },
    {
      name: "keapgres's keap schema of Keap actions",
      reason:
        'keapgres adds the schema keap with Keap actions as functions (keap.add_to_campaign_sequence(), keap.complete_task(), CData\'s OAuth procedures, …: issue 12); schema and function listings show them',
      applies: (sql) => CATALOG.test(sql),
      normalise: (a, b) => both(a, b, (o) => recount(dropKeapSchemaRows(o))),
    },
    {
      name: "a read-only transaction's temporary tables",
      reason:
        'when a batch begins a read-only transaction, keapgres gives each Keap table a temporary child table (rows that must load after a cursor opened go there: ARCHITECTURE.md, read-only transactions); the session then has a temporary schema, which PostgreSQL lists for any session that has one',
      applies: (sql) => CATALOG.test(sql),
      normalise: (a, b) => both(a, b, (o) => recount(dropRows(o, (r) => r.some((v) => v !== null && (/^pg_(toast_)?temp_\d+$/.test(v) || v.includes('keapgres_tx_')))))),
    },
    {
      name: 'foreign keys NOT ENFORCED vs NOT VALID',
      reason:
        'keapgres declares the Keap relations as NOT ENFORCED foreign keys (PostgreSQL 18: Keap does not guarantee them); PostgreSQL 15 has no NOT ENFORCED, so the export declares them NOT VALID, which also gives the tables RI triggers (relhastriggers)',
      applies: (sql) => CATALOG.test(sql),
      normalise: (a, b) =>
        both(a, b, (o) =>
          mapColumnCells(o, (v, c) => {
            if (/^(relhastriggers|convalidated|conenforced)$/.test(c.name)) return '<fk-check>';
            return v === null ? v : v.replace(/ NOT ENFORCED| NOT VALID/g, ' <not checked>');
          }),
        ),
    },
    {
      name: 'process ids',
      reason: 'a backend pid is the server\'s own process number (keapgres numbers its sessions itself); a pid can even equal an object oid of the other server, so it must not be read as one',
      applies: (sql) => /pg_backend_pid|\bpid\b/i.test(sql),
      normalise: (a, b) => both(a, b, (o) => mapColumnCells(o, (v, c) => (v !== null && /^(pid|pg_backend_pid|leader_pid)$/.test(c.name) ? '<pid>' : v))),
    },
    {
      name: 'SQL keyword list',
      reason: 'pg_get_keywords() lists the parser keywords of the running version; 18 has keywords 15 lacks (and the reverse)',
      applies: (sql) => /pg_get_keywords/i.test(sql),
      normalise: (a, b) => both(a, b, (o) => mapColumnCells(o, () => '<keywords>')),
    },
    {
      name: 'PGlite attribute marker',
      reason: 'PGlite (the embedded engine) stores an internal option pg_attver=… in pg_attribute.attoptions of every column; it has no meaning to clients',
      applies: (sql) => CATALOG.test(sql),
      normalise: (a, b) => both(a, b, (o) => mapColumnCells(o, (v, c) => (c.name === 'attoptions' && v !== null && /^\{pg_attver=\d+\}$/.test(v) ? null : v))),
    },
    {
      name: '32-bit engine',
      reason: 'PGlite is a 32-bit WebAssembly build: 8-byte types (int8, float8, timestamps) are passed by reference there, so attbyval/typbyval are false where 64-bit PostgreSQL has true',
      applies: (sql) => CATALOG.test(sql),
      normalise: (a, b) => both(a, b, (o) => mapColumnCells(o, (v, c) => (/^(attbyval|typbyval)$/.test(c.name) ? '<byval>' : v))),
    },
    {
      name: 'transaction ids',
      reason: 'xid values (relfrozenxid, datfrozenxid, …) count transactions since the cluster was created, which differs between any two servers',
      applies: (sql) => CATALOG.test(sql),
      normalise: (a, b) => both(a, b, (o) => mapColumnCells(o, (v, c) => (c.type === 28 || c.type === 5069 ? '<xid>' : v))),
    },
    {
      name: 'view definition deparsing',
      reason: 'PostgreSQL 16+ prints view columns without the table qualifier when unambiguous (pg_get_viewdef); the view is the same',
      applies: (sql) => /viewdef/i.test(sql),
      normalise: (a, b) => both(a, b, (o) => mapColumnCells(o, (v) => (v !== null && /\bSELECT\b/.test(v) ? v.replace(/\b[a-z_]+\.(?=[a-z_])/g, '') : v))),
    },
    {
      name: 'server version',
      reason: 'keapgres runs PostgreSQL 18 (PGlite) and the reference is Debian bookworm\'s PostgreSQL 15: version strings and numbers differ by design',
      applies: (sql) => /version/i.test(sql),
      normalise: (a, b) => [mapCells(a, (v) => (v === null ? v : v.replace(/\b1[0-9](\.\d+)*\b|\b1[0-9]0{2,3}\d+\b|\b1[0-9]\d{2,4}\b/g, '<version>').replace(/PostgreSQL.*/s, 'PostgreSQL <version>'))), mapCells(b, (v) => (v === null ? v : v.replace(/\b1[0-9](\.\d+)*\b|\b1[0-9]0{2,3}\d+\b|\b1[0-9]\d{2,4}\b/g, '<version>').replace(/PostgreSQL.*/s, 'PostgreSQL <version>')))],
    },
    {
      name: 'storage sizes and statistics',
      reason: 'relation/database sizes, row estimates and scan counters depend on the storage engine (PGlite in memory vs files on disk) and on when statistics ran, not on the data',
      applies: (sql) => /_size\b|size_pretty|reltuples|relpages|n_live_tup|pg_stat|relallvisible/i.test(sql),
      normalise: (a, b) => {
        // blank each column whose values differ between the servers in an otherwise equal shape
        const blank = (o: Outcome, other: Outcome) =>
          o.map((item, k) => {
            const twin = other[k];
            if (item.kind !== 'rows' || twin?.kind !== 'rows' || twin.rows.length !== item.rows.length) return item;
            const cols = item.rows[0]?.length ?? 0;
            const differing = new Set<number>();
            for (let c = 0; c < cols; c++) if (item.rows.some((r, i) => r[c] !== twin.rows[i]![c])) differing.add(c);
            return { kind: 'rows' as const, rows: item.rows.map((r) => r.map((v, c) => (differing.has(c) ? '<size>' : v))) };
          });
        return [blank(a, b), blank(b, a)];
      },
    },
    {
      name: 'catalog shape of PostgreSQL 15 vs 18',
      reason:
        'system catalogs gained columns, built-in types, functions, settings and keywords between 15 and 18; for catalog statements the comparison keeps the columns both versions have and the rows that describe the Keap tables, their schema and database (the question a client asks about the data), not PostgreSQL\'s own built-in objects',
      applies: (sql) => CATALOG.test(sql),
      normalise: (a, b) => {
        const [ca, cb] = commonColumns(a, b);
        const shape = (o: Outcome) =>
          recount(
            untypedColumns(
              dropRows(
                mapColumnCells(rowsAboutUserObjects(o, userObjectNames), (v, c) =>
                  // 18 leaves statistics targets NULL for "default", 15 stores -1 (0 on system columns)
                  /^(attstattarget|stxstattarget)$/.test(c.name) && (v === null || v === '-1' || v === '0') ? '<default>' : v,
                ),
                // 18 records NOT NULL as pg_constraint rows (contype n); 15 only as attnotnull
                (r) => r.some((v) => v !== null && /^constraint:.*_not_null$/.test(v)),
              ),
            ),
          );
        return [shape(ca), shape(cb)];
      },
    },
    {
      name: 'query plans',
      reason: 'EXPLAIN output depends on the planner version and on table statistics, which differ between an engine loaded per query and a long-lived server',
      applies: (sql) => /^\s*explain\b/i.test(sql),
      normalise: (a, b) => [mapCells(a, () => '<plan>'), mapCells(b, () => '<plan>')].map((o) => o.map((i) => (i.kind === 'rows' ? { kind: 'rows' as const, rows: [] } : i))) as [Outcome, Outcome],
    },
  ];
}

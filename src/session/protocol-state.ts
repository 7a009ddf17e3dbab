// What a session must remember about its client's protocol use: the SQL behind each prepared
// statement (the planner needs it when a later batch binds it), and what to replay onto a fresh
// engine after a cancel so the client notices nothing beyond the cancelled statement.

export interface ParsedParse {
  name: string;
  sql: string;
  paramTypes: number[];
}

export interface ParsedBind {
  portal: string;
  statement: string;
  paramFormats: number[];
  /** raw parameter bytes; null for SQL NULL */
  params: Array<Buffer | null>;
}

function readCString(body: Buffer, pos: number): [string, number] {
  const end = body.indexOf(0, pos);
  if (end < 0) throw new RangeError('unterminated string');
  return [body.toString('utf8', pos, end), end + 1];
}

export function parseParse(body: Buffer): ParsedParse {
  const [name, p1] = readCString(body, 0);
  const [sql, p2] = readCString(body, p1);
  const n = body.readInt16BE(p2);
  const paramTypes: number[] = [];
  for (let i = 0; i < n; i++) paramTypes.push(body.readUInt32BE(p2 + 2 + 4 * i));
  return { name, sql, paramTypes };
}

export function parseBind(body: Buffer): ParsedBind {
  const [portal, p1] = readCString(body, 0);
  const [statement, p2] = readCString(body, p1);
  let pos = p2;
  const nFormats = body.readInt16BE(pos);
  pos += 2;
  const paramFormats: number[] = [];
  for (let i = 0; i < nFormats; i++, pos += 2) paramFormats.push(body.readInt16BE(pos));
  const nParams = body.readInt16BE(pos);
  pos += 2;
  const params: Array<Buffer | null> = [];
  for (let i = 0; i < nParams; i++) {
    const len = body.readInt32BE(pos);
    pos += 4;
    if (len < 0) params.push(null);
    else {
      params.push(body.subarray(pos, pos + len));
      pos += len;
    }
  }
  return { portal, statement, paramFormats, params };
}

/** Close: 'S' statement or 'P' portal, and its name. */
export function parseClose(body: Buffer): { kind: string; name: string } {
  const kind = String.fromCharCode(body[0]);
  const [name] = readCString(body, 1);
  return { kind, name };
}

export function parseQuery(body: Buffer): string {
  return readCString(body, 0)[0];
}

const OID = { bool: 16, int8: 20, int2: 21, int4: 23, text: 25, float4: 700, float8: 701, varchar: 1043, bpchar: 1042, numeric: 1700, unknown: 705 } as const;

/**
 * A bound parameter as text, for planning. Binary values are decoded for the types the planner can
 * use; anything else is `undefined` (unknown: conditions on it are simply not pushed down).
 */
export function paramText(value: Buffer | null, format: number, typeOid: number): string | null | undefined {
  if (value === null) return null;
  if (format === 0) return value.toString('utf8');
  switch (typeOid) {
    case OID.int8: return value.length === 8 ? value.readBigInt64BE(0).toString() : undefined;
    case OID.int4: return value.length === 4 ? String(value.readInt32BE(0)) : undefined;
    case OID.int2: return value.length === 2 ? String(value.readInt16BE(0)) : undefined;
    case OID.float8: return value.length === 8 ? String(value.readDoubleBE(0)) : undefined;
    case OID.float4: return value.length === 4 ? String(value.readFloatBE(0)) : undefined;
    case OID.bool: return value.length === 1 ? (value[0] ? 'true' : 'false') : undefined;
    case OID.text: case OID.varchar: case OID.bpchar: case OID.unknown: return value.toString('utf8');
    default: return undefined;
  }
}

/** Session-level SET/RESET: replayed onto a fresh engine after a cancel. */
export function isSessionSetting(sql: string): boolean {
  return /^\s*(SET\s+(?!LOCAL\b|TRANSACTION\b)(SESSION\s+(?!CHARACTERISTICS\b))?|RESET\s+)/i.test(sql) ||
    /^\s*SET\s+SESSION\s+CHARACTERISTICS\b/i.test(sql);
}

/** SQL-level PREPARE: replayed onto a fresh engine after a cancel. */
export function isSqlPrepare(sql: string): boolean {
  return /^\s*PREPARE\s/i.test(sql);
}

export class ProtocolState {
  /** named prepared statements: name → the Parse frame (replayed after a cancel) and its parts */
  readonly statements = new Map<string, { frame: Buffer; parse: ParsedParse }>();
  /** the unnamed statement's parse (lives until the next unnamed Parse) */
  unnamed?: ParsedParse;
  /** SET / PREPARE statements that completed, in order */
  readonly replay: string[] = [];

  recordParse(frame: Buffer, parse: ParsedParse): void {
    if (parse.name) this.statements.set(parse.name, { frame: Buffer.from(frame), parse });
    else this.unnamed = parse;
  }

  statement(name: string): ParsedParse | undefined {
    return name ? this.statements.get(name)?.parse : this.unnamed;
  }

  recordClose(kind: string, name: string): void {
    if (kind === 'S' && name) this.statements.delete(name);
  }

  recordSql(sql: string): void {
    for (const stmt of splitSimple(sql)) {
      if (isSessionSetting(stmt) || isSqlPrepare(stmt)) this.replay.push(stmt);
      if (/^\s*DEALLOCATE\s+(PREPARE\s+)?ALL\b/i.test(stmt)) {
        this.removeReplay((s) => isSqlPrepare(s));
      }
      if (/^\s*RESET\s+ALL\b/i.test(stmt) || /^\s*DISCARD\s+ALL\b/i.test(stmt)) {
        this.removeReplay((s) => isSessionSetting(s));
      }
    }
  }

  private removeReplay(pred: (s: string) => boolean): void {
    for (let i = this.replay.length - 1; i >= 0; i--) if (pred(this.replay[i])) this.replay.splice(i, 1);
  }
}

/** Splits a simple query on top-level semicolons, respecting quotes, dollar quotes and comments. */
export function splitSimple(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const close = sql.indexOf(c, i + 1);
      i = close < 0 ? sql.length : close + 1;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
      continue;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const close = sql.indexOf(m[0], i + m[0].length);
        i = close < 0 ? sql.length : close + m[0].length;
        continue;
      }
    }
    if (c === ';') {
      const s = sql.slice(start, i).trim();
      if (s) out.push(s);
      start = i + 1;
    }
    i++;
  }
  const last = sql.slice(start).trim();
  if (last) out.push(last);
  return out;
}

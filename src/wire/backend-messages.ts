// Backend messages keapgres writes itself (everything else comes from the engine verbatim).

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeUInt32BE(body.length + 4, 1);
  body.copy(out, 5);
  return out;
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

function cstring(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

export const authenticationOk = (): Buffer => message('R', int32(0));
export const authenticationCleartextPassword = (): Buffer => message('R', int32(3));
export const authenticationSasl = (mechanisms: string[]): Buffer =>
  message('R', Buffer.concat([int32(10), ...mechanisms.map(cstring), Buffer.from([0])]));
export const authenticationSaslContinue = (data: string): Buffer =>
  message('R', Buffer.concat([int32(11), Buffer.from(data, 'utf8')]));
export const authenticationSaslFinal = (data: string): Buffer =>
  message('R', Buffer.concat([int32(12), Buffer.from(data, 'utf8')]));

export const parameterStatus = (name: string, value: string): Buffer =>
  message('S', Buffer.concat([cstring(name), cstring(value)]));

export const backendKeyData = (processId: number, secretKey: number): Buffer =>
  message('K', Buffer.concat([int32(processId), int32(secretKey)]));

export const readyForQuery = (status: string): Buffer => message('Z', Buffer.from(status, 'latin1'));

export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING' | 'INFO' | 'LOG';
  sqlstate: string;
  message: string;
  detail?: string;
  hint?: string;
}

function fields(f: ErrorFields): Buffer {
  const parts: Buffer[] = [];
  const add = (code: string, value: string | undefined) => {
    if (value !== undefined) parts.push(Buffer.from(code, 'latin1'), cstring(value));
  };
  add('S', f.severity);
  add('V', f.severity);
  add('C', f.sqlstate);
  add('M', f.message);
  add('D', f.detail);
  add('H', f.hint);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export const errorResponse = (f: ErrorFields): Buffer => message('E', fields(f));
export const noticeResponse = (f: ErrorFields): Buffer => message('N', fields(f));

/** CopyInResponse: overall format (0 text, 1 binary) and one format code per column. */
export const copyInResponse = (format: 0 | 1, columns: number): Buffer => {
  const body = Buffer.allocUnsafe(3 + 2 * columns);
  body[0] = format;
  body.writeInt16BE(columns, 1);
  for (let i = 0; i < columns; i++) body.writeInt16BE(format, 3 + 2 * i);
  return message('G', body);
};

/** RowDescription of one bigint column in text format, not from a table (as count(*) has). */
export const rowDescriptionBigint = (column: string): Buffer => {
  const name = cstring(column);
  const body = Buffer.alloc(2 + name.length + 18);
  body.writeInt16BE(1, 0);
  name.copy(body, 2);
  let o = 2 + name.length;
  body.writeInt32BE(0, o); // table oid
  body.writeInt16BE(0, o + 4); // attnum
  body.writeInt32BE(20, o + 6); // int8
  body.writeInt16BE(8, o + 10); // typlen
  body.writeInt32BE(-1, o + 12); // typmod
  body.writeInt16BE(0, o + 16); // text
  o += 18;
  return message('T', body);
};

export const dataRow = (values: Array<string | null>): Buffer => {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(2);
  head.writeInt16BE(values.length, 0);
  parts.push(head);
  for (const v of values) {
    const len = Buffer.alloc(4);
    if (v === null) {
      len.writeInt32BE(-1, 0);
      parts.push(len);
    } else {
      const b = Buffer.from(v, 'utf8');
      len.writeInt32BE(b.length, 0);
      parts.push(len, b);
    }
  }
  return message('D', Buffer.concat(parts));
};

export const commandComplete = (tag: string): Buffer => message('C', cstring(tag));

export const sslResponse = (accepted: boolean): Buffer => Buffer.from(accepted ? 'S' : 'N', 'latin1');

// The engine words every cancel as a user's ("canceling statement due to user request"): it cannot
// tell that keapgres cancelled for statement_timeout. The session rewrites that one ErrorResponse.
// Engine output reaches the session in chunks of whole messages (engine/worker.ts flushOutput).

const USER_REQUEST = 'canceling statement due to user request';

/** `chunk` with each 57014 "user request" ErrorResponse saying `message` instead (same chunk if none). */
export function rewriteCancelReason(chunk: Uint8Array, message: string): Uint8Array {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const parts: Uint8Array[] = [];
  let from = 0;
  let pos = 0;
  while (pos + 5 <= buf.length) {
    const length = buf.readUInt32BE(pos + 1);
    const end = pos + 1 + length;
    if (end > buf.length) break;
    if (buf[pos] === 0x45 /* E */) {
      const fields = readFields(buf.subarray(pos + 5, end));
      if (fields.get('C') === '57014' && fields.get('M') === USER_REQUEST) {
        fields.set('M', message);
        parts.push(buf.subarray(from, pos), errorMessage(fields));
        from = end;
      }
    }
    pos = end;
  }
  if (from === 0) return chunk;
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

function readFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let p = 0;
  while (p < body.length && body[p] !== 0) {
    const code = String.fromCharCode(body[p]!);
    const stop = body.indexOf(0, p + 1);
    if (stop < 0) break;
    fields.set(code, body.toString('utf8', p + 1, stop));
    p = stop + 1;
  }
  return fields;
}

function errorMessage(fields: Map<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of fields) parts.push(Buffer.from(code, 'latin1'), Buffer.from(value, 'utf8'), Buffer.from([0]));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head[0] = 0x45;
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

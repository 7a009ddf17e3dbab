// Reads what an engine sends its client, for what crosses sessions: NotificationResponse (whose pid is the
// engine's own and must become the session's), the notices by which the engine asks for another backend
// to be signalled (never shown to the client), ParameterStatus of application_name (pg_stat_activity
// shows its current value), and the CONTEXT lines the replaced signal functions add to their errors
// (PostgreSQL's own are C functions, which add none). The engine's chunks hold whole messages.
import type { OutputSink } from '../engine/instance.js';
import { BACKEND_FUNCTIONS, SIGNAL_NOTICE_SQLSTATE } from '../engine/backend-catalog.js';

export interface OutputEvents {
  /** a notification the engine's transaction committed; true: the client gets it too */
  notification(channel: string, payload: string): boolean;
  /** the engine asks for a signal ("kind pid nonce"); 'stop': nothing after this point goes to the client */
  signal(request: string): 'continue' | 'stop';
  parameter(name: string, value: string): void;
  /** an ErrorResponse passed */
  error(): void;
}

const OUR_CONTEXT = new RegExp(`^PL/pgSQL function (?:pg_catalog\\.)?(?:${BACKEND_FUNCTIONS.join('|')})\\(`);

/** `base` with the engine's output read (and where needed rewritten) on its way; `pid` is the session's. */
export function watchOutput(base: OutputSink, pid: number, events: OutputEvents): OutputSink {
  let stopped = false;
  return (chunk, written) => {
    if (stopped) return written();
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // The chunk as pieces to send, and signal requests between them (in the order the engine sent them).
    const items: Array<Buffer | { signal: string }> = [];
    let changed = false;
    let keptFrom = 0; // start of the run of unchanged messages not yet in items
    const replace = (start: number, end: number, by: Buffer | { signal: string } | undefined) => {
      changed = true;
      if (start > keptFrom) items.push(buf.subarray(keptFrom, start));
      if (by) items.push(by);
      keptFrom = end;
    };
    let off = 0;
    while (off + 5 <= buf.length) {
      const type = buf[off];
      const end = off + 1 + buf.readUInt32BE(off + 1);
      if (type === 0x41 /* A */) {
        const n = readNotification(buf.subarray(off + 5, end));
        let copy: Buffer | undefined;
        if (events.notification(n.channel, n.payload)) {
          copy = Buffer.from(buf.subarray(off, end));
          copy.writeInt32BE(pid, 5);
        }
        replace(off, end, copy);
      } else if (type === 0x4e /* N */ || type === 0x45 /* E */) {
        const fields = readFields(buf.subarray(off + 5, end));
        if (type === 0x45) events.error();
        if (type === 0x4e && fields.get('C') === SIGNAL_NOTICE_SQLSTATE) {
          replace(off, end, { signal: fields.get('M') ?? '' });
        } else {
          const context = fields.get('W');
          const lines = context?.split('\n') ?? [];
          const kept = lines.filter((l) => !OUR_CONTEXT.test(l));
          if (kept.length !== lines.length) {
            if (kept.length) fields.set('W', kept.join('\n'));
            else fields.delete('W');
            replace(off, end, writeFields(type, fields));
          }
        }
      } else if (type === 0x53 /* S */) {
        const body = buf.subarray(off + 5, end);
        const z = body.indexOf(0);
        events.parameter(body.toString('utf8', 0, z), body.toString('utf8', z + 1, body.length - 1));
      }
      off = end;
    }
    if (!changed) return base(chunk, written);
    if (keptFrom < buf.length) items.push(buf.subarray(keptFrom));
    // What comes before a signal request reaches the client before whatever the signal does to it.
    let pieces = items.filter((i) => Buffer.isBuffer(i)).length;
    if (pieces === 0) written();
    const done = () => {
      if (--pieces === 0) written();
    };
    for (const item of items) {
      if (Buffer.isBuffer(item)) {
        if (stopped) done();
        else base(item, done);
      } else if (!stopped && events.signal(item.signal) === 'stop') {
        stopped = true;
      }
    }
  };
}

/** NotificationResponse: pid, channel and payload. */
export function notificationResponse(pid: number, channel: string, payload: string): Buffer {
  const c = Buffer.from(channel, 'utf8');
  const p = Buffer.from(payload, 'utf8');
  const out = Buffer.alloc(1 + 4 + 4 + c.length + 1 + p.length + 1);
  out[0] = 0x41;
  out.writeUInt32BE(out.length - 1, 1);
  out.writeInt32BE(pid, 5);
  c.copy(out, 9);
  p.copy(out, 9 + c.length + 1);
  return out;
}

function readNotification(body: Buffer): { channel: string; payload: string } {
  const z = body.indexOf(0, 4);
  return { channel: body.toString('utf8', 4, z), payload: body.toString('utf8', z + 1, body.length - 1) };
}

function readFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const code = String.fromCharCode(body[pos]);
    const z = body.indexOf(0, pos + 1);
    fields.set(code, body.toString('utf8', pos + 1, z));
    pos = z + 1;
  }
  return fields;
}

function writeFields(type: number, fields: Map<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of fields) parts.push(Buffer.from(code, 'latin1'), Buffer.from(value, 'utf8'), Buffer.from([0]));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

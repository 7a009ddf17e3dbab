// A minimal PostgreSQL frontend with byte-level control: the replay suite must send exactly what a
// captured client sent (statement names, Parse parameter type oids, per-parameter and per-column formats,
// Execute row limits), which no driver lets one choose. Backend messages are framed here too, so
// binary result values keep their exact bytes.
import net from 'node:net';

export type FrontendStep =
  | { kind: 'query'; sql: string }
  | { kind: 'parse'; name: string; sql: string; types: number[] }
  | { kind: 'bind'; portal: string; statement: string; paramFormats: number[]; params: Array<Buffer | null>; resultFormats: number[] }
  | { kind: 'describe'; target: 'S' | 'P'; name: string }
  | { kind: 'execute'; portal: string; maxRows: number }
  | { kind: 'close'; target: 'S' | 'P'; name: string }
  | { kind: 'sync' };

export interface BackendMessage {
  type: string;
  body: Buffer;
}

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

export function encodeStep(step: FrontendStep): Buffer {
  switch (step.kind) {
    case 'query':
      return frame('Q', cstr(step.sql));
    case 'parse':
      return frame('P', Buffer.concat([cstr(step.name), cstr(step.sql), int16(step.types.length), ...step.types.map((t) => int32(t))]));
    case 'bind': {
      const params = step.params.flatMap((p) => (p === null ? [int32(-1)] : [int32(p.length), p]));
      return frame(
        'B',
        Buffer.concat([
          cstr(step.portal),
          cstr(step.statement),
          int16(step.paramFormats.length),
          ...step.paramFormats.map(int16),
          int16(step.params.length),
          ...params,
          int16(step.resultFormats.length),
          ...step.resultFormats.map(int16),
        ]),
      );
    }
    case 'describe':
      return frame('D', Buffer.concat([Buffer.from(step.target, 'latin1'), cstr(step.name)]));
    case 'execute':
      return frame('E', Buffer.concat([cstr(step.portal), int32(step.maxRows)]));
    case 'close':
      return frame('C', Buffer.concat([Buffer.from(step.target, 'latin1'), cstr(step.name)]));
    case 'sync':
      return frame('S', Buffer.alloc(0));
  }
}

export class RawClient {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly queue: BackendMessage[] = [];
  private waiter: (() => void) | undefined;
  private closedError: Error | undefined;
  /** ParameterStatus values from startup */
  readonly parameters = new Map<string, string>();

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      while (this.buffer.length >= 5) {
        const len = this.buffer.readInt32BE(1);
        if (this.buffer.length < len + 1) break;
        this.queue.push({ type: String.fromCharCode(this.buffer[0]!), body: this.buffer.subarray(5, len + 1) });
        this.buffer = this.buffer.subarray(len + 1);
      }
      this.wake();
    });
    const onEnd = (err?: Error) => {
      this.closedError ??= err ?? new Error('server closed the connection');
      this.wake();
    };
    socket.on('error', onEnd);
    socket.on('close', () => onEnd());
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  static async connect(port: number, params: Record<string, string>, timeoutMs = 30_000): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    const client = new RawClient(socket);
    const body = Buffer.concat([int32(196608), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
    socket.write(Buffer.concat([int32(body.length + 4), body]));
    for (const m of await client.readUntilReady(timeoutMs)) {
      if (m.type === 'E') throw new Error(`startup failed: ${JSON.stringify(decodeError(m.body))}`);
      if (m.type === 'S') {
        const [k = '', v = ''] = m.body.toString('utf8').split('\0');
        client.parameters.set(k, v);
      }
    }
    return client;
  }

  private async next(deadline: number): Promise<BackendMessage> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.closedError) throw this.closedError;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the server');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** messages up to and including ReadyForQuery */
  async readUntilReady(timeoutMs = 60_000): Promise<BackendMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const out: BackendMessage[] = [];
    for (;;) {
      const m = await this.next(deadline);
      // notices depend on server version wording and are not part of a result
      if (m.type === 'N') continue;
      out.push(m);
      if (m.type === 'Z') return out;
    }
  }

  /** sends the steps as one write and reads one ReadyForQuery per Query or Sync */
  async run(steps: FrontendStep[], timeoutMs = 60_000): Promise<BackendMessage[]> {
    this.socket.write(Buffer.concat(steps.map(encodeStep)));
    const waits = steps.filter((s) => s.kind === 'query' || s.kind === 'sync').length;
    const out: BackendMessage[] = [];
    for (let i = 0; i < waits; i++) out.push(...(await this.readUntilReady(timeoutMs)));
    return out;
  }

  async end(): Promise<void> {
    if (this.closedError) return;
    this.socket.end(frame('X', Buffer.alloc(0)));
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) resolve();
      else this.socket.once('close', () => resolve());
      setTimeout(resolve, 2000).unref();
    });
  }
}

export interface ErrorFields {
  code: string;
  message: string;
}

export function decodeError(body: Buffer): ErrorFields {
  const out: ErrorFields = { code: '', message: '' };
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const field = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    const value = body.subarray(i + 1, end).toString('utf8');
    if (field === 'C') out.code = value;
    if (field === 'M') out.message = value;
    i = end + 1;
  }
  return out;
}

export interface FieldDescription {
  name: string;
  tableOid: number;
  column: number;
  typeOid: number;
  format: number;
}

export function decodeRowDescription(body: Buffer): FieldDescription[] {
  const n = body.readInt16BE(0);
  let i = 2;
  const out: FieldDescription[] = [];
  for (let k = 0; k < n; k++) {
    const end = body.indexOf(0, i);
    const name = body.subarray(i, end).toString('utf8');
    i = end + 1;
    out.push({ name, tableOid: body.readUInt32BE(i), column: body.readInt16BE(i + 4), typeOid: body.readUInt32BE(i + 6), format: body.readInt16BE(i + 16) });
    i += 18;
  }
  return out;
}

export function decodeDataRow(body: Buffer): Array<Buffer | null> {
  const n = body.readInt16BE(0);
  let i = 2;
  const out: Array<Buffer | null> = [];
  for (let k = 0; k < n; k++) {
    const len = body.readInt32BE(i);
    i += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.subarray(i, i + len));
      i += len;
    }
  }
  return out;
}

export function decodeParameterDescription(body: Buffer): number[] {
  const n = body.readInt16BE(0);
  return Array.from({ length: n }, (_, k) => body.readUInt32BE(2 + 4 * k));
}

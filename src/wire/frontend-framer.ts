// Splits a client's byte stream into frontend messages (type byte, int32 length, body).
// Frames are kept whole (header included) because they are forwarded to the engine verbatim.
import { SqlError, SQLSTATE } from '../errors.js';

export interface FrontendMessage {
  type: string;
  /** the whole frame: type, length, body */
  frame: Buffer;
  /** body only (a view into frame) */
  body: Buffer;
}

/** Message types a client may send after startup. */
const KNOWN_TYPES = new Set(['Q', 'P', 'B', 'D', 'E', 'C', 'H', 'S', 'X', 'd', 'c', 'f', 'F', 'p']);

export class FrontendFramer {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly maxMessageBytes: number;

  constructor(maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Adds bytes; returns every complete message. Throws SqlError 08P01 on a malformed stream. */
  push(chunk: Buffer): FrontendMessage[] {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    const out: FrontendMessage[] = [];
    if (this.bufferedBytes < 5) return out;
    let data = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered, this.bufferedBytes);
    let pos = 0;
    while (data.length - pos >= 5) {
      const type = String.fromCharCode(data[pos]);
      if (!KNOWN_TYPES.has(type)) {
        throw new SqlError(SQLSTATE.protocolViolation, `invalid frontend message type ${data[pos]}`);
      }
      const length = data.readUInt32BE(pos + 1);
      if (length < 4) throw new SqlError(SQLSTATE.protocolViolation, `invalid message length ${length}`);
      if (length > this.maxMessageBytes) {
        throw new SqlError(SQLSTATE.protocolViolation, `message of ${length} bytes exceeds the limit of ${this.maxMessageBytes} bytes`);
      }
      if (data.length - pos < length + 1) break;
      const frame = data.subarray(pos, pos + length + 1);
      out.push({ type, frame, body: frame.subarray(5) });
      pos += length + 1;
    }
    if (pos === data.length) {
      this.buffered = [];
      this.bufferedBytes = 0;
    } else {
      data = data.subarray(pos);
      this.buffered = [data];
      this.bufferedBytes = data.length;
    }
    return out;
  }
}

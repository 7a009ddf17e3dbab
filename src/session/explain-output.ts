// Appends rows to an EXPLAIN's output as it streams from the engine: before the CommandComplete of the
// EXPLAIN, one DataRow per line in the single "QUERY PLAN" column. Every other message passes unchanged;
// messages split across chunks are held until whole.

const EXPLAIN_TAG = Buffer.from('EXPLAIN\0');

export class ExplainAppender {
  private carry: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(private readonly lines: readonly string[]) {}

  /** The bytes to send for this chunk of engine output (maybe held back in part). */
  transform(chunk: Uint8Array): Buffer {
    if (this.done) return Buffer.from(chunk);
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk);
    const out: Buffer[] = [];
    let pos = 0;
    while (pos + 5 <= data.length) {
      const len = data.readInt32BE(pos + 1);
      if (pos + 1 + len > data.length) break;
      const type = data[pos];
      if (type === 0x43 && len - 4 === EXPLAIN_TAG.length && data.subarray(pos + 5, pos + 1 + len).equals(EXPLAIN_TAG)) {
        out.push(data.subarray(0, pos), ...this.lines.map(dataRow));
        this.done = true;
        out.push(data.subarray(pos));
        this.carry = Buffer.alloc(0);
        return Buffer.concat(out);
      }
      pos += 1 + len;
    }
    this.carry = data.subarray(pos);
    return data.subarray(0, pos);
  }

  /** What is still held at the end of the output. */
  end(): Buffer {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    return rest;
  }
}

function dataRow(text: string): Buffer {
  const value = Buffer.from(text, 'utf8');
  const b = Buffer.alloc(1 + 4 + 2 + 4 + value.length);
  b[0] = 0x44;
  b.writeInt32BE(4 + 2 + 4 + value.length, 1);
  b.writeInt16BE(1, 5);
  b.writeInt32BE(value.length, 7);
  value.copy(b, 11);
  return b;
}

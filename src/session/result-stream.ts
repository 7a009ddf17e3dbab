// One client result assembled from several engine runs of a query (a scan answered while its table loads,
// see loader/streamed-scan.ts): the first run's RowDescription, every run's rows, notices and errors go to
// the client as the engine produces them; each run's CommandComplete and ReadyForQuery are held back, and
// the row counts add up for the one CommandComplete the session sends at the end.
import { serialize } from 'pg-protocol';
import type { EngineInstance } from '../engine/instance.js';
import type { SessionWriter } from './session.js';

export class ResultStream {
  /** rows sent so far */
  rows = 0;
  /** the RowDescription went out */
  described = false;
  private carry: Buffer | undefined;

  constructor(
    private readonly engine: EngineInstance,
    private readonly writer: SessionWriter,
  ) {}

  /** Runs one query in the engine, its rows to the client. False when it failed (its ErrorResponse went out). */
  async run(sql: string): Promise<boolean> {
    let ok = true;
    this.carry = undefined;
    await this.engine.exec(serialize.query(sql), (chunk, written) => {
      const { out, failed } = this.filter(chunk);
      if (failed) ok = false;
      if (out.length === 0 || this.writer.destroyed) written();
      else this.writer.write(out, () => written());
    });
    return ok;
  }

  /** The messages of `chunk` the client gets (a message cut between chunks waits for its rest). */
  private filter(chunk: Uint8Array): { out: Buffer; failed: boolean } {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.carry) {
      buf = Buffer.concat([this.carry, buf]);
      this.carry = undefined;
    }
    const keep: Buffer[] = [];
    let failed = false;
    let at = 0;
    let runStart = 0; // consecutive kept messages are passed on as one slice
    const cut = (): void => {
      if (at > runStart) keep.push(buf.subarray(runStart, at));
    };
    while (at + 5 <= buf.length) {
      const type = buf[at]!;
      const end = at + 1 + buf.readUInt32BE(at + 1);
      if (end > buf.length) break;
      let drop = false;
      if (type === 0x54 /* T */) {
        drop = this.described;
        this.described = true;
      } else if (type === 0x43 /* C */) {
        const tag = buf.toString('utf8', at + 5, end - 1);
        const m = /^SELECT (\d+)$/.exec(tag);
        if (m) this.rows += Number(m[1]);
        drop = true;
      } else if (type === 0x5a /* Z */) {
        drop = true;
      } else if (type === 0x45 /* E */) {
        failed = true;
      }
      if (drop) {
        cut();
        runStart = end;
      }
      at = end;
    }
    cut();
    if (at < buf.length) this.carry = Buffer.from(buf.subarray(at));
    return { out: keep.length === 1 ? keep[0]! : Buffer.concat(keep), failed };
  }
}

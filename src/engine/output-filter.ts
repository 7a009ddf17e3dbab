// Walks the engine's backend messages as they stream out, without copying bodies it passes on, so the
// session can drop the engine's own CopyInResponse (the session already answered the client), count
// rows, and learn the transaction status from ReadyForQuery. Chunk boundaries fall anywhere, including
// inside a message header.

export class BackendOutputFilter {
  private header = Buffer.alloc(5);
  private headerFill = 0;
  private remaining = 0; // body bytes of the current message still to come
  private dropping = false;
  private watchType = 0; // type of the current message when its body must be inspected
  /** status byte of the last ReadyForQuery: 'I', 'T' or 'E' */
  txStatus = 'I';
  /** whether an ErrorResponse passed since the last reset */
  sawError = false;
  /** DataRows passed since the last reset */
  rows = 0;
  /** first CopyInResponse seen: the session strips the engine's own (it already answered the client) */
  dropCopyIn = false;
  /** bytes of the current, still incomplete, kept message already returned by push() */
  partialBytes = 0;

  /** Returns the parts of `chunk` to pass on (views into it, in order). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = 0;
    let keepFrom = -1; // start of a run of kept bytes in this chunk
    const flush = (end: number) => {
      if (keepFrom >= 0 && end > keepFrom) out.push(chunk.subarray(keepFrom, end));
      keepFrom = -1;
    };
    while (pos < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - pos);
        if (this.watchType === 0x5a /* Z */ && this.remaining === 1) this.txStatus = String.fromCharCode(chunk[pos]);
        if (!this.dropping && keepFrom < 0) keepFrom = pos;
        if (!this.dropping) this.partialBytes += n;
        pos += n;
        this.remaining -= n;
        if (this.remaining === 0) {
          this.dropping = false;
          this.partialBytes = 0;
        }
        continue;
      }
      // Reading a header (possibly split across chunks).
      const need = 5 - this.headerFill;
      const n = Math.min(need, chunk.length - pos);
      const headerStart = pos;
      chunk.subarray(pos, pos + n).forEach((b, i) => { this.header[this.headerFill + i] = b; });
      this.headerFill += n;
      pos += n;
      if (this.headerFill < 5) {
        // Header incomplete: hold these bytes back until we know whether the message is kept.
        flush(headerStart);
        return out.concat(this.pendingHeaderHeld(chunk.subarray(headerStart, pos)));
      }
      const type = this.header[0];
      const length = this.header.readUInt32BE(1);
      this.headerFill = 0;
      this.remaining = length - 4;
      this.watchType = type;
      const drop = type === 0x47 /* G */ && this.dropCopyIn;
      if (drop) this.dropCopyIn = false;
      if (type === 0x45 /* E */) this.sawError = true;
      else if (type === 0x44 /* D */) this.rows++;
      const heldHeader = this.takeHeld();
      if (drop) {
        flush(headerStart);
        this.dropping = this.remaining > 0;
      } else {
        this.partialBytes = this.remaining > 0 ? 5 : 0;
        if (heldHeader) {
          // the header began in an earlier chunk: emit its bytes, then continue the run here
          flush(headerStart);
          out.push(heldHeader);
          out.push(chunk.subarray(headerStart, pos));
        } else if (keepFrom < 0) {
          keepFrom = headerStart;
        }
      }
    }
    flush(pos);
    return out;
  }

  private held: Uint8Array | undefined;
  private pendingHeaderHeld(bytes: Uint8Array): Uint8Array[] {
    this.held = this.held ? Buffer.concat([this.held, bytes]) : Buffer.from(bytes);
    return [];
  }
  private takeHeld(): Uint8Array | undefined {
    const h = this.held;
    this.held = undefined;
    return h;
  }
}

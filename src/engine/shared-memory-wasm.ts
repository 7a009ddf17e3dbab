// PGlite's module imports its memory (env.memory) as an ordinary, unshared one. Declaring that import
// shared lets the engine's memory be a SharedArrayBuffer, so the main thread can do what a signal
// handler does in PostgreSQL — set QueryCancelPending, InterruptPending and the latch — while the
// engine's thread is busy in WebAssembly. The statement then ends at its next CHECK_FOR_INTERRUPTS
// with PostgreSQL's own error, and the engine, its temporary tables and its transaction state live on.
// Only the limits of that one import change (0x01 "has maximum" → 0x03 "has maximum, shared"; a side
// module's import without a maximum gets wasm32's 65,536 pages); non-atomic loads and stores on a
// shared memory behave as before.

function readUleb(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('truncated WebAssembly module');
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, pos];
    shift += 7;
  }
}

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) b |= 0x80;
    out.push(b);
  } while (value);
  return out;
}

function skipName(buf: Uint8Array, pos: number): number {
  const [len, next] = readUleb(buf, pos);
  return next + len;
}

/** A copy of `wasm` whose imported memory is declared shared; throws if the module has no such import. */
export function withSharedImportedMemory(wasm: Uint8Array): Uint8Array {
  if (wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) throw new Error('not a WebAssembly module');
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos++];
    const sizeStart = pos;
    const [size, bodyStart] = readUleb(wasm, pos);
    pos = bodyStart;
    if (id === 2) {
      let [count, p] = readUleb(wasm, pos);
      while (count-- > 0) {
        p = skipName(wasm, skipName(wasm, p));
        const kind = wasm[p++];
        if (kind === 0) p = readUleb(wasm, p)[1]; // function: type index
        else if (kind === 1) { // table: reftype, limits
          p++;
          const flags = wasm[p++];
          p = readUleb(wasm, p)[1];
          if (flags & 1) p = readUleb(wasm, p)[1];
        } else if (kind === 2) { // memory: limits
          const flags = wasm[p];
          if (flags === 3) return wasm; // already shared
          if (flags === 1) {
            const out = new Uint8Array(wasm);
            out[p] = 3;
            return out;
          }
          if (flags !== 0) throw new Error(`imported memory has limits flags ${flags}`);
          // no maximum: flags 0x03, the same minimum, and a maximum; the section grows by its bytes
          const minEnd = readUleb(wasm, p + 1)[1];
          const limits = [0x03, ...wasm.subarray(p + 1, minEnd), ...uleb(65536)];
          const body = [...wasm.subarray(bodyStart, p), ...limits, ...wasm.subarray(minEnd, bodyStart + size)];
          return Uint8Array.from([...wasm.subarray(0, sizeStart), ...uleb(body.length), ...body, ...wasm.subarray(bodyStart + size)]);
        } else if (kind === 3) p += 2; // global: valtype, mutability
        else if (kind === 4) p = readUleb(wasm, p + 1)[1]; // tag: attribute, type index
        else throw new Error(`unknown import kind ${kind}`);
      }
      throw new Error('the module imports no memory');
    }
    pos = bodyStart + size;
  }
  throw new Error('the module has no import section');
}

/** `bytes` with its imported memory declared shared when it imports an unshared one; otherwise `bytes`. */
export function sharedIfImportsMemory(bytes: Uint8Array): Uint8Array {
  try {
    return withSharedImportedMemory(bytes);
  } catch {
    return bytes; // no memory import (a function trampoline), or nothing this can read
  }
}

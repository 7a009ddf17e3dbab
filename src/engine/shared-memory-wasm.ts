// PGlite's module imports its memory (env.memory) as an ordinary, unshared one. Declaring that import
// shared lets the engine's memory be a SharedArrayBuffer, so the main thread can do what a signal
// handler does in PostgreSQL — set QueryCancelPending, InterruptPending and the latch — while the
// engine's thread is busy in WebAssembly. The statement then ends at its next CHECK_FOR_INTERRUPTS
// with PostgreSQL's own error, and the engine, its temporary tables and its transaction state live on.
// Only the limits flag of that one import changes (0x01 "has maximum" → 0x03 "has maximum, shared");
// non-atomic loads and stores on a shared memory behave as before.

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
          if (flags !== 1) throw new Error(`imported memory has limits flags ${flags}; a shared memory needs a maximum`);
          const out = new Uint8Array(wasm);
          out[p] = 3;
          return out;
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

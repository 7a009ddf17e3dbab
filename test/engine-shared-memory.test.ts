// The module rewrite behind cancelling in place (src/engine/shared-memory-wasm.ts): PGlite's module and
// its side modules (plpgsql.so) import memory; declared shared, they take the engine's shared memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withSharedImportedMemory, sharedIfImportsMemory } from '../src/engine/shared-memory-wasm.js';
import { pgliteDistDir } from '../src/engine/artifacts.js';

/** A module importing env.memory (with or without a maximum) and a function env.f. */
function sideModule(maximum?: number): Uint8Array {
  const limits = maximum === undefined ? [0x00, 1] : [0x01, 1, ...leb(maximum)];
  const imports = [2, 3, ...Buffer.from('env'), 6, ...Buffer.from('memory'), 2, ...limits, 3, ...Buffer.from('env'), 1, ...Buffer.from('f'), 0, 0];
  return Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, imports.length, ...imports]);
}
function leb(v: number): number[] {
  const out: number[] = [];
  do { let b = v & 0x7f; v >>>= 7; if (v) b |= 0x80; out.push(b); } while (v);
  return out;
}

// (the project's TypeScript libraries have no WebAssembly JS API types)
const W = WebAssembly as unknown as {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => object;
};
const sharedMemory = () => new W.Memory({ initial: 2, maximum: 32768, shared: true });

test('a side module without a maximum is declared shared with one, and links to a shared memory', () => {
  const original = sideModule();
  assert.throws(() => new W.Instance(new W.Module(original), { env: { memory: sharedMemory(), f() {} } }), /shared/);
  const patched = withSharedImportedMemory(original);
  assert.ok(new W.Instance(new W.Module(patched), { env: { memory: sharedMemory(), f() {} } }));
});

test('a module with a maximum keeps it and changes one byte', () => {
  const original = sideModule(32768);
  const patched = withSharedImportedMemory(original);
  assert.equal(patched.length, original.length);
  assert.equal(patched.filter((b, i) => b !== original[i]).length, 1);
  assert.ok(new W.Instance(new W.Module(patched), { env: { memory: sharedMemory(), f() {} } }));
});

test("PGlite's own module imports its memory with a maximum; a module without a memory import is left as it is", () => {
  const pglite = new Uint8Array(readFileSync(path.join(pgliteDistDir(), 'pglite.wasm')));
  const patched = withSharedImportedMemory(pglite);
  assert.equal(patched.length, pglite.length);
  assert.ok(new W.Module(patched));
  const trampoline = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, 7, 1, 1, 101, 1, 102, 0, 0]);
  assert.equal(sharedIfImportsMemory(trampoline), trampoline);
  assert.throws(() => withSharedImportedMemory(Uint8Array.from([1, 2, 3, 4])), /not a WebAssembly module/);
});

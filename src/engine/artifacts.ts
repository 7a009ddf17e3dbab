// PGlite's WebAssembly modules and file-system bundle, compiled and read once per process and
// shared with every engine worker (a WebAssembly.Module and a Blob cross postMessage without a copy
// or a recompile).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { withSharedImportedMemory } from './shared-memory-wasm.js';

export interface EngineArtifacts {
  /** PGlite's module with its memory import declared shared (see shared-memory-wasm.ts), or as shipped */
  pgliteWasmModule: WebAssembly.Module;
  /** whether pgliteWasmModule takes a shared memory: statements can then be interrupted in place */
  sharedMemory: boolean;
  initdbWasmModule: WebAssembly.Module;
  fsBundle: Blob;
}

let loading: Promise<EngineArtifacts> | undefined;

export function pgliteDistDir(): string {
  const require = createRequire(import.meta.url);
  // The package's "main" lives in dist/; its .wasm and .data files sit beside it.
  return path.dirname(require.resolve('@electric-sql/pglite'));
}

export function loadEngineArtifacts(): Promise<EngineArtifacts> {
  loading ??= (async () => {
    const dir = pgliteDistDir();
    const [pglite, initdb, bundle] = await Promise.all([
      readFile(path.join(dir, 'pglite.wasm')),
      readFile(path.join(dir, 'initdb.wasm')),
      readFile(path.join(dir, 'pglite.data')),
    ]);
    let shared: Uint8Array | undefined;
    try {
      shared = withSharedImportedMemory(pglite);
    } catch {
      shared = undefined; // another PGlite build: statements are cancelled by ending the engine, as before
    }
    const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
      WebAssembly.compile(shared ?? pglite),
      WebAssembly.compile(initdb),
    ]);
    return { pgliteWasmModule, sharedMemory: shared !== undefined, initdbWasmModule, fsBundle: new Blob([bundle]) };
  })();
  return loading;
}

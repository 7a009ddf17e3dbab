// PGlite's WebAssembly modules and file-system bundle, compiled and read once per process and
// shared with every engine worker (a WebAssembly.Module and a Blob cross postMessage without a copy
// or a recompile).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { withSharedImportedMemory } from './shared-memory-wasm.js';

export interface EngineArtifacts {
  /** PGlite's module as shipped */
  pgliteWasmModule: WebAssembly.Module;
  /**
   * The same with its memory import declared shared (see shared-memory-wasm.ts): statements can then be
   * interrupted in place. Undefined for a build it cannot be made from. Not for initdb, whose second
   * engine instance ("child process") fails on a shared memory.
   */
  sharedPgliteWasmModule?: WebAssembly.Module;
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
    const [pgliteWasmModule, sharedPgliteWasmModule, initdbWasmModule] = await Promise.all([
      WebAssembly.compile(pglite),
      shared ? WebAssembly.compile(shared) : undefined,
      WebAssembly.compile(initdb),
    ]);
    return { pgliteWasmModule, sharedPgliteWasmModule, initdbWasmModule, fsBundle: new Blob([bundle]) };
  })();
  return loading;
}

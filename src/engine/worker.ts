// One PGlite engine in its own thread. PGlite runs its WebAssembly synchronously, so a long statement
// blocks only this thread; the main thread keeps serving every other session. The engine's memory is
// shared with the main thread, which cancels a statement by raising PostgreSQL's interrupt flags in it
// (interrupt.ts); terminating this thread is the fallback.
import { parentPort } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { BackendOutputFilter } from './output-filter.js';
import { CONTROL, batchEnds, batchStarts, type InterruptTarget } from './interrupt.js';
import { sharedIfImportsMemory } from './shared-memory-wasm.js';
import { WATCHED_SETTINGS, type MainToWorker, type WorkerToMain } from './worker-protocol.js';

if (!parentPort) throw new Error('engine worker must run in a worker thread');
const port = parentPort;

let db: PGlite | undefined;
let control: Int32Array | undefined;
let interrupt: { target: InterruptTarget; heap: Int32Array } | undefined;
let highWaterBytes = 4 * 1024 * 1024;
// PGlite sends no ParameterStatus of its own (checked: SET, RESET, errors, transaction ends); the
// changes PostgreSQL would report are synthesised below (reportChangedParameters).
const filter = new BackendOutputFilter();

function send(msg: WorkerToMain, transfer?: ArrayBuffer[]): void {
  port.postMessage(msg, transfer ?? []);
}

/** Blocks this thread while the client has not drained enough of what we sent: real backpressure. */
function waitForDrain(): void {
  if (!control) return;
  for (;;) {
    const outstanding = Atomics.load(control, CONTROL.outstandingBytes);
    if (outstanding <= highWaterBytes) return;
    Atomics.wait(control, CONTROL.outstandingBytes, outstanding, 1000);
  }
}

// Output is coalesced into chunks of this size: fewer, larger messages to the main thread.
const CHUNK = 256 * 1024;
let pending: Uint8Array[] = [];
let pendingBytes = 0;

/**
 * Sends what is pending, up to the last whole message: a client must never see half a message,
 * even when this worker is terminated (cancel) right after.
 */
function flushOutput(id: number, holdBack = 0): void {
  const sendBytes = pendingBytes - filter.partialBytes - holdBack;
  if (sendBytes <= 0) return;
  const all = new Uint8Array(pendingBytes);
  let off = 0;
  for (const p of pending) {
    all.set(p, off);
    off += p.length;
  }
  const buf = sendBytes === pendingBytes ? all : all.slice(0, sendBytes);
  pending = sendBytes === pendingBytes ? [] : [all.subarray(sendBytes)];
  pendingBytes -= sendBytes;
  if (control) Atomics.add(control, CONTROL.outstandingBytes, buf.length);
  send({ type: 'chunk', id, data: buf }, [buf.buffer]);
  waitForDrain();
}

function collect(id: number, raw: Uint8Array): void {
  for (const part of filter.push(raw)) {
    // raw is a view into the engine's memory, which the next call reuses: copy what we keep.
    pending.push(new Uint8Array(part));
    pendingBytes += part.length;
    // While parameter changes may still be reported, the last message (ReadyForQuery) stays here.
    if (pendingBytes >= CHUNK) flushOutput(id, reporting ? READY_FOR_QUERY_BYTES : 0);
  }
}

async function handle(msg: MainToWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      control = msg.control ? new Int32Array(msg.control) : undefined;
      highWaterBytes = msg.highWaterBytes ?? highWaterBytes;
      // a data directory still to be made (a template) is made with the module as shipped
      const shared = msg.initDbParams === undefined ? msg.artifacts.sharedPgliteWasmModule : undefined;
      sharedMemoryWanted = shared !== undefined;
      memoryIsShared = shared !== undefined;
      db = new PGlite(msg.dataDir, {
        pgliteWasmModule: shared ?? msg.artifacts.pgliteWasmModule,
        initdbWasmModule: msg.artifacts.initdbWasmModule,
        fsBundle: msg.artifacts.fsBundle,
        database: msg.database,
        startParams: msg.startParams,
        initDbStartParams: msg.initDbParams,
        relaxedDurability: true,
      });
      try {
        await db.waitReady;
      } finally {
        sharedMemoryWanted = false;
      }
      if (msg.initDbParams === undefined) await warmUp(db);
      interrupt = interruptTargetOf(db);
      suppressEngineTimers();
      send({ type: 'ready', interrupt: interrupt?.target });
      return;
    }
    case 'exec': {
      const engine = mustHave(db);
      filter.sawError = false;
      filter.rows = 0;
      filter.dropCopyIn = msg.dropCopyIn ?? false;
      reporting = msg.reportParams === true && reported.size > 0;
      if (control) batchStarts(control, msg.id, interrupt?.target, interrupt?.heap);
      try {
        await engine.execProtocolRawStream(msg.data, { onRawData: (raw) => collect(msg.id, raw) });
        const settings = reporting ? await reportChangedParameters(engine) : undefined;
        reporting = false;
        flushOutput(msg.id);
        send({ type: 'done', id: msg.id, txStatus: filter.txStatus, sawError: filter.sawError, rows: filter.rows, settings });
      } catch (err) {
        flushOutput(msg.id);
        send({ type: 'failed', id: msg.id, message: errorMessage(err) });
      } finally {
        if (control) batchEnds(control, msg.id, interrupt?.target, interrupt?.heap);
      }
      return;
    }
    case 'params-baseline': {
      reported.clear();
      for (const [k, v] of msg.values) reported.set(k, v);
      return;
    }
    case 'query': {
      const engine = mustHave(db);
      try {
        const results = msg.blob
          ? [await engine.query(msg.sql, [], { blob: new Blob([msg.blob]) })]
          : await engine.exec(msg.sql);
        const last = results[results.length - 1];
        send({ type: 'result', id: msg.id, rows: (last?.rows ?? []) as Record<string, unknown>[], affected: last?.affectedRows ?? 0 });
      } catch (err) {
        const e = err as { code?: string; message?: string; detail?: string; hint?: string };
        send({ type: 'result', id: msg.id, rows: [], affected: 0, error: { sqlstate: e.code ?? 'XX000', message: errorMessage(err), detail: e.detail, hint: e.hint } });
      }
      return;
    }
    case 'close': {
      if (db) await db.close();
      send({ type: 'closed' });
      return;
    }
  }
}

// PGlite does not send ParameterStatus when a reported setting changes (SET TimeZone, RESET ALL, a
// rolled-back SET LOCAL …); PostgreSQL does, and drivers (pgjdbc, pgx) track them. After a batch
// that may have changed settings, the changed ones are read and sent just before ReadyForQuery.
const READY_FOR_QUERY_BYTES = 6;
const reported = new Map<string, string>();
let reporting = false;


/**
 * Reports changed settings; returns the watched settings (WATCHED_SETTINGS: the session's timeouts,
 * which keapgres enforces itself) as they are now, or undefined when they cannot be read.
 */
async function reportChangedParameters(engine: PGlite): Promise<Record<string, string> | undefined> {
  const tail = takeTrailingReadyForQuery();
  if (!tail) return undefined;
  const names = [...reported.keys()];
  const select = [...names, ...WATCHED_SETTINGS].map((n, i) => `pg_catalog.current_setting('${n}', true) AS p${i}`).join(', ');
  const messages: Uint8Array[] = [];
  let watched: Record<string, string> | undefined;
  try {
    const res = await engine.query<Record<string, string | null>>(`SELECT ${select}`);
    const row = res.rows[0] ?? {};
    names.forEach((n, i) => {
      const v = row[`p${i}`];
      if (typeof v === 'string' && v !== reported.get(n)) {
        reported.set(n, v);
        messages.push(parameterStatus(n, v));
      }
    });
    watched = {};
    WATCHED_SETTINGS.forEach((n, i) => {
      const v = row[`p${names.length + i}`];
      if (typeof v === 'string') watched![n] = v;
    });
  } catch {
    // in a failed transaction settings cannot be read; they are reported after it ends
  }
  for (const m of messages) {
    pending.push(m);
    pendingBytes += m.length;
  }
  pending.push(tail);
  pendingBytes += tail.length;
  return watched;
}

/** Removes the batch's final ReadyForQuery from the pending output, if that is what it ends with. */
function takeTrailingReadyForQuery(): Uint8Array | undefined {
  if (pendingBytes < READY_FOR_QUERY_BYTES) return undefined;
  const all = new Uint8Array(pendingBytes);
  let off = 0;
  for (const p of pending) {
    all.set(p, off);
    off += p.length;
  }
  const start = all.length - READY_FOR_QUERY_BYTES;
  if (all[start] !== 0x5a || all[start + 4] !== 5) return undefined;
  pending = [all.subarray(0, start)];
  pendingBytes = start;
  return all.slice(start);
}

function parameterStatus(name: string, value: string): Uint8Array {
  const body = Buffer.concat([Buffer.from(name), Buffer.from([0]), Buffer.from(value), Buffer.from([0])]);
  const out = Buffer.alloc(5 + body.length);
  out[0] = 0x53;
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

// PGlite's own memory becomes shared (see shared-memory-wasm.ts) while the engine starts.
interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
type MemoryConstructor = new (desc: MemoryDescriptor) => object;
const wasm = WebAssembly as unknown as { Memory: MemoryConstructor };
const NativeMemory = wasm.Memory;
let sharedMemoryWanted = false;
function SharedWhenWanted(desc: MemoryDescriptor): object {
  return new NativeMemory(sharedMemoryWanted && desc.maximum !== undefined ? { ...desc, shared: true } : desc);
}
SharedWhenWanted.prototype = NativeMemory.prototype;
wasm.Memory = SharedWhenWanted as unknown as MemoryConstructor;

// Extensions PGlite loads later (plpgsql.so, …) are side modules importing the same memory: once it is
// shared, their import must say so too, or instantiating them fails.
let memoryIsShared = false;
type ModuleConstructor = new (bytes: Uint8Array) => object;
const wasmModules = WebAssembly as unknown as { Module: ModuleConstructor; instantiate: (source: unknown, imports?: unknown) => Promise<unknown> };
const NativeModule = wasmModules.Module;
const nativeInstantiate = wasmModules.instantiate.bind(WebAssembly);
const asBytes = (source: unknown): Uint8Array | undefined =>
  ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
    : source instanceof ArrayBuffer ? new Uint8Array(source) : undefined;
function SharedWhenShared(bytes: Uint8Array): object {
  const b = memoryIsShared ? asBytes(bytes) : undefined;
  return new NativeModule(b ? sharedIfImportsMemory(b) : bytes);
}
SharedWhenShared.prototype = NativeModule.prototype;
Object.setPrototypeOf(SharedWhenShared, NativeModule);
wasmModules.Module = SharedWhenShared as unknown as ModuleConstructor;
wasmModules.instantiate = (source: unknown, imports?: unknown) => {
  const b = memoryIsShared ? asBytes(source) : undefined;
  return nativeInstantiate(b ? sharedIfImportsMemory(b) : source, imports);
};

interface EmscriptenModule { HEAPU8: Uint8Array; _QueryCancelPending?: number; _InterruptPending?: number; _MyLatch?: number }

function interruptTargetOf(engine: PGlite): { target: InterruptTarget; heap: Int32Array } | undefined {
  const mod = (engine as unknown as { mod?: EmscriptenModule }).mod;
  const memory = mod?.HEAPU8.buffer;
  if (!(memory instanceof SharedArrayBuffer) || !mod?._QueryCancelPending || !mod._InterruptPending || !mod._MyLatch) return undefined;
  const target: InterruptTarget = { memory, queryCancelPending: mod._QueryCancelPending, interruptPending: mod._InterruptPending, myLatch: mod._MyLatch };
  return { target, heap: new Int32Array(memory) };
}

/**
 * PostgreSQL arms its timeouts (statement, idle, transaction) through setitimer, which PGlite turns into
 * setTimeout on this thread: such a timer cannot fire while a statement runs, and one that fires between
 * batches would end the engine at its next statement. keapgres enforces those settings itself (src/session),
 * so the engine's timers are never started.
 */
function suppressEngineTimers(): void {
  const native = globalThis.setTimeout;
  const replacement = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (typeof fn === 'function' && fn.toString().includes('__emscripten_timeout')) return { unref() { return this; }, ref() { return this; } };
    return native(fn, ms, ...args);
  };
  (globalThis as unknown as { setTimeout: unknown }).setTimeout = replacement;
}

/**
 * A new engine's first trigger, PL/pgSQL function, temporary table and jsonb aggregate cost several times what
 * later ones do (the side module, catalog caches, code paths run for the first time): a session's first write
 * paid 150–400 ms for it. Done here once, on temporary objects, while the engine waits in the pool.
 */
async function warmUp(engine: PGlite): Promise<void> {
  try {
    await engine.exec(`LOAD 'plpgsql';
CREATE TEMP TABLE keapgres_warm_t (id bigint PRIMARY KEY, v text, at timestamptz);
CREATE TEMP TABLE keapgres_warm_c (n bigserial, o jsonb, nw jsonb);
CREATE FUNCTION pg_temp.keapgres_warm_f() RETURNS trigger LANGUAGE plpgsql AS $w$
BEGIN
  INSERT INTO pg_temp.keapgres_warm_c (o, nw) VALUES (CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END, to_jsonb(NEW));
  RETURN NULL;
END $w$;
CREATE TRIGGER keapgres_warm BEFORE INSERT OR UPDATE OR DELETE ON pg_temp.keapgres_warm_t FOR EACH ROW EXECUTE FUNCTION pg_temp.keapgres_warm_f();
INSERT INTO pg_temp.keapgres_warm_t SELECT g, g::text, now() FROM generate_series(1, 200) g ON CONFLICT DO NOTHING;
DROP TRIGGER keapgres_warm ON pg_temp.keapgres_warm_t;
SELECT pg_catalog.json_agg(pg_catalog.json_build_array(o, nw) ORDER BY n)::text FROM pg_temp.keapgres_warm_c`);
  } catch {
    // only a warm-up
  }
  await engine.exec('DISCARD ALL').catch(() => undefined);
}

function mustHave(engine: PGlite | undefined): PGlite {
  if (!engine) throw new Error('engine not initialised');
  return engine;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// Messages are handled strictly one at a time: the engine is single-threaded and stateful.
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: MainToWorker) => {
  queue = queue.then(() => handle(msg)).catch((err) => {
    send({ type: 'fatal', message: errorMessage(err) });
  });
});

// One PGlite engine in its own thread. PGlite runs its WebAssembly synchronously, so a long statement
// blocks only this thread; the main thread keeps serving every other session, and cancelling a
// statement means terminating this thread.
import { parentPort } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { BackendOutputFilter } from './output-filter.js';
import type { MainToWorker, WorkerToMain } from './worker-protocol.js';

if (!parentPort) throw new Error('engine worker must run in a worker thread');
const port = parentPort;

let db: PGlite | undefined;
let control: Int32Array | undefined;
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
    const outstanding = Atomics.load(control, 0);
    if (outstanding <= highWaterBytes) return;
    Atomics.wait(control, 0, outstanding, 1000);
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
  if (control) Atomics.add(control, 0, buf.length);
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
      db = new PGlite(msg.dataDir, {
        pgliteWasmModule: msg.artifacts.pgliteWasmModule,
        initdbWasmModule: msg.artifacts.initdbWasmModule,
        fsBundle: msg.artifacts.fsBundle,
        database: msg.database,
        startParams: msg.startParams,
        initDbStartParams: msg.initDbParams,
        relaxedDurability: true,
      });
      await db.waitReady;
      send({ type: 'ready' });
      return;
    }
    case 'exec': {
      const engine = mustHave(db);
      filter.sawError = false;
      filter.rows = 0;
      filter.dropCopyIn = msg.dropCopyIn ?? false;
      reporting = msg.reportParams === true && reported.size > 0;
      try {
        await engine.execProtocolRawStream(msg.data, { onRawData: (raw) => collect(msg.id, raw) });
        if (reporting) await reportChangedParameters(engine);
        reporting = false;
        flushOutput(msg.id);
        send({ type: 'done', id: msg.id, txStatus: filter.txStatus, sawError: filter.sawError, rows: filter.rows });
      } catch (err) {
        flushOutput(msg.id);
        send({ type: 'failed', id: msg.id, message: errorMessage(err) });
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

async function reportChangedParameters(engine: PGlite): Promise<void> {
  const tail = takeTrailingReadyForQuery();
  if (!tail) return;
  const names = [...reported.keys()];
  const select = names.map((n, i) => `pg_catalog.current_setting('${n}', true) AS p${i}`).join(', ');
  const messages: Uint8Array[] = [];
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
  } catch {
    // in a failed transaction settings cannot be read; they are reported after it ends
  }
  for (const m of messages) {
    pending.push(m);
    pendingBytes += m.length;
  }
  pending.push(tail);
  pendingBytes += tail.length;
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

// The main thread's handle on one engine worker: raw protocol batches in, streamed bytes out.
import { Worker } from 'node:worker_threads';
import { rm } from 'node:fs/promises';
import { SqlError } from '../errors.js';
import type { EngineArtifacts } from './artifacts.js';
import { CONTROL, CONTROL_BYTES, requestCancel, type InterruptTarget } from './interrupt.js';
import type { MainToWorker, WorkerToMain } from './worker-protocol.js';

export interface EngineStartOptions {
  artifacts: EngineArtifacts;
  dataDir: string;
  database: string;
  startParams: string[];
  /** initdb arguments, when the data directory does not exist yet */
  initDbParams?: string[];
  /** bytes the engine may run ahead of the client before it waits */
  highWaterBytes?: number;
  /** remove dataDir when the instance ends */
  ownsDataDir?: boolean;
}

export interface ExecOutcome {
  /** ReadyForQuery status after the batch: 'I' idle, 'T' in transaction, 'E' failed transaction */
  txStatus: string;
  sawError: boolean;
  /** DataRows sent */
  rows: number;
  /** the session's timeout settings, when the batch may have changed them and they could be read */
  settings?: Record<string, string>;
}

/** Receives engine output; `written` must be called once the bytes have left for the client. */
export type OutputSink = (chunk: Uint8Array, written: () => void) => void;

interface PendingExec {
  kind: 'exec';
  sink: OutputSink;
  resolve: (o: ExecOutcome) => void;
  reject: (e: Error) => void;
}
interface PendingQuery {
  kind: 'query';
  resolve: (r: { rows: Record<string, unknown>[]; affected: number }) => void;
  reject: (e: Error) => void;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class EngineInstance {
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly pending = new Map<number, PendingExec | PendingQuery>();
  private nextId = 1;
  private exited = false;
  private exitListeners: Array<(reason: string) => void> = [];
  readonly dataDir: string;
  readonly database: string;
  private readonly ownsDataDir: boolean;
  private interruptTarget?: { target: InterruptTarget; heap: Int32Array };
  /** the exec batch the worker has been given last and not yet finished */
  private runningExec = 0;

  private constructor(worker: Worker, control: Int32Array, opts: EngineStartOptions) {
    this.worker = worker;
    this.control = control;
    this.dataDir = opts.dataDir;
    this.database = opts.database;
    this.ownsDataDir = opts.ownsDataDir ?? false;
  }

  static async start(opts: EngineStartOptions): Promise<EngineInstance> {
    const sab = new SharedArrayBuffer(CONTROL_BYTES);
    const worker = new Worker(WORKER_URL);
    const instance = new EngineInstance(worker, new Int32Array(sab), opts);
    const ready = new Promise<void>((resolve, reject) => {
      instance.readyWaiter = { resolve, reject };
    });
    worker.on('message', (m: WorkerToMain) => instance.onMessage(m));
    worker.on('error', (err) => instance.onExit(`engine worker failed: ${err.message}`));
    worker.on('exit', (code) => instance.onExit(`engine worker exited (code ${code})`));
    const init: MainToWorker = {
      type: 'init',
      artifacts: opts.artifacts,
      dataDir: opts.dataDir,
      database: opts.database,
      startParams: opts.startParams,
      initDbParams: opts.initDbParams,
      control: sab,
      highWaterBytes: opts.highWaterBytes,
    };
    worker.postMessage(init);
    try {
      await ready;
    } catch (err) {
      await instance.terminate();
      throw err;
    }
    return instance;
  }

  private readyWaiter?: { resolve: () => void; reject: (e: Error) => void };

  get alive(): boolean {
    return !this.exited;
  }

  /** Whether a running batch can be cancelled in place (cancelExec), keeping the engine. */
  get interruptible(): boolean {
    return this.interruptTarget !== undefined && !this.exited;
  }

  /**
   * Cancels the running batch as PostgreSQL does on a CancelRequest: its statement ends with 57014 at
   * its next interrupt check and the batch finishes normally. False when that is not possible (no
   * shared memory, no batch running): then only terminate() stops it.
   */
  cancelExec(): boolean {
    const t = this.interruptTarget;
    if (!t || this.exited || this.runningExec === 0) return false;
    requestCancel(this.control, this.runningExec, t.target, t.heap);
    return true;
  }

  /** Runs raw frontend messages; output goes to `sink` as the engine produces it. */
  exec(data: Uint8Array, sink: OutputSink, opts: { dropCopyIn?: boolean; reportParams?: boolean } = {}): Promise<ExecOutcome> {
    if (this.exited) return Promise.reject(new Error('engine is gone'));
    const id = this.nextId++;
    return new Promise<ExecOutcome>((resolve, reject) => {
      this.pending.set(id, { kind: 'exec', sink, resolve, reject });
      this.runningExec = id;
      const copy = new Uint8Array(data); // transferred to the worker
      this.worker.postMessage({ type: 'exec', id, data: copy, dropCopyIn: opts.dropCopyIn, reportParams: opts.reportParams } satisfies MainToWorker, [copy.buffer]);
    });
  }

  /** Runs internal SQL (several statements allowed); rows of the last one. Engine errors become SqlError. */
  query(sql: string, blob?: Uint8Array): Promise<{ rows: Record<string, unknown>[]; affected: number }> {
    if (this.exited) return Promise.reject(new Error('engine is gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { kind: 'query', resolve, reject });
      // Transferred, not copied: a view of a larger buffer (Node's pool for small Buffers) is copied out first.
      const own = blob && (blob.byteOffset !== 0 || blob.byteLength !== blob.buffer.byteLength) ? new Uint8Array(blob) : blob;
      const msg: MainToWorker = { type: 'query', id, sql, blob: own };
      this.worker.postMessage(msg, own ? [own.buffer as ArrayBuffer] : []);
    });
  }

  /** ParameterStatus values the client holds; the engine reports changes to them after each batch that may change them. */
  setReportedParameters(values: Array<[string, string]>): void {
    if (!this.exited) this.worker.postMessage({ type: 'params-baseline', values } satisfies MainToWorker);
  }

  /** Called once when the engine ends, whichever way (terminated, closed, crashed). */
  onExitOnce(listener: (reason: string) => void): void {
    if (this.exited) listener('engine already ended');
    else this.exitListeners.push(listener);
  }

  /** Ends the worker at once, whatever it is doing (this is how a statement is cancelled). */
  async terminate(): Promise<void> {
    if (!this.exited) {
      this.exited = true;
      await this.worker.terminate().catch(() => undefined);
      this.failPending('engine terminated');
      this.notifyExit('engine terminated');
    }
    await this.removeDataDir();
  }

  /** Shuts the engine down cleanly (checkpoint), then ends the worker. */
  async close(): Promise<void> {
    if (!this.exited) {
      const closed = new Promise<void>((resolve) => {
        this.closeWaiter = resolve;
        setTimeout(resolve, 5000).unref();
      });
      this.worker.postMessage({ type: 'close' } satisfies MainToWorker);
      await closed;
    }
    await this.terminate();
  }
  private closeWaiter?: () => void;

  private async removeDataDir(): Promise<void> {
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true }).catch(() => undefined);
  }

  private onMessage(m: WorkerToMain): void {
    switch (m.type) {
      case 'ready':
        if (m.interrupt) this.interruptTarget = { target: m.interrupt, heap: new Int32Array(m.interrupt.memory) };
        this.readyWaiter?.resolve();
        this.readyWaiter = undefined;
        return;
      case 'chunk': {
        const p = this.pending.get(m.id);
        const length = m.data.length;
        const written = () => {
          Atomics.sub(this.control, CONTROL.outstandingBytes, length);
          Atomics.notify(this.control, CONTROL.outstandingBytes);
        };
        if (p?.kind === 'exec') p.sink(m.data, written);
        else written();
        return;
      }
      case 'done': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (this.runningExec === m.id) this.runningExec = 0;
        if (p?.kind === 'exec') p.resolve({ txStatus: m.txStatus, sawError: m.sawError, rows: m.rows, settings: m.settings });
        return;
      }
      case 'failed': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (this.runningExec === m.id) this.runningExec = 0;
        p?.reject(new Error(m.message));
        return;
      }
      case 'result': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (p?.kind !== 'query') return;
        if (m.error) p.reject(new SqlError(m.error.sqlstate, m.error.message, { detail: m.error.detail, hint: m.error.hint }));
        else p.resolve({ rows: m.rows, affected: m.affected });
        return;
      }
      case 'closed':
        this.closeWaiter?.();
        return;
      case 'fatal':
        this.onExit(`engine failed: ${m.message}`);
        void this.terminate();
        return;
    }
  }

  private onExit(reason: string): void {
    const wasAlive = !this.exited;
    this.exited = true;
    this.readyWaiter?.reject(new Error(reason));
    this.readyWaiter = undefined;
    this.failPending(reason);
    if (wasAlive) this.notifyExit(reason);
  }

  private notifyExit(reason: string): void {
    const listeners = this.exitListeners;
    this.exitListeners = [];
    for (const l of listeners) l(reason);
  }

  private failPending(reason: string): void {
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }
}

// One fetch from Keap shared by every session that wants the same rows at the same time: pages are kept
// as they arrive, and each reader gets all of them from the first, at its own pace. The fetch is aborted
// only when every reader has gone.
import { SqlError, SQLSTATE } from '../errors.js';
import type { CopyChunk } from '../keap/connector.js';

export class Flight {
  private readonly pages: CopyChunk[] = [];
  private done = false;
  private failure: unknown;
  private wake: Array<() => void> = [];
  private readers = 0;
  private readonly controller = new AbortController();
  /** resolves when the fetch ended (successfully or not); never rejects */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor() {
    this.settled = new Promise((r) => (this.settle = r));
  }

  /** aborted when no reader is left */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get failed(): boolean {
    return this.done && this.failure !== undefined;
  }

  push(page: CopyChunk): void {
    this.pages.push(page);
    this.notify();
  }

  finish(err?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = err;
    this.notify();
    this.settle();
  }

  /** Pages from the first; throws the fetch's error (or the reader's own cancel). */
  async *read(signal: AbortSignal): AsyncGenerator<CopyChunk> {
    this.readers++;
    let i = 0;
    const onAbort = (): void => this.notify();
    signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason ?? new SqlError(SQLSTATE.queryCanceled, 'canceling statement due to user request');
        if (i < this.pages.length) {
          yield this.pages[i++]!;
          continue;
        }
        if (this.done) {
          if (this.failure !== undefined) throw this.failure;
          return;
        }
        await new Promise<void>((r) => this.wake.push(r));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (--this.readers === 0 && !this.done) this.controller.abort(new SqlError(SQLSTATE.queryCanceled, 'every reader of the fetch went away'));
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }
}

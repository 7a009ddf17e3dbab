// Cancelling a statement inside a running engine, as PostgreSQL's SIGINT handler does: set
// QueryCancelPending and InterruptPending and the process latch, in the engine's (shared) memory,
// from the main thread. The statement ends at its next CHECK_FOR_INTERRUPTS with 57014, and
// everything else of the session — temporary tables, prepared statements, the transaction — stays.
//
// The control words (an Int32Array shared by the main thread and the engine's worker) make sure a
// cancel reaches only the batch it was meant for, never the next one:
//   RUNNING   the id of the batch the worker is running (0 between batches; -id while the main
//             thread is raising the flags, so the worker waits for it before it clears them)
//   REQUESTED the id of the batch a cancel was asked for (the worker raises the flags itself if the
//             request came before the batch started)

export const CONTROL = { outstandingBytes: 0, running: 1, requested: 2 } as const;
export const CONTROL_BYTES = 16;

/** Where PostgreSQL keeps its interrupt flags in the engine's memory (addresses from PGlite's exports). */
export interface InterruptTarget {
  memory: SharedArrayBuffer;
  queryCancelPending: number;
  interruptPending: number;
  /** address of the `MyLatch` pointer */
  myLatch: number;
}

/** StatementCancelHandler's work, then SetLatch (`is_set` is a Latch's first field). */
export function raiseCancel(t: InterruptTarget, heap: Int32Array): void {
  Atomics.store(heap, t.queryCancelPending >> 2, 1);
  Atomics.store(heap, t.interruptPending >> 2, 1);
  const latch = Atomics.load(heap, t.myLatch >> 2);
  if (latch > 0 && latch + 4 <= heap.byteLength) Atomics.store(heap, latch >> 2, 1);
}

/** Between batches a cancel means nothing (PostgreSQL ignores one that arrives while it is idle). */
export function clearCancel(t: InterruptTarget, heap: Int32Array): void {
  Atomics.store(heap, t.queryCancelPending >> 2, 0);
}

/** Main thread: asks for batch `id` to be cancelled; true when the request is in place. */
export function requestCancel(control: Int32Array, id: number, t: InterruptTarget, heap: Int32Array): void {
  Atomics.store(control, CONTROL.requested, id);
  if (Atomics.compareExchange(control, CONTROL.running, id, -id) === id) {
    raiseCancel(t, heap);
    Atomics.store(control, CONTROL.running, id);
  }
}

/** Worker: batch `id` starts; a cancel asked for before it began is raised now. */
export function batchStarts(control: Int32Array, id: number, t: InterruptTarget | undefined, heap: Int32Array | undefined): void {
  Atomics.store(control, CONTROL.running, id);
  if (t && heap && Atomics.load(control, CONTROL.requested) === id) raiseCancel(t, heap);
}

/** Worker: batch `id` is over; a cancel that came too late for it must not reach the next one. */
export function batchEnds(control: Int32Array, id: number, t: InterruptTarget | undefined, heap: Int32Array | undefined): void {
  // -id: the main thread is raising the flags right now; it takes a few instructions
  while (Atomics.compareExchange(control, CONTROL.running, id, 0) === -id) { /* wait for it */ }
  if (t && heap) clearCancel(t, heap);
  Atomics.compareExchange(control, CONTROL.requested, id, 0);
}

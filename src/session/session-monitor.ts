// What a session tells the server about itself, for what PostgreSQL does across sessions
// (pg_stat_activity, signals between backends, LISTEN/NOTIFY). src/backends implements it; the
// session only says when things happen.
import type { EngineInstance, ExecOutcome, OutputSink } from '../engine/instance.js';
import type { BatchStatement } from './session.js';

export interface SessionMonitor {
  /** an engine now serves the session (its first, or a fresh one after a cancel), set up for the client */
  engineReady(engine: EngineInstance): Promise<void>;
  /** a batch begins: the client's statements, and the transaction status before them */
  batchStarted(statements: readonly BatchStatement[], txStatus: string): void;
  /**
   * The batch goes to the engine next: the monitor gives the engine what its statements read, and may
   * put itself between the engine's output and the client (returns the sink to use instead).
   */
  beforeEngine(engine: EngineInstance, txStatus: string, sink: OutputSink): Promise<OutputSink>;
  /** the engine ran the batch (outcome undefined: it failed and is being replaced) */
  afterEngine(engine: EngineInstance, outcome: ExecOutcome | undefined, txBefore: string, txAfter: string): Promise<void>;
  /** the batch is over; `ends` is 'Z' when it ended with ReadyForQuery */
  batchEnded(txStatus: string, ends: 'Z' | 'none'): void;
  /** the session waits for its client with nothing half-sent: what is queued for the client may go out */
  idle(txStatus: string): void;
}

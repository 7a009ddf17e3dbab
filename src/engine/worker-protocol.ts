// Messages between the main thread and an engine worker.
import type { EngineArtifacts } from './artifacts.js';
import type { InterruptTarget } from './interrupt.js';

export type MainToWorker =
  | {
      type: 'init';
      artifacts: EngineArtifacts;
      dataDir: string;
      database: string;
      startParams: string[];
      initDbParams?: string[];
      /** control words (interrupt.ts CONTROL): bytes not yet written to the client, the batch running, a cancel asked */
      control?: SharedArrayBuffer;
      highWaterBytes?: number;
    }
  /** raw frontend protocol bytes, run as one call; output streams back as chunks */
  | { type: 'exec'; id: number; data: Uint8Array; dropCopyIn?: boolean; reportParams?: boolean }
  /** the ParameterStatus values the client was sent at startup: later changes are reported against them */
  | { type: 'params-baseline'; values: Array<[string, string]> }
  /** an internal statement (setup, loading, reset), never seen by the client */
  | { type: 'query'; id: number; sql: string; blob?: Uint8Array }
  | { type: 'close' };

export interface EngineErrorFields {
  sqlstate: string;
  message: string;
  detail?: string;
  hint?: string;
}

export type WorkerToMain =
  /** interrupt: where the engine's interrupt flags are, when its memory is shared */
  | { type: 'ready'; interrupt?: InterruptTarget }
  | { type: 'chunk'; id: number; data: Uint8Array }
  /** settings: the session's timeouts after a batch that may have changed settings (unread in a failed transaction) */
  | { type: 'done'; id: number; txStatus: string; sawError: boolean; rows: number; settings?: Record<string, string> }
  | { type: 'failed'; id: number; message: string }
  | { type: 'result'; id: number; rows: Record<string, unknown>[]; affected: number; error?: EngineErrorFields }
  | { type: 'closed' }
  | { type: 'fatal'; message: string };

/** Settings read with the reported ones after a batch that may change settings: the timeouts the session enforces. */
export const WATCHED_SETTINGS = ['statement_timeout', 'idle_in_transaction_session_timeout', 'idle_session_timeout', 'transaction_timeout'] as const;

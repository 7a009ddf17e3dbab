// Messages between the main thread and an engine worker.
import type { EngineArtifacts } from './artifacts.js';

export type MainToWorker =
  | {
      type: 'init';
      artifacts: EngineArtifacts;
      dataDir: string;
      database: string;
      startParams: string[];
      initDbParams?: string[];
      /** Int32Array[0] = bytes sent to the main thread and not yet written to the client */
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
  | { type: 'ready' }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'done'; id: number; txStatus: string; sawError: boolean; rows: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'result'; id: number; rows: Record<string, unknown>[]; affected: number; error?: EngineErrorFields }
  | { type: 'closed' }
  | { type: 'fatal'; message: string };

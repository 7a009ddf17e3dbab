// Where the shared cache of several keapgres instances lives (issue 14: CacheConnection): entries with their
// version and synchronisation time, and their rows by key with the version that last changed each, so an
// instance behind catches up by the rows that changed. The cache depends on this interface only; the
// PostgreSQL implementation is in src/shared-state.
import type { PushedCondition } from '../planner/types.js';

export interface RemoteHead {
  /** the stored entry's identity: a new id means it was dropped and made again (catch up by every row) */
  id: number;
  version: number;
  /** epoch ms */
  syncedAt: number;
  truncated: boolean;
  /** rows the stored version holds */
  rows: number;
}

export interface RemoteRows extends RemoteHead {
  /** COPY lines of the rows changed after the version asked from (every row when asked from none) */
  lines: string[];
  /** keys deleted after that version */
  deleted: string[];
  /** lines holds every row (the version asked from was too old to catch up by changes) */
  whole: boolean;
}

export interface Publication {
  table: string;
  key: string;
  pushed: readonly PushedCondition[];
  limited: boolean;
  truncated: boolean;
  /** epoch ms when the synchronisation that made this version began */
  syncedAt: number;
  /** rows the new version holds */
  rows: number;
  /** the rows' keys and COPY lines that are new or changed, and the keys deleted */
  changed: ReadonlyArray<readonly [string, string]>;
  deleted: readonly string[];
  /** the changes apply to this stored version; undefined: they are every row (replace what is stored) */
  base?: { id: number; version: number };
}

export interface CacheBackplane {
  /** the stored entries of these keys (one round trip), by key */
  heads(keys: readonly string[]): Promise<Map<string, RemoteHead>>;
  /** rows changed after `from` (same id), or every row */
  rows(key: string, from?: { id: number; version: number }): Promise<RemoteRows | undefined>;
  /** stores a new version; returns its head */
  publish(p: Publication): Promise<RemoteHead>;
  /** makes the stored entries of a table stale (a write at Keap changed what they hold) */
  expire(table: string, olderThanMs: number): Promise<void>;
  remove(keys: readonly string[]): Promise<void>;
  /** drops the stored entries of a table, or of every table */
  clear(table?: string): Promise<void>;
  /**
   * Runs `fn` while this instance alone synchronises `key` (other instances wait, then find the result);
   * `release` may be called later than fn returns (a cold fetch streams on after its first rows).
   */
  lock(key: string, signal: AbortSignal): Promise<() => Promise<void>>;
}

// One cached answer of Keap: the rows of a table for one set of conditions Keap applied, at a version
// that grows with every synchronisation, with the keys each synchronisation changed (so an engine holding an
// older version catches up by those rows alone).
import type { PushedCondition } from '../planner/types.js';
import { TableRows } from './table-rows.js';
import type { TableSchema } from '../schema/types.js';

/** The keys one synchronisation changed: version-1 → version. */
export interface ChangeSet {
  version: number;
  changed: string[];
  deleted: string[];
}

/** Change sets kept per entry: an engine further behind reloads the table instead. */
const MAX_CHANGE_SETS = 32;

let entryIds = 0;

export class CacheEntry {
  readonly id = ++entryIds;
  version = 1;
  hits = 0;
  lastUsed: number;
  /** the stored version (CacheConnection) this entry's rows equal */
  remote: { id: number; version: number } | undefined;
  private readonly changeSets: ChangeSet[] = [];

  constructor(
    readonly table: string,
    /** entries of one table with the same key hold the same rows */
    readonly key: string,
    /** the conditions Keap applied; none: every row of the table */
    readonly pushed: readonly PushedCondition[],
    /** a pushed LIMIT and order: the rows answer only this very request */
    readonly limited: boolean,
    public rows: TableRows,
    /** MaxRows cut the fetch short */
    public truncated: boolean,
    /** when the synchronisation that made the current version began (epoch ms) */
    public syncedAt: number,
  ) {
    this.lastUsed = syncedAt;
  }

  get full(): boolean {
    return this.pushed.length === 0 && !this.limited && !this.truncated;
  }

  get bytes(): number {
    return this.rows.bytes;
  }

  /** A new version: `changed` keys hold new rows, `deleted` keys are gone. */
  advance(changed: string[], deleted: string[], syncedAt: number): void {
    this.syncedAt = syncedAt;
    if (changed.length === 0 && deleted.length === 0) return;
    this.version++;
    this.changeSets.push({ version: this.version, changed, deleted });
    if (this.changeSets.length > MAX_CHANGE_SETS) this.changeSets.shift();
  }

  /** Replaces every row (a whole refetch): the difference becomes the new version's change set. */
  replaceRows(next: TableRows, truncated: boolean, syncedAt: number): void {
    const { changed, deleted } = next.diffFrom(this.rows);
    this.rows = next;
    this.truncated = truncated;
    this.advance(changed, deleted, syncedAt);
  }

  /** The keys changed and deleted since `version`, or undefined when they are no longer known. */
  changesSince(version: number): { changed: Set<string>; deleted: Set<string> } | undefined {
    if (version === this.version) return { changed: new Set(), deleted: new Set() };
    const first = this.changeSets.findIndex((c) => c.version === version + 1);
    if (first < 0) return undefined;
    const changed = new Set<string>();
    const deleted = new Set<string>();
    for (const c of this.changeSets.slice(first)) {
      for (const k of c.changed) {
        changed.add(k);
        deleted.delete(k);
      }
      for (const k of c.deleted) {
        deleted.add(k);
        changed.delete(k);
      }
    }
    return { changed, deleted };
  }

  static empty(table: TableSchema, key: string, pushed: readonly PushedCondition[], limited: boolean, syncedAt: number): CacheEntry {
    return new CacheEntry(table.name, key, pushed, limited, new TableRows(table), false, syncedAt);
  }
}

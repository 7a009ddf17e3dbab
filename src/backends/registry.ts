// Every backend (client session) of the server, as PostgreSQL's shared memory knows them: what
// pg_stat_activity lists, whom pg_cancel_backend and pg_terminate_backend reach, and who listens to
// which channel of which database.
import type { Backend } from './backend.js';

export class BackendRegistry {
  private readonly backends = new Map<number, Backend>();

  add(backend: Backend): void {
    this.backends.set(backend.pid, backend);
  }

  remove(pid: number): void {
    this.backends.delete(pid);
  }

  get(pid: number): Backend | undefined {
    return this.backends.get(pid);
  }

  get size(): number {
    return this.backends.size;
  }

  /** pg_stat_activity's rows as `viewer` sees them (its own row shows its running statement). */
  activityRows(viewer: Backend): object[] {
    const rows = [...this.backends.values()].map((b) => b.activityRow(b === viewer));
    if (!this.backends.has(viewer.pid)) rows.push(viewer.activityRow(true));
    return rows;
  }

  /** The channels the other sessions of `database` listen to. */
  channelsOfOthers(database: string, pid: number): Set<string> {
    const out = new Set<string>();
    for (const b of this.backends.values()) {
      if (b.pid !== pid && b.database === database) for (const c of b.listenChannels) out.add(c);
    }
    return out;
  }

  /** Notifications `sender` committed, for every other session of its database that listens to their channel. */
  notify(sender: Backend, notifications: ReadonlyArray<{ channel: string; payload: string }>): void {
    for (const b of this.backends.values()) {
      if (b === sender || b.database !== sender.database) continue;
      for (const n of notifications) b.notification(sender.pid, n.channel, n.payload);
    }
  }
}

// LISTEN between sessions. A notification exists only inside the engine whose transaction committed it,
// and the engine shows it (as a NotificationResponse before ReadyForQuery) only on a channel it listens
// to. So every engine listens to the channels its client listens to *and* to those the other sessions
// of its database listen to; what it then shows on a channel only others listen to is passed on to them
// and kept from its own client. The engine's own listening is PostgreSQL's, transactional and all; this
// tells the client's channels apart from the ones listened to only to pass notifications on.
import type { EngineInstance } from '../engine/instance.js';
import { quoteIdent } from '../session/session-setup.js';

export class ListenState {
  /** the channels the client listens to (committed) */
  readonly client = new Set<string>();
  /** the engine's committed channels; undefined: not known (read it before relying on it) */
  private engineSet?: Set<string> = new Set();
  /** LISTENs issued inside the client's open transaction: they count once it commits */
  private readonly inTransaction = new Set<string>();
  /** channels named by the client's LISTEN statements in the open transaction */
  private readonly named = new Set<string>();
  /** channels the engine listens to only for others, as of the last batch */
  passedOn = new Set<string>();

  /** Something listens in the engine: its output may hold notifications. */
  get listening(): boolean {
    return this.engineSet === undefined || this.engineSet.size > 0 || this.inTransaction.size > 0;
  }

  /** A new engine (fresh or from the pool, which unlistens everything): it listens to what `wanted` says. */
  async engineStarted(engine: EngineInstance, wanted: ReadonlySet<string>): Promise<void> {
    this.inTransaction.clear();
    this.named.clear();
    this.engineSet = new Set();
    await this.listen(engine, [...wanted]);
    for (const c of wanted) this.engineSet.add(c);
    this.passedOn = difference(this.engineSet, this.client);
  }

  /**
   * Before a batch: the engine listens to every wanted channel (the client's and the other sessions').
   * Inside a transaction the LISTENs become the client's transaction's (and are issued again each batch:
   * a read-only transaction may have been begun again by the loader). In a failed one nothing can run.
   */
  async beforeBatch(engine: EngineInstance, txStatus: string, wanted: ReadonlySet<string>): Promise<void> {
    if (txStatus === 'E') return;
    if (!this.engineSet) this.engineSet = await readEngineChannels(engine);
    const engineSet = this.engineSet;
    const missing = [...wanted].filter((c) => !engineSet.has(c));
    if (txStatus === 'I') {
      const extra = [...engineSet].filter((c) => !wanted.has(c) && !this.client.has(c));
      await this.listen(engine, missing, extra);
      for (const c of missing) engineSet.add(c);
      for (const c of extra) engineSet.delete(c);
    } else {
      for (const c of missing) this.inTransaction.add(c);
      if (this.inTransaction.size) await this.listen(engine, [...this.inTransaction]);
    }
    this.passedOn = difference(new Set([...engineSet, ...this.inTransaction]), this.client);
  }

  /**
   * After a batch: when its transaction is over and it may have changed what the client listens to, the
   * engine's channels are read again. A channel the engine listened to only for others counts as the
   * client's once the client's own LISTEN of it has committed.
   */
  async afterBatch(engine: EngineInstance, texts: readonly string[], txStatus: string, committed: boolean): Promise<boolean> {
    const touched = texts.some((t) => /\b(listen|unlisten|discard)\b/i.test(t));
    for (const t of texts) for (const c of listenedChannels(t)) this.named.add(c);
    if (txStatus !== 'I') return false; // what the transaction changes counts when it ends
    if (!touched && this.inTransaction.size === 0 && this.named.size === 0) return false;
    const before = this.passedOn;
    const engineSet = await readEngineChannels(engine).catch(() => undefined);
    this.engineSet = engineSet;
    this.inTransaction.clear();
    const named = new Set(this.named);
    this.named.clear();
    if (!engineSet) return false;
    const client = [...engineSet].filter((c) => !before.has(c) || (committed && named.has(c)));
    const changed = client.length !== this.client.size || client.some((c) => !this.client.has(c));
    this.client.clear();
    for (const c of client) this.client.add(c);
    this.passedOn = difference(engineSet, this.client);
    return changed;
  }

  /**
   * The client's transaction committed with these statements: what they LISTEN and UNLISTEN counts at
   * once, before the client hears of the commit (another session's next NOTIFY must reach it). What the
   * engine then says (afterBatch) is the last word.
   */
  committed(texts: readonly string[]): void {
    for (const t of texts) {
      for (const a of listenActions(t)) {
        if (a.channel === undefined) this.client.clear();
        else if (a.listen) this.client.add(a.channel);
        else this.client.delete(a.channel);
      }
    }
  }

  private async listen(engine: EngineInstance, channels: string[], unlisten: string[] = []): Promise<void> {
    if (!channels.length && !unlisten.length) return;
    const sql = [...channels.map((c) => `LISTEN ${quoteIdent(c)}`), ...unlisten.map((c) => `UNLISTEN ${quoteIdent(c)}`)].join('; ');
    await engine.query(sql);
  }
}

async function readEngineChannels(engine: EngineInstance): Promise<Set<string>> {
  const { rows } = await engine.query('SELECT c FROM pg_catalog.keapgres_engine_listening_channels() AS c');
  return new Set(rows.map((r) => String(r.c)));
}

/** Channels named by LISTEN statements in a query text. */
export function listenedChannels(sql: string): string[] {
  return listenActions(sql).filter((a) => a.listen).map((a) => a.channel!);
}

/**
 * LISTEN, UNLISTEN and DISCARD ALL statements in a query text, in order (channel undefined: all of them).
 * An unquoted name folds to lower case, as the parser does.
 */
function listenActions(sql: string): Array<{ listen: boolean; channel?: string }> {
  const out: Array<{ listen: boolean; channel?: string }> = [];
  const re = /(?:^|[\s;])(?:(unlisten|listen)\s+(\*|"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)|discard\s+all\b)/gi;
  for (const m of sql.matchAll(re)) {
    const [, verb, name] = m;
    if (!verb || name === '*') out.push({ listen: false });
    else out.push({ listen: verb.toLowerCase() === 'listen', channel: name!.startsWith('"') ? name!.slice(1, -1).replace(/""/g, '"') : name!.toLowerCase() });
  }
  return out;
}

function difference(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  return new Set([...a].filter((x) => !b.has(x)));
}

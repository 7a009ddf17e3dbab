// The keapgres instances that share one CacheConnection PostgreSQL, in `keapgres.instances`: each holds a
// number (1..2047) that it puts into its backend pids, and the address where it accepts CancelRequests.
// A client cancels by opening a new connection, which a load balancer may give to any instance; the pid
// in it says whose session it is, and this table says where that instance listens.
//
// An id is taken under an advisory lock (two instances starting together must not both take the smallest
// free one); a row whose seen_at is older than the timeout belongs to a dead instance and may be taken
// over. Times are the shared server's own (now()), so the instances' clocks do not matter.
import type { Logger } from 'pino';
import { SqlError, SQLSTATE } from '../errors.js';
import { SCHEMA } from './migrations.js';
import { inTransaction, openSharedPostgres, unreachable, type SharedPostgres } from './postgres-connection.js';

export const MAX_INSTANCE_ID = 2047;

export interface InstanceAddress {
  readonly host: string;
  readonly port: number;
}

export interface InstanceRegistrationOptions {
  /** seconds without a heartbeat after which an id may be taken over (default 30); heartbeats every third of it */
  timeoutSeconds?: number;
}

/** How long an answer of addressOf is reused: a burst of cancels costs one query, a moved instance is seen soon. */
const LOOKUP_TTL_MS = 2_000;

export class InstanceRegistration {
  private currentId: number;
  /** the row's started_at as text: whose row it is (another instance taking the id over writes its own) */
  private owner: string;
  private advertised: InstanceAddress = { host: '', port: 0 };
  private readonly timer: NodeJS.Timeout;
  private readonly lookups = new Map<number, { at: number; address?: InstanceAddress }>();
  private beating = false;
  private unreachableSince?: number;
  private closed = false;

  private constructor(
    private readonly db: SharedPostgres & { release(): Promise<void> },
    private readonly logger: Logger,
    private readonly timeoutSeconds: number,
    claimed: { id: number; owner: string },
  ) {
    this.currentId = claimed.id;
    this.owner = claimed.owner;
    this.timer = setInterval(() => void this.heartbeat(), Math.max(1000, (timeoutSeconds * 1000) / 3));
    this.timer.unref();
  }

  /** Takes the smallest free id; a clear error (no password) when the PostgreSQL cannot be used. */
  static async register(url: string, logger: Logger, o: InstanceRegistrationOptions = {}): Promise<InstanceRegistration> {
    const db = await openSharedPostgres(url, logger);
    const timeoutSeconds = o.timeoutSeconds ?? 30;
    try {
      const claimed = await claim(db, timeoutSeconds, { host: '', port: 0 });
      logger.info({ instance: claimed.id, cacheConnection: db.display }, 'registered as an instance sharing the CacheConnection PostgreSQL');
      return new InstanceRegistration(db, logger, timeoutSeconds, claimed);
    } catch (err) {
      await db.release();
      throw err instanceof SqlError ? err : unreachable(db.display, err);
    }
  }

  /** The id this instance's new pids carry (it changes only if another instance took the row over). */
  get id(): number {
    return this.currentId;
  }

  get address(): InstanceAddress {
    return this.advertised;
  }

  /** Where the other instances send CancelRequests for this one's sessions. */
  async advertise(address: InstanceAddress): Promise<void> {
    this.advertised = address;
    try {
      await this.db.pool.query(`UPDATE ${SCHEMA}.instances SET cancel_host = $3, cancel_port = $4, seen_at = now() WHERE id = $1 AND started_at = $2::timestamptz`,
        [this.currentId, this.owner, address.host, address.port]);
    } catch (err) {
      throw unreachable(this.db.display, err);
    }
  }

  /** The address of a live instance `id`, or undefined (unknown, timed out, not yet listening, or unreachable table). */
  async addressOf(id: number): Promise<InstanceAddress | undefined> {
    const cached = this.lookups.get(id);
    if (cached && Date.now() - cached.at < LOOKUP_TTL_MS) return cached.address;
    const { rows } = await this.db.pool.query<{ cancel_host: string; cancel_port: number }>(
      `SELECT cancel_host, cancel_port FROM ${SCHEMA}.instances
        WHERE id = $1 AND cancel_port > 0 AND seen_at > now() - make_interval(secs => $2)`,
      [id, this.timeoutSeconds],
    );
    const row = rows[0];
    const address = row ? { host: row.cancel_host, port: row.cancel_port } : undefined;
    if (this.lookups.size > 4096) this.lookups.clear();
    this.lookups.set(id, { at: Date.now(), address });
    return address;
  }

  /** Stops the heartbeat and frees the id at once (a process that dies frees it after the timeout). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.db.pool.query(`DELETE FROM ${SCHEMA}.instances WHERE id = $1 AND started_at = $2::timestamptz`, [this.currentId, this.owner])
      .catch((err: unknown) => this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not free this instance\'s id in the CacheConnection PostgreSQL; it is free after the timeout'));
    await this.db.release();
  }

  private async heartbeat(): Promise<void> {
    if (this.beating || this.closed) return;
    this.beating = true;
    try {
      const r = await this.db.pool.query(`UPDATE ${SCHEMA}.instances SET seen_at = now() WHERE id = $1 AND started_at = $2::timestamptz`, [this.currentId, this.owner]);
      if (this.unreachableSince !== undefined) {
        this.logger.info({ instance: this.currentId, seconds: Math.round((Date.now() - this.unreachableSince) / 1000) }, 'the CacheConnection PostgreSQL answers again');
        this.unreachableSince = undefined;
      }
      if (r.rowCount === 0 && !this.closed) {
        // Unseen for longer than the timeout (the shared server was away), and another instance took the id:
        // new sessions get a new one. Cancels of older sessions still work when they reach this instance.
        const before = this.currentId;
        const claimed = await claim(this.db, this.timeoutSeconds, this.advertised);
        this.currentId = claimed.id;
        this.owner = claimed.owner;
        this.logger.warn({ previous: before, instance: claimed.id }, 'this instance\'s id was taken over while it was unseen; new sessions use a new one');
      }
    } catch (err) {
      if (this.unreachableSince === undefined) {
        this.unreachableSince = Date.now();
        this.logger.warn({ instance: this.currentId, err: err instanceof Error ? err.message : String(err) }, 'cannot reach the CacheConnection PostgreSQL: cancel requests for other instances cannot be forwarded until it answers');
      }
    } finally {
      this.beating = false;
    }
  }
}

async function claim(db: SharedPostgres, timeoutSeconds: number, address: InstanceAddress): Promise<{ id: number; owner: string }> {
  const row = await inTransaction(db, async (client) => {
    // without it, two instances starting together both find id 1 free and the later one's upsert takes it over
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('keapgres:instances', 0))`);
    const { rows } = await client.query<{ id: number; owner: string }>(
      `WITH free AS (
         SELECT g AS id FROM generate_series(1, ${MAX_INSTANCE_ID}) g
          WHERE NOT EXISTS (SELECT 1 FROM ${SCHEMA}.instances i WHERE i.id = g AND i.seen_at > now() - make_interval(secs => $1))
          ORDER BY g LIMIT 1)
       INSERT INTO ${SCHEMA}.instances AS i (id, cancel_host, cancel_port, started_at, seen_at)
       SELECT id, $2, $3, clock_timestamp(), now() FROM free
       ON CONFLICT (id) DO UPDATE SET cancel_host = EXCLUDED.cancel_host, cancel_port = EXCLUDED.cancel_port,
         started_at = EXCLUDED.started_at, seen_at = EXCLUDED.seen_at
       RETURNING i.id, i.started_at::text AS owner`,
      [timeoutSeconds, address.host, address.port],
    );
    return rows[0];
  });
  if (!row) {
    throw new SqlError(SQLSTATE.tooManyConnections, `every instance id (1 to ${MAX_INSTANCE_ID}) is held by a live keapgres instance`, {
      detail: `${db.display} (${SCHEMA}.instances)`,
      hint: `Stop instances, or wait ${timeoutSeconds} s for the ids of stopped ones to be free.`,
    });
  }
  return row;
}

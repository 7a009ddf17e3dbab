// The shared cache's entries and rows in the CacheConnection PostgreSQL (src/cache/backplane.ts). A row
// is stored with the entry version that last changed it, and a deleted row as a NULL line of that version,
// so an instance holding version v catches up by `version > v`. Deletion marks older than KEEP_VERSIONS
// versions are pruned: an instance further behind reads every row instead.
//
// Synchronising one entry is single-flight across instances by a session advisory lock, taken by polling
// (pg_try_advisory_lock) so waiting instances hold no connection; an instance that dies drops its
// connection and with it the lock.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type pg from 'pg';
import type { CacheBackplane, Publication, RemoteHead, RemoteRows } from '../cache/backplane.js';
import { SCHEMA } from './migrations.js';
import { openSharedPostgres, unreachable, type SharedPostgres } from './postgres-connection.js';

const KEEP_VERSIONS = 32;
/** rows per INSERT: large enough to amortise a round trip, small enough for one message */
const ROWS_PER_STATEMENT = 2000;

interface HeadRow {
  id: string;
  version: string;
  synced_at: Date;
  truncated: boolean;
  row_count: string;
}

const HEAD = 'id, version, synced_at, truncated, row_count';

export class PostgresCacheBackplane implements CacheBackplane {
  private constructor(private readonly db: SharedPostgres & { release(): Promise<void> }, private readonly account: string) {}

  static async open(url: string, account: string, logger: Logger): Promise<PostgresCacheBackplane> {
    return new PostgresCacheBackplane(await openSharedPostgres(url, logger), account);
  }

  async heads(keys: readonly string[]): Promise<Map<string, RemoteHead>> {
    const { rows } = await this.query<HeadRow & { key: string }>(`SELECT key, ${HEAD} FROM ${SCHEMA}.cache_entries WHERE account = $1 AND key = ANY($2::text[])`, [this.account, keys]);
    return new Map(rows.map((r) => [r.key, toHead(r)]));
  }

  async rows(key: string, from?: { id: number; version: number }): Promise<RemoteRows | undefined> {
    const client = await this.connect();
    try {
      // one snapshot: the head and the rows agree
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows: heads } = await client.query<HeadRow>(`SELECT ${HEAD} FROM ${SCHEMA}.cache_entries WHERE account = $1 AND key = $2`, [this.account, key]);
      if (!heads[0]) {
        await client.query('COMMIT');
        return undefined;
      }
      const head = toHead(heads[0]);
      const byChanges = from !== undefined && from.id === head.id && from.version >= head.version - KEEP_VERSIONS;
      const { rows } = byChanges
        ? await client.query<{ row_key: string; line: string | null }>(`SELECT row_key, line FROM ${SCHEMA}.cache_rows WHERE entry = $1 AND version > $2`, [head.id, from.version])
        : await client.query<{ row_key: string; line: string | null }>(`SELECT row_key, line FROM ${SCHEMA}.cache_rows WHERE entry = $1 AND line IS NOT NULL`, [head.id]);
      await client.query('COMMIT');
      const lines: string[] = [];
      const deleted: string[] = [];
      for (const r of rows) {
        if (r.line === null) deleted.push(r.row_key);
        else lines.push(r.line);
      }
      return { ...head, lines, deleted, whole: !byChanges };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw unreachable(this.db.display, err);
    } finally {
      client.release();
    }
  }

  async publish(p: Publication): Promise<RemoteHead> {
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      const { rows: before } = await client.query<HeadRow>(`SELECT ${HEAD} FROM ${SCHEMA}.cache_entries WHERE account = $1 AND key = $2 FOR UPDATE`, [this.account, p.key]);
      const old = before[0] ? toHead(before[0]) : undefined;
      // changes apply only on the version they were made from; else the stored rows are replaced
      const onBase = p.base !== undefined && old !== undefined && old.id === p.base.id && old.version === p.base.version;
      let head: RemoteHead;
      if (old) {
        const { rows } = await client.query<HeadRow>(
          `UPDATE ${SCHEMA}.cache_entries SET version = version + 1, synced_at = $2, truncated = $3, row_count = $4 WHERE id = $1 RETURNING ${HEAD}`,
          [old.id, new Date(p.syncedAt), p.truncated, p.rows],
        );
        head = toHead(rows[0]!);
        if (!onBase) {
          await client.query(`UPDATE ${SCHEMA}.cache_rows SET line = NULL, version = $2 WHERE entry = $1 AND line IS NOT NULL`, [head.id, head.version]);
        }
      } else {
        const { rows } = await client.query<HeadRow>(
          `INSERT INTO ${SCHEMA}.cache_entries (account, key, table_name, pushed, limited, truncated, row_count, version, synced_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) RETURNING ${HEAD}`,
          [this.account, p.key, p.table, JSON.stringify(p.pushed), p.limited, p.truncated, p.rows, new Date(p.syncedAt)],
        );
        head = toHead(rows[0]!);
      }
      for (let i = 0; i < p.changed.length; i += ROWS_PER_STATEMENT) {
        const part = p.changed.slice(i, i + ROWS_PER_STATEMENT);
        await client.query(
          `INSERT INTO ${SCHEMA}.cache_rows (entry, row_key, version, line) SELECT $1, k, $2, l FROM unnest($3::text[], $4::text[]) AS u(k, l)
           ON CONFLICT (entry, row_key) DO UPDATE SET version = EXCLUDED.version, line = EXCLUDED.line`,
          [head.id, head.version, part.map((c) => c[0]), part.map((c) => c[1])],
        );
      }
      if (onBase && p.deleted.length > 0) {
        await client.query(`UPDATE ${SCHEMA}.cache_rows SET line = NULL, version = $2 WHERE entry = $1 AND row_key = ANY($3::text[]) AND line IS NOT NULL`, [head.id, head.version, p.deleted]);
      }
      await client.query(`DELETE FROM ${SCHEMA}.cache_rows WHERE entry = $1 AND line IS NULL AND version < $2`, [head.id, head.version - KEEP_VERSIONS]);
      await client.query('COMMIT');
      return head;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw unreachable(this.db.display, err);
    } finally {
      client.release();
    }
  }

  async expire(table: string, olderThanMs: number): Promise<void> {
    await this.query(
      `UPDATE ${SCHEMA}.cache_entries SET synced_at = least(synced_at, now() - make_interval(secs => $3)) WHERE account = $1 AND table_name = $2`,
      [this.account, table, olderThanMs / 1000],
    );
  }

  async clear(table?: string): Promise<void> {
    await this.query(`DELETE FROM ${SCHEMA}.cache_entries WHERE account = $1 AND ($2::text IS NULL OR table_name = $2)`, [this.account, table ?? null]);
  }

  async remove(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.query(`DELETE FROM ${SCHEMA}.cache_entries WHERE account = $1 AND key = ANY($2::text[])`, [this.account, keys]);
  }

  async lock(key: string, signal: AbortSignal): Promise<() => Promise<void>> {
    const name = `keapgres:cache:${this.account}:${key}`;
    let client: pg.PoolClient;
    for (let wait = 20; ; wait = Math.min(250, wait * 2)) {
      client = await this.connect();
      let ok = false;
      try {
        ok = (await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok`, [name])).rows[0]!.ok;
      } catch (err) {
        client.release();
        throw unreachable(this.db.display, err);
      }
      if (ok) break;
      // waiting holds no connection: another instance's fetch may take minutes
      client.release();
      await sleep(wait, undefined, { signal });
    }
    const held = client;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await held.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [name]).catch(() => undefined);
      held.release();
    };
  }

  async close(): Promise<void> {
    await this.db.release();
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.db.pool.connect();
    } catch (err) {
      throw unreachable(this.db.display, err);
    }
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<{ rows: R[] }> {
    try {
      return await this.db.pool.query<R>(sql, params);
    } catch (err) {
      throw unreachable(this.db.display, err);
    }
  }
}

function toHead(r: HeadRow): RemoteHead {
  return { id: Number(r.id), version: Number(r.version), syncedAt: r.synced_at.getTime(), truncated: r.truncated, rows: Number(r.row_count) };
}

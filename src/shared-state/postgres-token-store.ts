// OAuth tokens in the CacheConnection PostgreSQL: one row per Keap connection. A refresh runs while this
// instance holds a session-level advisory lock on that connection, so across every instance one refresh
// is made when a token expires; the others wait, then find the new pair and adopt it (see
// oauth/credential-source.ts refreshUnderLock). The new pair is committed before it is used, and an
// instance that dies mid-refresh drops its connection and with it the lock: the row holds the old pair
// or the new one.
import type { Logger } from 'pino';
import { SqlError, SQLSTATE } from '../errors.js';
import type { StoredTokens, TokenStore } from '../oauth/token-store.js';
import { SCHEMA } from './migrations.js';
import { openSharedPostgres, unreachable, type SharedPostgres } from './postgres-connection.js';

export class PostgresTokenStore implements TokenStore {
  readonly location: string;

  private constructor(private readonly db: SharedPostgres & { release(): Promise<void> }, private readonly key: string) {
    this.location = `${db.display} (${SCHEMA}.oauth_tokens, connection "${key}")`;
  }

  static async open(url: string, key: string, logger: Logger): Promise<PostgresTokenStore> {
    return new PostgresTokenStore(await openSharedPostgres(url, logger), key);
  }

  async load(): Promise<StoredTokens | undefined> {
    const { rows } = await this.query<{ tokens: StoredTokens }>(`SELECT tokens FROM ${SCHEMA}.oauth_tokens WHERE connection = $1`, [this.key]);
    return rows[0]?.tokens;
  }

  async save(tokens: StoredTokens): Promise<void> {
    await this.query(
      `INSERT INTO ${SCHEMA}.oauth_tokens (connection, tokens) VALUES ($1, $2)
       ON CONFLICT (connection) DO UPDATE SET tokens = EXCLUDED.tokens, updated_at = now()`,
      [this.key, JSON.stringify(tokens)],
    );
  }

  async clear(): Promise<void> {
    await this.query(`DELETE FROM ${SCHEMA}.oauth_tokens WHERE connection = $1`, [this.key]);
  }

  async withLock<T>(fn: () => Promise<T>, waitMs = 60_000): Promise<T> {
    const client = await this.db.pool.connect().catch((err: unknown) => { throw unreachable(this.db.display, err); });
    let locked = false;
    try {
      await client.query(`SET lock_timeout = ${Math.max(1, Math.round(waitMs))}`);
      try {
        await client.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [`keapgres:oauth:${this.key}`]);
      } catch (err) {
        if ((err as { code?: string }).code === '55P03') {
          throw new SqlError(SQLSTATE.invalidAuthorization, 'another keapgres instance has been refreshing this OAuth token for too long', {
            detail: `No lock on the token of "${this.key}" within ${Math.round(waitMs / 1000)} s (${this.location}).`,
            hint: 'Retry the query; if it keeps failing, look at the other instances\' logs.',
          });
        }
        throw unreachable(this.db.display, err);
      }
      locked = true;
      return await fn();
    } finally {
      if (locked) await client.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [`keapgres:oauth:${this.key}`]).catch(() => undefined);
      await client.query('RESET lock_timeout').catch(() => undefined);
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.db.release();
  }

  private async query<R extends Record<string, unknown>>(sql: string, params: unknown[]): Promise<{ rows: R[] }> {
    try {
      return await this.db.pool.query<R>(sql, params);
    } catch (err) {
      throw unreachable(this.db.display, err);
    }
  }
}

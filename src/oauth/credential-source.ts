// The OAuth connection manager: one per configured Keap connection. It hands the connector the
// headers for each request and keeps them valid — InitiateOAuth OFF / GETANDREFRESH / REFRESH, or an
// API key. Keap rotates refresh tokens on every refresh, so a refresh token is used at most once:
// refreshes are single-flight, and the new pair is saved before anything uses it.
import { randomBytes } from 'node:crypto';
import type { ConnectionSettings } from '../config/connection-string.js';
import { SqlError, SQLSTATE } from '../errors.js';
import type { CredentialSource } from '../keap/types.js';
import { registerSecret, type Logger } from '../log/logger.js';
import { buildAuthorizationUrl, listenForCallback, openInBrowser, type CallbackListener } from './authorization.js';
import { exchangeAuthorizationCode, refreshAccessToken, TokenEndpointError, type TokenResponse } from './token-endpoint.js';
import { fingerprint, openTokenStore, type StoredTokens, type TokenStore } from './token-store.js';

export type CredentialState = 'ready' | 'authorization-pending' | 'failed';

export interface CredentialStatus {
  authScheme: ConnectionSettings['authScheme'];
  initiateOAuth?: ConnectionSettings['initiateOAuth'];
  state: CredentialState;
  /** the URL a person must open while state is authorization-pending */
  authorizationUrl?: string;
  /** epoch ms when the current access token expires, when known */
  expiresAt?: number;
  /** token file or memory://name */
  tokenLocation?: string;
  /** refreshes done by this source */
  refreshes: number;
  /** the error queries get while state is failed */
  error?: string;
}

export interface ManagedCredentialSource extends CredentialSource {
  status(): CredentialStatus;
  close(): Promise<void>;
}

export interface CredentialSourceOptions {
  /** clock, epoch ms (tests move it to reach expiry) */
  now?: () => number;
  /** show the authorization URL to a person; default: a log line, plus a plain line on a terminal */
  announce?: (url: string) => void;
  /** open a desktop browser; default: openInBrowser when the settings allow it */
  openBrowser?: (url: string) => boolean;
  /** where the tokens live instead of OAuthSettingsLocation (the CacheConnection PostgreSQL, shared by instances) */
  store?: TokenStore;
}

/** How long before expiry a token is refreshed: 5 minutes, or a tenth of a short lifetime. */
export function refreshMargin(tokens: Pick<StoredTokens, 'expiresAt' | 'obtainedAt'>): number {
  if (tokens.expiresAt === undefined) return 0;
  const lifetime = tokens.expiresAt - tokens.obtainedAt;
  return Math.max(0, Math.min(5 * 60_000, lifetime / 10));
}

export async function createCredentialSource(settings: ConnectionSettings, logger: Logger, options: CredentialSourceOptions = {}): Promise<ManagedCredentialSource> {
  registerSecret(settings.oauthClientSecret);
  registerSecret(settings.oauthAccessToken);
  registerSecret(settings.oauthRefreshToken);
  registerSecret(settings.apiKey);
  registerSecret(settings.oauthVerifier);
  const log = logger.child({ component: 'oauth' });
  if (settings.authScheme === 'APIKey') {
    if (settings.ignoredProperties.length) {
      log.info({ ignored: settings.ignoredProperties }, `AuthScheme=APIKey: ignoring ${settings.ignoredProperties.join(', ')}`);
    }
    return new ApiKeyCredentialSource(settings);
  }
  if (settings.ignoredProperties.length) log.info({ ignored: settings.ignoredProperties }, `AuthScheme=OAuth: ignoring ${settings.ignoredProperties.join(', ')}`);
  const source = new OAuthCredentialSource(settings, log, options);
  await source.start();
  return source;
}

class ApiKeyCredentialSource implements ManagedCredentialSource {
  private readonly header: Record<string, string>;
  constructor(private readonly settings: ConnectionSettings) {
    const key = settings.apiKey!;
    this.header = settings.apiKeyHeader === 'Authorization' ? { authorization: `Bearer ${key}` } : { 'x-keap-api-key': key };
  }
  async headers(): Promise<Record<string, string>> {
    return { ...this.header };
  }
  async unauthorized(): Promise<boolean> {
    throw new SqlError(SQLSTATE.invalidAuthorization, 'Keap rejected the API key', {
      detail: `The key was sent in the ${this.settings.apiKeyHeader === 'Authorization' ? 'Authorization: Bearer' : 'X-Keap-API-Key'} header and Keap answered HTTP 401.`,
      hint: 'Check that APIKey holds a current personal access token or service account key (Keap: Settings › API Settings; a key is shown only once, when it is created).',
    });
  }
  status(): CredentialStatus {
    return { authScheme: 'APIKey', state: 'ready', refreshes: 0 };
  }
  async close(): Promise<void> {}
}

function bearerToken(headers: Record<string, string>): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === 'authorization' && /^bearer /i.test(v)) return v.slice(7);
  }
  return undefined;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

const MAX_TIMER_MS = 2 ** 31 - 1;

class OAuthCredentialSource implements ManagedCredentialSource {
  private readonly store: TokenStore;
  private readonly now: () => number;
  private readonly seed: string | undefined;
  private tokens: StoredTokens | undefined;
  private refreshing: Promise<void> | undefined;
  private pending: { url: string; listener: CallbackListener } | undefined;
  private starting: Promise<void> | undefined;
  private failure: SqlError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshes = 0;
  private refusedRefreshToken: string | undefined;
  private closed = false;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly log: Logger,
    private readonly options: CredentialSourceOptions,
  ) {
    this.store = options.store ?? openTokenStore(settings.oauthSettingsLocation);
    this.now = options.now ?? Date.now;
    this.seed = settings.oauthRefreshToken ? fingerprint(settings.oauthRefreshToken) : undefined;
  }

  async start(): Promise<void> {
    const s = this.settings;
    if (s.initiateOAuth === 'OFF') {
      this.tokens = this.tokensFromSettings();
      this.log.info({ initiateOAuth: 'OFF' }, 'using OAuthAccessToken as given; it is never refreshed');
      return;
    }
    let stored: StoredTokens | undefined;
    try {
      stored = await this.store.load();
    } catch (err) {
      this.fail(err as SqlError);
      return;
    }
    if (stored && (this.seed === undefined || stored.seededFrom === this.seed)) {
      this.tokens = stored;
      registerSecret(stored.accessToken);
      registerSecret(stored.refreshToken);
      this.log.info({ tokenLocation: this.store.location, expiresAt: stored.expiresAt && new Date(stored.expiresAt).toISOString() }, 'loaded stored OAuth tokens');
    } else if (s.oauthAccessToken || s.oauthRefreshToken) {
      if (stored) this.log.info({ tokenLocation: this.store.location }, 'the connection string holds a different OAuthRefreshToken than the stored pair; using the connection string’s');
      this.tokens = this.tokensFromSettings();
    } else if (s.oauthVerifier) {
      try {
        await this.exchangeCode(s.oauthVerifier, s.callbackUrl);
      } catch (err) {
        this.fail(err as SqlError);
        return;
      }
    } else if (s.initiateOAuth === 'GETANDREFRESH') {
      await this.startAuthorization('no stored OAuth tokens');
      return;
    } else {
      this.fail(
        new SqlError(SQLSTATE.invalidAuthorization, 'no OAuth tokens for this Keap connection', {
          detail: `InitiateOAuth=REFRESH refreshes an existing token pair and never starts a browser authorization; there is no OAuthRefreshToken in the connection string and no stored pair at ${this.store.location}.`,
          hint: 'Authorize once with "keapgres auth" (or --print-url and --verifier on a machine without a browser), set OAuthRefreshToken, or use InitiateOAuth=GETANDREFRESH.',
        }),
      );
      return;
    }
    this.scheduleRefresh();
  }

  private tokensFromSettings(): StoredTokens {
    const s = this.settings;
    const obtainedAt = s.oauthTokenTimestamp ?? this.now();
    return {
      // an empty access token just forces a refresh on first use
      accessToken: s.oauthAccessToken ?? '',
      refreshToken: s.oauthRefreshToken,
      expiresAt: s.oauthExpiresIn !== undefined ? obtainedAt + s.oauthExpiresIn * 1000 : s.oauthAccessToken ? undefined : 0,
      obtainedAt,
      seededFrom: this.seed,
    };
  }

  private fail(error: SqlError): void {
    this.failure = error;
    this.log.error({ tokenLocation: this.store.location, sqlstate: error.sqlstate, detail: error.detail }, error.message);
  }

  async headers(signal?: AbortSignal): Promise<Record<string, string>> {
    if (this.failure || this.pending || !this.tokens) await this.adoptStoredPair();
    this.throwIfUnusable();
    const t = this.tokens!;
    if (this.settings.initiateOAuth !== 'OFF' && t.refreshToken && (t.accessToken === '' || (t.expiresAt !== undefined && this.now() >= t.expiresAt - refreshMargin(t)))) {
      await abortable(this.refresh(t.accessToken), signal);
      this.throwIfUnusable();
    }
    return { authorization: `Bearer ${this.tokens!.accessToken}` };
  }

  async unauthorized(rejected: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
    if (this.failure || this.pending || !this.tokens) await this.adoptStoredPair();
    this.throwIfUnusable();
    if (this.settings.initiateOAuth === 'OFF') {
      throw new SqlError(SQLSTATE.invalidAuthorization, 'Keap rejected the OAuth access token: it has expired or is invalid', {
        detail: 'With InitiateOAuth=OFF keapgres uses OAuthAccessToken as given and never refreshes it.',
        hint: 'Get a new token (for example with "keapgres auth") and set OAuthAccessToken, or set InitiateOAuth=GETANDREFRESH (or REFRESH with OAuthRefreshToken), OAuthClientId and OAuthClientSecret so keapgres refreshes it itself.',
      });
    }
    const stale = bearerToken(rejected);
    // another session already replaced the rejected token: just retry with the new one
    if (stale !== undefined && stale !== this.tokens!.accessToken && !this.refreshing) return true;
    if (!this.tokens!.refreshToken) {
      throw new SqlError(SQLSTATE.invalidAuthorization, 'Keap rejected the OAuth access token and there is no refresh token to renew it', {
        hint: 'Authorize again with "keapgres auth", or set OAuthRefreshToken.',
      });
    }
    await abortable(this.refresh(stale ?? this.tokens!.accessToken), signal);
    this.throwIfUnusable();
    return true;
  }

  /**
   * While unusable (waiting for authorization, refresh token refused, damaged file), a pair stored
   * meanwhile by `keapgres auth` or a repaired file puts the connection back to work without a restart.
   */
  private async adoptStoredPair(): Promise<void> {
    if (this.settings.initiateOAuth === 'OFF') return;
    const stored = await this.store.load().catch(() => undefined);
    if (!stored || stored.accessToken === this.tokens?.accessToken || stored.obtainedAt < (this.tokens?.obtainedAt ?? 0)) return;
    // the pair Keap just refused may still be in the store: adopting it would refuse again, forever
    if (stored.refreshToken !== undefined && stored.refreshToken === this.refusedRefreshToken) return;
    registerSecret(stored.accessToken);
    registerSecret(stored.refreshToken);
    this.tokens = stored;
    this.failure = undefined;
    const pending = this.pending;
    this.pending = undefined;
    await pending?.listener.close();
    this.log.info({ tokenLocation: this.store.location }, 'adopted OAuth tokens stored by another keapgres process');
    this.scheduleRefresh();
  }

  private throwIfUnusable(): void {
    if (this.failure) throw this.failure;
    if (this.pending) throw this.pendingError();
    if (!this.tokens) throw this.pendingError();
  }

  private pendingError(reason?: string): SqlError {
    const url = this.pending?.url;
    return new SqlError(SQLSTATE.invalidAuthorization, 'keapgres is waiting for you to authorize it in Keap', {
      detail: `${reason ? `${reason}. ` : ''}${url ? `Open this URL in a browser and sign in to Keap: ${url}` : 'The authorization listener is starting.'}`,
      hint: 'Open the URL, allow access, and run the query again. On a machine without a browser use "keapgres auth --print-url" and "keapgres auth --verifier CODE".',
    });
  }

  /** Single-flight: every caller that finds `staleAccessToken` rejected or expiring waits for one refresh. */
  private refresh(staleAccessToken: string): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (this.tokens && this.tokens.accessToken !== staleAccessToken) return Promise.resolve();
    this.refreshing = this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private doRefresh(): Promise<void> {
    return this.store.withLock(() => this.refreshUnderLock(), this.settings.timeoutSeconds * 1000 + 10_000);
  }

  private async refreshUnderLock(): Promise<void> {
    const current = this.tokens!;
    // `keapgres auth` or a restart may have stored a newer pair since we loaded ours
    const stored = await this.store.load().catch((err: SqlError) => {
      this.fail(err);
      throw err;
    });
    // a pair refreshed from the connection string's own token is newer than that token, whatever the clocks say
    // (another instance that started with the same string refreshed it first)
    const descends = stored?.seededFrom !== undefined && stored.seededFrom === this.seed && current.refreshToken === this.settings.oauthRefreshToken;
    if (stored && stored.refreshToken && stored.refreshToken !== current.refreshToken && (descends || stored.obtainedAt >= current.obtainedAt)) {
      this.log.info({ tokenLocation: this.store.location }, 'adopting a newer OAuth token pair found in the token store');
      registerSecret(stored.accessToken);
      registerSecret(stored.refreshToken);
      this.tokens = stored;
      this.scheduleRefresh();
      return;
    }
    let response: TokenResponse;
    try {
      response = await refreshAccessToken({
        tokenUrl: this.settings.oauthAccessTokenUrl,
        clientId: this.settings.oauthClientId!,
        clientSecret: this.settings.oauthClientSecret!,
        refreshToken: current.refreshToken!,
        timeoutMs: this.settings.timeoutSeconds * 1000,
      });
    } catch (err) {
      throw await this.refreshFailed(err as Error);
    }
    this.refreshes++;
    // Keap rotates the pair; keep the old refresh token only if it did not send a new one
    const next = this.toStored(response, response.refreshToken ?? current.refreshToken);
    await this.saveBeforeUse(next);
    this.log.info({ tokenLocation: this.store.location, expiresAt: next.expiresAt && new Date(next.expiresAt).toISOString() }, 'refreshed the OAuth access token');
    this.scheduleRefresh();
  }

  private async refreshFailed(err: Error): Promise<SqlError> {
    if (err instanceof TokenEndpointError && err.needsReauthorization) {
      const reason = `Keap refused the refresh token (${err.oauthError}${err.description ? `: ${err.description}` : ''}); it was used already, revoked, or is older than 45 days`;
      this.refusedRefreshToken = this.tokens?.refreshToken;
      if (this.settings.initiateOAuth === 'GETANDREFRESH') {
        await this.startAuthorization(reason);
        return this.failure ?? this.pendingError(reason);
      }
      this.fail(
        new SqlError(SQLSTATE.invalidAuthorization, 'the OAuth refresh token is no longer valid: authorize keapgres again', {
          detail: `${reason}.`,
          hint: 'Run "keapgres auth" for this connection (or --print-url and --verifier), or set a new OAuthRefreshToken, then reconnect.',
        }),
      );
      return this.failure!;
    }
    if (err instanceof TokenEndpointError && err.oauthError === 'invalid_client') {
      this.fail(
        new SqlError(SQLSTATE.invalidAuthorization, 'Keap rejected the app’s client credentials', {
          detail: `${err.message}. The refresh token was not used and is kept.`,
          hint: 'Check OAuthClientId and OAuthClientSecret against your app at https://keys.developer.keap.com, then reconnect.',
        }),
      );
      return this.failure!;
    }
    this.log.warn({ err: err.message }, 'OAuth token refresh failed');
    return new SqlError(SQLSTATE.systemError, 'could not refresh the Keap OAuth access token', {
      detail: err.message,
      hint: 'The stored refresh token was kept; the next query tries again.',
    });
  }

  private toStored(response: TokenResponse, refreshToken: string | undefined): StoredTokens {
    registerSecret(response.accessToken);
    registerSecret(refreshToken);
    const obtainedAt = this.now();
    return {
      accessToken: response.accessToken,
      refreshToken,
      expiresAt: response.expiresInSeconds !== undefined ? obtainedAt + response.expiresInSeconds * 1000 : undefined,
      obtainedAt,
      scope: response.scope,
      seededFrom: this.seed,
    };
  }

  /** Persist first: a rotated refresh token that was used but not saved would force re-authorization. */
  private async saveBeforeUse(next: StoredTokens): Promise<void> {
    try {
      await this.store.save(next);
    } catch (err) {
      // keep the pair in memory anyway: dropping it would lose the only working refresh token
      this.log.error({ tokenLocation: this.store.location, err: (err as Error).message, detail: (err as SqlError).detail }, 'could not save the new OAuth tokens; they are kept in memory and will be lost on restart');
    }
    this.tokens = next;
  }

  private async exchangeCode(code: string, redirectUri: string): Promise<void> {
    let response: TokenResponse;
    try {
      response = await exchangeAuthorizationCode({
        tokenUrl: this.settings.oauthAccessTokenUrl,
        clientId: this.settings.oauthClientId!,
        clientSecret: this.settings.oauthClientSecret!,
        code,
        redirectUri,
        timeoutMs: this.settings.timeoutSeconds * 1000,
      });
    } catch (err) {
      throw new SqlError(SQLSTATE.invalidAuthorization, 'Keap did not exchange the authorization code for tokens', {
        detail: (err as Error).message,
        hint: 'Authorization codes work once and only for a few minutes, with the same CallbackURL as the authorization URL: authorize again.',
      });
    }
    await this.saveBeforeUse(this.toStored(response, response.refreshToken));
    this.log.info({ tokenLocation: this.store.location }, 'authorized: OAuth tokens obtained and stored');
  }

  private startAuthorization(reason: string): Promise<void> {
    if (this.pending || this.closed) return Promise.resolve();
    this.starting ??= this.listen(reason).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async listen(reason: string): Promise<void> {
    const state = randomBytes(16).toString('base64url');
    let listener: CallbackListener;
    try {
      listener = await listenForCallback(
        this.settings.callbackUrl,
        state,
        async (code) => {
          await this.exchangeCode(code, listener.redirectUri);
          const done = this.pending;
          this.pending = undefined;
          this.scheduleRefresh();
          // answer the browser first, then stop listening
          setImmediate(() => void done?.listener.close());
        },
        (error, description) => this.log.warn({ error, description }, 'Keap authorization was declined or failed; waiting for another attempt'),
      );
    } catch (err) {
      this.fail(
        new SqlError(SQLSTATE.invalidAuthorization, `keapgres cannot listen on CallbackURL ${this.settings.callbackUrl} to receive the Keap authorization`, {
          detail: `${reason}. ${(err as Error).message}`,
          hint: 'Set CallbackURL to a free local port registered with your Keap app, or authorize with "keapgres auth --print-url" and "keapgres auth --verifier CODE".',
        }),
      );
      return;
    }
    const url = buildAuthorizationUrl(this.settings, listener.redirectUri, state);
    this.pending = { url, listener };
    this.failure = undefined;
    this.log.warn({ authorizationUrl: url, reason }, 'Keap authorization needed: open the authorization URL in a browser');
    if (this.options.announce) this.options.announce(url);
    else if (process.stderr.isTTY) process.stderr.write(`\nkeapgres needs access to your Keap account (${reason}).\nOpen this URL in a browser:\n\n  ${url}\n\n`);
    const open = this.options.openBrowser ?? (this.settings.openBrowser ? openInBrowser : () => false);
    if (open(url)) this.log.info('opened the authorization URL in the desktop browser');
  }

  private scheduleRefresh(): void {
    clearTimeout(this.timer);
    const t = this.tokens;
    if (this.closed || !t || !t.refreshToken || t.expiresAt === undefined || this.settings.initiateOAuth === 'OFF') return;
    const due = t.expiresAt - refreshMargin(t) - this.now();
    this.timer = setTimeout(() => {
      this.refresh(t.accessToken).catch((err: Error) => this.log.warn({ err: err.message }, 'background OAuth token refresh failed'));
    }, Math.min(Math.max(due, 0), MAX_TIMER_MS));
    this.timer.unref();
  }

  status(): CredentialStatus {
    const state: CredentialState = this.failure ? 'failed' : this.pending || !this.tokens ? 'authorization-pending' : 'ready';
    return {
      authScheme: 'OAuth',
      initiateOAuth: this.settings.initiateOAuth,
      state,
      authorizationUrl: this.pending?.url,
      expiresAt: this.tokens?.expiresAt,
      tokenLocation: this.settings.initiateOAuth === 'OFF' ? undefined : this.store.location,
      refreshes: this.refreshes,
      error: this.failure?.message,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.starting?.catch(() => {});
    await this.refreshing?.catch(() => {});
    await this.pending?.listener.close();
    this.pending = undefined;
    await this.store.close?.();
  }
}

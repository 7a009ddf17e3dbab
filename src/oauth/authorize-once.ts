// Exchanging one authorization code and storing the pair, for `keapgres auth` (and anything else
// that authorizes outside a running credential source).
import type { ConnectionSettings } from '../config/connection-string.js';
import { SqlError, SQLSTATE } from '../errors.js';
import { registerSecret } from '../log/logger.js';
import { exchangeAuthorizationCode } from './token-endpoint.js';
import { fingerprint, openTokenStore, type StoredTokens } from './token-store.js';

/** A code as given: the bare code, or the whole redirected URL copied from the browser's address bar. */
export function extractAuthorizationCode(input: string): string {
  const text = input.trim();
  if (/^https?:\/\//i.test(text)) {
    const code = new URL(text).searchParams.get('code');
    if (code) return code;
  }
  return text;
}

export async function exchangeAndStore(settings: ConnectionSettings, code: string, redirectUri: string): Promise<StoredTokens> {
  let response;
  try {
    response = await exchangeAuthorizationCode({
      tokenUrl: settings.oauthAccessTokenUrl,
      clientId: settings.oauthClientId ?? '',
      clientSecret: settings.oauthClientSecret ?? '',
      code,
      redirectUri,
      timeoutMs: settings.timeoutSeconds * 1000,
    });
  } catch (err) {
    throw new SqlError(SQLSTATE.invalidAuthorization, 'Keap did not exchange the authorization code for tokens', {
      detail: (err as Error).message,
      hint: 'Authorization codes work once and only for a few minutes, with the same CallbackURL as the authorization URL: authorize again.',
    });
  }
  registerSecret(response.accessToken);
  registerSecret(response.refreshToken);
  const obtainedAt = Date.now();
  const tokens: StoredTokens = {
    accessToken: response.accessToken,
    refreshToken: response.refreshToken,
    expiresAt: response.expiresInSeconds !== undefined ? obtainedAt + response.expiresInSeconds * 1000 : undefined,
    obtainedAt,
    scope: response.scope,
    seededFrom: settings.oauthRefreshToken ? fingerprint(settings.oauthRefreshToken) : undefined,
  };
  await openTokenStore(settings.oauthSettingsLocation).save(tokens);
  return tokens;
}

// Keap's token endpoint (reference §2.1): the authorization-code exchange sends the client
// credentials in the form body (Keap rejects an Authorization header there); the refresh sends
// them as HTTP Basic. Both answer {access_token, token_type, expires_in, refresh_token, scope}.
import { request } from 'undici';

export interface TokenResponse {
  accessToken: string;
  refreshToken?: string;
  expiresInSeconds?: number;
  scope?: string;
  /** epoch ms when the response arrived */
  receivedAt: number;
}

export interface TokenEndpointOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** 0 = none */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The token endpoint said no (HTTP 4xx with an OAuth error body) or could not be reached. */
export class TokenEndpointError extends Error {
  constructor(
    message: string,
    /** OAuth error code such as invalid_request or invalid_grant; undefined for transport failures */
    readonly oauthError: string | undefined,
    readonly status: number | undefined,
    readonly description?: string,
  ) {
    super(message);
    this.name = 'TokenEndpointError';
  }

  /** Keap answers a used, revoked or expired refresh token with invalid_request ("Invalid Refresh Token"). */
  get needsReauthorization(): boolean {
    return this.oauthError === 'invalid_request' || this.oauthError === 'invalid_grant';
  }
}

export function exchangeAuthorizationCode(opts: TokenEndpointOptions & { code: string; redirectUri: string }): Promise<TokenResponse> {
  const form = new URLSearchParams({
    client_id: opts.clientId,
    client_secret: opts.clientSecret,
    code: opts.code,
    grant_type: 'authorization_code',
    redirect_uri: opts.redirectUri,
  });
  return postToken(opts, form, {});
}

export function refreshAccessToken(opts: TokenEndpointOptions & { refreshToken: string }): Promise<TokenResponse> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: opts.refreshToken });
  const basic = Buffer.from(`${opts.clientId}:${opts.clientSecret}`).toString('base64');
  return postToken(opts, form, { authorization: `Basic ${basic}` });
}

async function postToken(opts: TokenEndpointOptions, form: URLSearchParams, headers: Record<string, string>): Promise<TokenResponse> {
  const timeout = opts.timeoutMs > 0 ? AbortSignal.timeout(opts.timeoutMs) : undefined;
  const signal = timeout && opts.signal ? AbortSignal.any([timeout, opts.signal]) : (timeout ?? opts.signal);
  let status: number;
  let text: string;
  try {
    const res = await request(opts.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
      body: form.toString(),
      signal,
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    const why = timeout?.aborted ? `no answer within ${opts.timeoutMs / 1000} s` : (err as Error).message;
    throw new TokenEndpointError(`the Keap token endpoint ${opts.tokenUrl} could not be reached: ${why}`, undefined, undefined);
  }
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Keap's gateway sometimes answers with HTML; the status says enough
  }
  if (status < 200 || status >= 300) {
    const code = typeof body.error === 'string' ? body.error : undefined;
    const description = typeof body.error_description === 'string' ? body.error_description : undefined;
    throw new TokenEndpointError(
      `the Keap token endpoint answered HTTP ${status}${code ? ` ${code}` : ''}${description ? `: ${description}` : ''}`,
      code,
      status,
      description,
    );
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new TokenEndpointError(`the Keap token endpoint answered HTTP ${status} without an access_token`, undefined, status);
  }
  const expires = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    refreshToken: typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : undefined,
    expiresInSeconds: Number.isFinite(expires) && expires > 0 ? expires : undefined,
    scope: typeof body.scope === 'string' ? body.scope : undefined,
    receivedAt: Date.now(),
  };
}

// Credentials as Keap issues and checks them (reference §2): the authorization-code flow with rotating refresh
// tokens, personal access tokens and service account keys, and the Apigee 401 bodies checked before routing.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const REFRESH_TOKEN_TTL_MS = 45 * 86_400_000;
const CODE_TTL_MS = 10 * 60_000;

/** Who a request is, for quotas: an OAuth client (quota per client id) or an API key (quota per key). */
export interface Principal { kind: 'oauth' | 'pat' | 'sak'; quotaKey: string }

export interface FixedCredentials { clientId?: string; clientSecret?: string; personalAccessToken?: string; serviceAccountKey?: string }

export type AuthFailure = { status: 401; body: unknown };

const fault = (faultstring: string, errorcode: string): AuthFailure => ({ status: 401, body: { fault: { faultstring, detail: { errorcode } } } });
export const MISSING_TOKEN = fault('Invalid access token', 'oauth.v2.InvalidAccessToken');
export const INVALID_TOKEN = fault('Invalid Access Token', 'keymanagement.service.invalid_access_token');
export const EXPIRED_TOKEN = fault('Access Token expired', 'keymanagement.service.access_token_expired');

interface AccessToken { clientId: string; expiresAt: number }
interface RefreshToken { clientId: string; expiresAt: number }
interface AuthCode { clientId: string; redirectUri: string; expiresAt: number }

export interface TokenResponse { access_token: string; token_type: 'bearer'; expires_in: number; refresh_token: string; scope: string }
export interface TokenError { status: number; body: { error: string; error_description: string } }

const token = (bytes: number): string => randomBytes(bytes).toString('base64url');

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a); const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Keap requires registered redirect URIs; the sandbox registers every http(s) URI on a loopback host. */
export function isRegisteredRedirect(uri: string): boolean {
  try {
    const u = new URL(uri);
    return (u.protocol === 'http:' || u.protocol === 'https:') && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  } catch { return false; }
}

export class AuthService {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly personalAccessToken: string;
  readonly serviceAccountKey: string;
  private readonly access = new Map<string, AccessToken>();
  private readonly refresh = new Map<string, RefreshToken>();
  private readonly codes = new Map<string, AuthCode>();

  constructor(readonly appName: string, private accessTtlSeconds: number, private readonly now: () => number, fixed: FixedCredentials = {}) {
    this.clientId = fixed.clientId ?? `sandbox-${token(12)}`;
    this.clientSecret = fixed.clientSecret ?? token(24);
    this.personalAccessToken = fixed.personalAccessToken ?? `KeapPAT-${token(24)}`;
    // the PHP SDK recognises service account keys by this prefix (reference §2.2)
    this.serviceAccountKey = fixed.serviceAccountKey ?? `KeapAK-${token(24)}`;
  }

  get scope(): string { return `full|${this.appName}`; }

  /** `GET /app/oauth/authorize`: a code for a known client and a registered redirect URI (approval is automatic). */
  authorize(q: URLSearchParams): { redirect: string } | { status: number; message: string } {
    const clientId = q.get('client_id'); const redirectUri = q.get('redirect_uri');
    if (!clientId || clientId !== this.clientId) return { status: 400, message: 'Invalid client_id: this application is not registered' };
    if (!redirectUri || !isRegisteredRedirect(redirectUri)) return { status: 400, message: 'Invalid redirect_uri: not registered for this application' };
    const target = new URL(redirectUri);
    const state = q.get('state');
    if (q.get('response_type') !== 'code') {
      target.searchParams.set('error', 'unsupported_response_type');
      if (state !== null) target.searchParams.set('state', state);
      return { redirect: target.toString() };
    }
    const scope = q.get('scope');
    if (scope !== null && scope !== 'full') {
      target.searchParams.set('error', 'invalid_scope');
      if (state !== null) target.searchParams.set('state', state);
      return { redirect: target.toString() };
    }
    const code = token(12);
    this.codes.set(code, { clientId, redirectUri, expiresAt: this.now() + CODE_TTL_MS });
    target.searchParams.set('code', code);
    target.searchParams.set('scope', this.scope);
    if (state !== null) target.searchParams.set('state', state);
    return { redirect: target.toString() };
  }

  /** `POST /token` with a form body; `authorization` is the request's Authorization header. */
  exchange(form: URLSearchParams, authorization: string | undefined): TokenResponse | TokenError {
    const grant = form.get('grant_type');
    if (grant === 'authorization_code') {
      // credentials in the form body (reference §2.1 step 2); Keap rejects an Authorization header here ([TODD])
      if (authorization) return invalid(400, 'invalid_request', 'The Authorization header is not accepted on the authorization_code grant; send client_id and client_secret in the form body');
      if (form.get('client_id') !== this.clientId || !safeEqual(form.get('client_secret') ?? '', this.clientSecret)) return invalid(401, 'invalid_client', 'Invalid client credentials');
      const code = form.get('code') ?? '';
      const entry = this.codes.get(code);
      if (!entry || entry.clientId !== this.clientId) return invalid(400, 'invalid_grant', 'Invalid authorization code');
      this.codes.delete(code); // a code is good once
      if (entry.expiresAt <= this.now()) return invalid(400, 'invalid_grant', 'Authorization code expired');
      if (form.get('redirect_uri') !== entry.redirectUri) return invalid(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
      return this.issue();
    }
    if (grant === 'refresh_token') {
      // client credentials as HTTP Basic (reference §2.1 step 3)
      const basic = parseBasic(authorization);
      if (!basic || basic.user !== this.clientId || !safeEqual(basic.password, this.clientSecret)) return invalid(401, 'invalid_client', 'Invalid client credentials');
      const rt = form.get('refresh_token') ?? '';
      const entry = this.refresh.get(rt);
      if (!entry || entry.expiresAt <= this.now()) {
        if (entry) this.refresh.delete(rt);
        return invalid(400, 'invalid_request', 'Invalid Refresh Token');
      }
      this.refresh.delete(rt); // rotation: the old refresh token stops working at once
      return this.issue();
    }
    return invalid(400, 'unsupported_grant_type', `Unsupported grant_type: ${grant ?? '(none)'}`);
  }

  issue(expiresInSeconds = this.accessTtlSeconds): TokenResponse {
    const access_token = token(21); const refresh_token = token(24);
    this.access.set(access_token, { clientId: this.clientId, expiresAt: this.now() + expiresInSeconds * 1000 });
    this.refresh.set(refresh_token, { clientId: this.clientId, expiresAt: this.now() + REFRESH_TOKEN_TTL_MS });
    return { access_token, token_type: 'bearer', expires_in: expiresInSeconds, refresh_token, scope: this.scope };
  }

  setAccessTtl(seconds: number): void { this.accessTtlSeconds = seconds; }

  expireAccessTokens(): void {
    const past = this.now() - 1;
    for (const t of this.access.values()) t.expiresAt = past;
  }

  /** Checks a request's credentials before routing; returns who it is or the gateway's 401. */
  check(authorization: string | undefined, apiKey: string | undefined): Principal | AuthFailure {
    if (apiKey !== undefined && apiKey !== '') {
      const p = this.keyPrincipal(apiKey);
      return p ?? INVALID_TOKEN;
    }
    if (!authorization) return MISSING_TOKEN;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return MISSING_TOKEN;
    const presented = m[1]!;
    const key = this.keyPrincipal(presented);
    if (key) return key;
    const at = this.access.get(presented);
    if (!at) return INVALID_TOKEN;
    if (at.expiresAt <= this.now()) return EXPIRED_TOKEN;
    return { kind: 'oauth', quotaKey: `client:${at.clientId}` };
  }

  private keyPrincipal(k: string): Principal | undefined {
    if (safeEqual(k, this.personalAccessToken)) return { kind: 'pat', quotaKey: 'pat' };
    if (safeEqual(k, this.serviceAccountKey)) return { kind: 'sak', quotaKey: 'sak' };
    return undefined;
  }
}

function invalid(status: number, error: string, error_description: string): TokenError {
  return { status, body: { error, error_description } };
}

function parseBasic(h: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(h ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? undefined : { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

// The browser half of the authorization-code flow: the URL a person opens, the local listener on
// CallbackURL that receives Keap's redirect with ?code=…&state=…, and opening a desktop browser.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectionSettings } from '../config/connection-string.js';

export function buildAuthorizationUrl(settings: Pick<ConnectionSettings, 'oauthAuthorizationUrl' | 'oauthClientId' | 'scope'>, redirectUri: string, state?: string): string {
  const url = new URL(settings.oauthAuthorizationUrl);
  url.searchParams.set('client_id', settings.oauthClientId ?? '');
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', settings.scope);
  if (state) url.searchParams.set('state', state);
  return url.toString();
}

export interface CallbackListener {
  /** CallbackURL with the port actually bound (CallbackURL may say port 0) */
  readonly redirectUri: string;
  close(): Promise<void>;
}

/**
 * Listen on CallbackURL until Keap redirects the browser there. `onCode` runs the exchange; the
 * browser is answered only after it finished, so the person sees whether authorization worked.
 */
export async function listenForCallback(
  callbackUrl: string,
  state: string,
  onCode: (code: string) => Promise<void>,
  onError: (error: string, description: string | undefined) => void = () => {},
): Promise<CallbackListener> {
  const target = new URL(callbackUrl);
  const path = target.pathname || '/';
  let handled = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://callback');
    if (req.method !== 'GET' || url.pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    const error = url.searchParams.get('error');
    const code = url.searchParams.get('code');
    if (url.searchParams.get('state') !== state) {
      // a stale tab or a forged request: ignore it and keep waiting for the real redirect
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('This authorization response does not belong to the pending keapgres authorization (state mismatch). Open the newest authorization URL keapgres printed.\n');
      return;
    }
    if (error) {
      onError(error, url.searchParams.get('error_description') ?? undefined);
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`Keap did not authorize keapgres (${error}). Start again from the authorization URL keapgres printed.\n`);
      return;
    }
    if (!code) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('The redirect carries no authorization code.\n');
      return;
    }
    if (handled) {
      res.writeHead(409, { 'content-type': 'text/plain; charset=utf-8' }).end('This authorization was already completed.\n');
      return;
    }
    handled = true;
    onCode(code).then(
      () => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('keapgres is now authorized to use your Keap account. You can close this tab.\n'),
      (err: Error) => {
        handled = false;
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`keapgres could not complete the authorization: ${err.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(target.port || (target.protocol === 'https:' ? 443 : 80)), target.hostname.replace(/^\[|\]$/g, ''), () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // keep the CallbackURL text as written (no trailing slash added) so redirect_uri matches what is registered
  const redirectUri = callbackUrl.replace(/^(https?:\/\/[^/:]+|https?:\/\/\[[^\]]+\])(:\d+)?/, `$1:${port}`);
  return {
    redirectUri,
    close: () =>
      new Promise<void>((resolve) => {
        // let a response being written (the browser's "authorized" page) finish before cutting connections
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      }),
  };
}

/** Open the URL in a desktop browser when one can exist; false when there is none. */
export function openInBrowser(url: string): boolean {
  let command: string;
  let args: string[];
  if (process.platform === 'darwin') {
    command = 'open';
    args = [url];
  } else if (process.platform === 'win32') {
    command = 'cmd';
    args = ['/c', 'start', '""', url.replaceAll('&', '^&')];
  } else if (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) {
    command = 'xdg-open';
    args = [url];
  } else {
    return false;
  }
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

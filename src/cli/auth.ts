// `keapgres auth`: authorize keapgres with Keap for one named connection, by hand.
//   keapgres auth --connection "…"                   the whole flow: listen on CallbackURL, open/print the URL, store the tokens
//   keapgres auth --config FILE --database NAME      the same for one database of a configuration file
//   … --print-url                                    only print the authorization URL (headless machines)
//   … --verifier CODE                                exchange a code (or the whole redirected URL) and store the tokens
import { randomBytes } from 'node:crypto';
import type { ConnectionSettings } from '../config/connection-string.js';
import { parseConnectionString } from '../config/connection-string.js';
import { loadServerConfig } from '../config/server-config.js';
import { SqlError } from '../errors.js';
import { buildAuthorizationUrl, listenForCallback, openInBrowser } from '../oauth/authorization.js';
import { exchangeAndStore, extractAuthorizationCode } from '../oauth/authorize-once.js';
import type { CommandIo } from './passwd.js';
import { errorText } from './error-text.js';

const USAGE = `usage: keapgres auth (--connection STRING | [--config FILE] [--database NAME]) [--print-url | --verifier CODE]
  --connection STRING  the connection string (served as database "keap")
  --config FILE        the server configuration file (default $KEAPGRES_CONFIG)
  --database NAME      which database of the configuration (default keap)
  --print-url          print the authorization URL and exit; open it anywhere, sign in, and copy the
                       "code" from the address Keap redirects to (even if that page does not load)
  --verifier CODE      exchange that code (or the whole redirected URL) and store the tokens
With neither, keapgres listens on CallbackURL, prints (and, with a desktop, opens) the URL, and stores
the tokens when Keap redirects back.
`;

export interface AuthCommandOptions {
  /** open a desktop browser (default: when the connection allows it and a desktop exists) */
  openBrowser?: (url: string) => boolean;
  env?: NodeJS.ProcessEnv;
  /** ends the interactive flow early (tests, Ctrl-C) */
  signal?: AbortSignal;
}

export async function runAuthCommand(args: string[], io: CommandIo = process, options: AuthCommandOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') {
      io.stdout.write(USAGE);
      return 0;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!['--connection', '--config', '--database', '--print-url', '--verifier'].includes(name)) {
      io.stderr.write(`keapgres auth: unknown option "${name}"\n${USAGE}`);
      return 2;
    }
    if (name === '--print-url') flags[name] = true;
    else if (eq > 0) flags[name] = a.slice(eq + 1);
    else if (i + 1 < args.length) flags[name] = args[++i]!;
    else {
      io.stderr.write(`keapgres auth: ${name} needs a value\n`);
      return 2;
    }
  }
  if (flags['--print-url'] && flags['--verifier']) {
    io.stderr.write('keapgres auth: give either --print-url or --verifier, not both\n');
    return 2;
  }
  try {
    const { settings, label } = resolveConnection(flags, env);
    if (settings.authScheme !== 'OAuth' || !settings.oauthClientId || !settings.oauthClientSecret) {
      io.stderr.write(`keapgres auth: ${label} does not use OAuth with a client id and secret; nothing to authorize.\nSet AuthScheme=OAuth, OAuthClientId and OAuthClientSecret.\n`);
      return 1;
    }
    if (flags['--print-url']) {
      io.stdout.write(`${buildAuthorizationUrl(settings, settings.callbackUrl)}\n`);
      io.stderr.write(`Open the URL above in any browser and allow access. Keap then redirects to ${settings.callbackUrl}?code=…; copy the code (or the whole address) and run:\n  keapgres auth … --verifier CODE\n`);
      return 0;
    }
    if (typeof flags['--verifier'] === 'string') {
      await exchangeAndStore(settings, extractAuthorizationCode(flags['--verifier']), settings.callbackUrl);
      io.stdout.write(`Authorized ${label}: tokens stored in ${settings.oauthSettingsLocation}\n`);
      return 0;
    }
    return await interactiveFlow(settings, label, io, options);
  } catch (err) {
    io.stderr.write(errorText('keapgres auth', err));
    return 1;
  }
}

function resolveConnection(flags: Record<string, string | true>, env: NodeJS.ProcessEnv): { settings: ConnectionSettings; label: string } {
  const connection = flags['--connection'];
  if (typeof connection === 'string') {
    return { settings: parseConnectionString(connection, { connectionName: 'keap', env }), label: 'connection "keap"' };
  }
  const database = typeof flags['--database'] === 'string' ? flags['--database'] : 'keap';
  const configFile = typeof flags['--config'] === 'string' ? flags['--config'] : undefined;
  const config = loadServerConfig({ configFile, env });
  const settings = config.databases.get(database);
  if (!settings) {
    throw new SqlError('3D000', `database "${database}" is not configured`, { detail: `Configured: ${[...config.databases.keys()].join(', ')}.` });
  }
  if (settings === 'sandbox') throw new SqlError('22023', `database "${database}" is the built-in sandbox; it needs no authorization`);
  return { settings, label: `database "${database}"` };
}

async function interactiveFlow(settings: ConnectionSettings, label: string, io: CommandIo, options: AuthCommandOptions): Promise<number> {
  const state = randomBytes(16).toString('base64url');
  let finish!: (ok: boolean) => void;
  const finished = new Promise<boolean>((resolve) => (finish = resolve));
  let redirectUri = settings.callbackUrl;
  const listener = await listenForCallback(
    settings.callbackUrl,
    state,
    async (code) => {
      await exchangeAndStore(settings, code, redirectUri);
      io.stdout.write(`Authorized ${label}: tokens stored in ${settings.oauthSettingsLocation}\n`);
      finish(true);
    },
    (error, description) => io.stderr.write(`Keap did not authorize keapgres: ${error}${description ? ` (${description})` : ''}. Try the URL again.\n`),
  ).catch((err: Error) => {
    throw new SqlError('28000', `cannot listen on CallbackURL ${settings.callbackUrl}`, {
      detail: err.message,
      hint: 'Free that port or set CallbackURL to another one registered with your Keap app, or use --print-url and --verifier.',
    });
  });
  redirectUri = listener.redirectUri;
  const url = buildAuthorizationUrl(settings, redirectUri, state);
  io.stdout.write(`Open this URL in a browser and allow access:\n\n  ${url}\n\nWaiting for Keap to redirect to ${redirectUri} …\n`);
  const open = options.openBrowser ?? (settings.openBrowser ? openInBrowser : () => false);
  open(url);
  const onAbort = () => finish(false);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const onSigint = () => finish(false);
  process.once('SIGINT', onSigint);
  try {
    const ok = await finished;
    if (!ok) io.stderr.write('keapgres auth: cancelled before Keap redirected back\n');
    return ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    options.signal?.removeEventListener('abort', onAbort);
    await listener.close();
  }
}

// What the server says at start-up about its configuration: every served database with its masked
// connection string, and plainly when the sandbox stands in for Keap.
import type { Logger } from '../log/logger.js';
import type { ServerConfig } from './server-config.js';

export function logServerConfig(config: ServerConfig, logger: Logger): void {
  logger.info(
    { host: config.host, port: config.port, tls: config.tls !== undefined, users: config.users.map((u) => u.name), trust: config.trust, configFile: config.configFile },
    'keapgres configuration loaded',
  );
  if (config.cacheConnection) {
    logger.info(
      { cacheConnection: withoutPassword(config.cacheConnection), advertiseAddress: config.advertiseAddress, instanceTimeout: config.instanceTimeoutSeconds },
      'instances share state through the CacheConnection PostgreSQL',
    );
  }
  for (const [database, settings] of config.databases) {
    if (settings === 'sandbox') {
      logger.warn(
        { database, sandbox: config.sandbox },
        `database "${database}" is served by the built-in Keap sandbox (simulated data, started in-process): no Keap connection is configured. Use --connection, KEAPGRES_CONNECTION or a configuration file to serve a real Keap account.`,
      );
    } else {
      logger.info({ database, connection: settings.masked, authScheme: settings.authScheme, initiateOAuth: settings.initiateOAuth, tokenLocation: settings.oauthSettingsLocation }, `database "${database}" serves a Keap connection`);
    }
  }
  if (config.users.length === 0 && config.trust === false) {
    logger.warn('no users configured: keapgres accepts loopback connections only, trusted without a password. Add users with "keapgres passwd USER" to accept other hosts.');
  }
}

/** A postgresql:// URL as it may be logged: its password masked. */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '********';
    if (u.searchParams.has('password')) u.searchParams.set('password', '********');
    return u.toString();
  } catch {
    return '(a CacheConnection URL)';
  }
}

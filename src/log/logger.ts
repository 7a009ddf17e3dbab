// JSON-lines logging (pino) that cannot print a secret: secret-named keys are censored, connection
// strings are masked, and every secret value registered with registerSecret() is scrubbed from the
// final line whatever key or message it hides in.
import { createHash } from 'node:crypto';
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { maskConnectionString } from '../config/connection-string.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** pino level: fatal, error, warn, info, debug, trace, silent (default info, or KEAPGRES_LOG_LEVEL) */
  level?: string;
  /** a file path or a file descriptor; default 2 (stderr) */
  destination?: string | number;
  /** write to this stream instead (tests) */
  stream?: DestinationStream;
}

export const REDACTED = '[redacted]';

const SECRET_KEY = /pass(word|wd)?$|secret|token|authori[sz]ation|api[-_]?key|verifier|cookie|credential|private[-_]?key/i;
// names of places and lifetimes, not secrets: tokenUrl, authorizationUrl, tokenExpiresAt …
const NOT_SECRET_KEY = /(url|uri|location|expiresat|expiresin|type)$/i;
const CONNECTION_KEY = /^conn(ection)?(string|str)?$|connectionstring/i;

const registeredSecrets = new Set<string>();

/** Values that must never be printed, whatever key or message carries them (tokens, keys, passwords). */
export function registerSecret(value: string | undefined): void {
  // very short values would scrub ordinary words; real secrets are long
  if (value && value.length >= 8) registeredSecrets.add(value);
}

export function forgetSecret(value: string | undefined): void {
  if (value) registeredSecrets.delete(value);
}

/** A stand-in for a secret that lets two log lines be compared without revealing it. */
export function redactSecret(value: string | undefined | null): string {
  if (!value) return '';
  return `[redacted:${createHash('sha256').update(value).digest('hex').slice(0, 8)}]`;
}

/** Remove every registered secret from a text (for messages built outside the logger). */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const secret of registeredSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join(REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join(REDACTED);
  }
  return out;
}

function redactValue(key: string, value: unknown, depth: number): unknown {
  if (value === null || value === undefined) return value;
  if (SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key) && typeof value !== 'number' && typeof value !== 'boolean') {
    return REDACTED;
  }
  if (typeof value === 'string') return CONNECTION_KEY.test(key) ? maskConnectionString(value) : value;
  if (depth > 6 || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue('', v, depth + 1));
  if (value instanceof Map) return redactObject(Object.fromEntries(value), depth + 1);
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  return redactObject(value as Record<string, unknown>, depth + 1);
}

function redactObject(obj: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = redactValue(k, v, depth);
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.KEAPGRES_LOG_LEVEL ?? 'info';
  const stream = opts.stream ?? pino.destination({ dest: opts.destination ?? 2, sync: true, mkdir: typeof opts.destination === 'string' });
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactObject(obj, 0),
        bindings: (bindings) => redactObject(bindings, 0),
      },
      hooks: {
        streamWrite: (line) => (registeredSecrets.size ? scrubSecrets(line) : line),
      },
    },
    stream,
  );
}

/** A logger that drops everything (library defaults, tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** CData's Verbosity 1–5 as pino levels: 1–2 setup, queries and errors; 3 requests; 4–5 everything. */
export function levelForVerbosity(verbosity: number): string {
  return verbosity >= 4 ? 'trace' : verbosity === 3 ? 'debug' : 'info';
}

/**
 * The logger for one Keap connection: a child of the server's logger tagged with the database
 * name, or, when the connection string sets Logfile, a logger writing to that file at its Verbosity.
 */
export function createConnectionLogger(settings: { logfile?: string; verbosity: number }, base: Logger, database: string): Logger {
  if (!settings.logfile) return base.child({ database });
  return createLogger({ level: levelForVerbosity(settings.verbosity), destination: settings.logfile }).child({ database });
}

// `keapgres sandbox`: run the local Keap API alone, for trying keapgres without Keap credentials and for benchmarks.
import type { Writable } from 'node:stream';
import { startSandbox, type SandboxOptions } from '../sandbox/index.js';

export interface SandboxCommandIo { stdout: Writable; stderr: Writable; /** stops the sandbox like SIGINT does (for tests) */ signal?: AbortSignal }

const USAGE = `usage: keapgres sandbox [options]
  --port P              listen port (default 8080; 0 = any free port)
  --host H              listen address (default 127.0.0.1)
  --seed S              data seed (default 1): same seed and sizes, same data
  --contacts N          number of contacts (default 5000); other records in proportion
  --latency MS          added latency per API request (default 0)
  --jitter MS           random extra latency up to MS (default 0)
  --error-rate F        fraction of API requests answered 500/502/503 (default 0)
  --reset-rate F        fraction of API requests whose connection is reset (default 0)
  --truncate-rate F     fraction of API responses cut off midway (default 0)
  --slow-body MS        spread every API response body over MS milliseconds (default 0)
  --token-ttl S         access-token expires_in in seconds (default 86400)
  --spike N             spike-arrest limit per second (default 25 for OAuth, 10 for API keys)
  --per-minute N        per-client quota per minute (default 1500 OAuth, 240 API keys)
  --per-day N           per-client quota per day (default 150000 OAuth, 30000 API keys)
  --tenant-per-minute N tenant quota per minute (default 10000)
  --tenant-per-day N    tenant quota per day (default 250000)
  --client-id ID --client-secret SECRET --pat TOKEN   fixed credentials (random otherwise)
  --json-cache-mb MB    memory for serialised contacts reused across pages (default 1000)
  --no-prewarm          do not serialise contacts in the background at start
`;

export async function runSandboxCommand(args: string[], io: SandboxCommandIo = process): Promise<number> {
  const opts: SandboxOptions = { port: 8080, limits: {}, credentials: {}, prewarm: true };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}`);
    return n;
  };
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!; const v = (): string | undefined => args[++i];
      switch (a) {
        case '-h': case '--help': io.stdout.write(USAGE); return 0;
        case '--port': opts.port = num(a, v(), 0); break;
        case '--host': opts.host = v(); break;
        case '--seed': opts.seed = num(a, v(), 0); break;
        case '--contacts': opts.contacts = Math.floor(num(a, v(), 0)); break;
        case '--latency': opts.latencyMs = num(a, v(), 0); break;
        case '--jitter': opts.latencyJitterMs = num(a, v(), 0); break;
        case '--error-rate': opts.faults = { ...opts.faults, errorRate: num(a, v(), 0) }; break;
        case '--reset-rate': opts.faults = { ...opts.faults, resetRate: num(a, v(), 0) }; break;
        case '--truncate-rate': opts.faults = { ...opts.faults, truncateRate: num(a, v(), 0) }; break;
        case '--slow-body': opts.faults = { ...opts.faults, slowBodyMs: num(a, v(), 0) }; break;
        case '--token-ttl': opts.accessTokenTtlSeconds = num(a, v(), 1); break;
        case '--spike': opts.limits!.spikePerSecond = num(a, v(), 1); break;
        case '--per-minute': opts.limits!.perMinute = num(a, v(), 1); break;
        case '--per-day': opts.limits!.perDay = num(a, v(), 1); break;
        case '--tenant-per-minute': opts.limits!.tenantPerMinute = num(a, v(), 1); break;
        case '--tenant-per-day': opts.limits!.tenantPerDay = num(a, v(), 1); break;
        case '--client-id': opts.credentials!.clientId = v(); break;
        case '--client-secret': opts.credentials!.clientSecret = v(); break;
        case '--pat': opts.credentials!.personalAccessToken = v(); break;
        case '--json-cache-mb': opts.jsonCacheBytes = num(a, v(), 0) * 1e6; break;
        case '--no-prewarm': opts.prewarm = false; break;
        default: throw new Error(`unexpected argument "${a}"`);
      }
    }
  } catch (e) {
    io.stderr.write(`keapgres sandbox: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let sb;
  try {
    sb = await startSandbox(opts);
  } catch (e) {
    io.stderr.write(`keapgres sandbox: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  // The sandbox's credentials are printed on purpose: they are local test credentials a newcomer needs to connect.
  io.stdout.write([
    `Keap sandbox listening on ${sb.url} (seed ${opts.seed ?? 1}, ${sb.store.sizes.contacts} contacts)`,
    `  REST base:      ${sb.apiBase}   (v1: ${sb.apiBase}/v1, v2: ${sb.apiBase}/v2)`,
    `  authorize URL:  ${sb.authorizeUrl}`,
    `  token URL:      ${sb.tokenUrl}`,
    `  OAuth client id:     ${sb.clientId}`,
    `  OAuth client secret: ${sb.clientSecret}`,
    `  personal access token: ${sb.personalAccessToken}`,
    `  service account key:   ${sb.serviceAccountKey}`,
    `  control: GET ${sb.url}/_sandbox/stats, POST ${sb.url}/_sandbox/stats/reset, POST ${sb.url}/_sandbox/control`,
    '',
  ].join('\n'));
  const opened = sb;
  await new Promise<void>((resolve) => {
    const stop = (): void => { process.off('SIGINT', stop); process.off('SIGTERM', stop); io.signal?.removeEventListener('abort', stop); resolve(); };
    process.on('SIGINT', stop); process.on('SIGTERM', stop);
    if (io.signal?.aborted) stop(); else io.signal?.addEventListener('abort', stop);
  });
  await opened.close();
  return 0;
}

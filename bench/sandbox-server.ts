// Child process for bench/sandbox.ts: a sandbox with throttling off, reporting its URL and key on stdout.
import { startSandbox } from '../src/sandbox/index.js';

const contacts = Number(process.argv[2] ?? 1_000_000);
const off = 1e12;
const sb = await startSandbox({ contacts, limits: { spikePerSecond: off, perMinute: off, perDay: off, tenantPerMinute: off, tenantPerDay: off } });
process.stdout.write(JSON.stringify({ apiBase: sb.apiBase, url: sb.url, key: sb.personalAccessToken }) + '\n');
process.on('SIGTERM', () => { void sb.close().then(() => process.exit(0)); });

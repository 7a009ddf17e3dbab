// Child process for bench/sandbox.ts: a sandbox with throttling off, reporting its URL and key on stdout.
import { startSandbox } from '../src/sandbox/index.js';

const contacts = Number(process.argv[2] ?? 1_000_000);
const prewarm = process.argv[3] === 'prewarm';
const off = 1e12;
const t0 = performance.now();
const sb = await startSandbox({ contacts, prewarm, limits: { spikePerSecond: off, perMinute: off, perDay: off, tenantPerMinute: off, tenantPerDay: off } });
await sb.warmed();
const warmSeconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ apiBase: sb.apiBase, url: sb.url, key: sb.personalAccessToken, warmSeconds, cacheBytes: sb.store.contactJson.sizeBytes }) + '\n');
process.on('SIGTERM', () => { void sb.close().then(() => process.exit(0)); });

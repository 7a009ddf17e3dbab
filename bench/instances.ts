// Several keapgres instances sharing one Keap app through CacheConnection (issue 14), each instance and the
// sandbox in its own process, the shared PostgreSQL a real one started in the same run:
//   1. full scans against the floor Keap's spike limit allows (calls ÷ 25 per second, plus one latency),
//      at 100 ms latency: one instance alone; three at once sharing the rate through PostgreSQL; and the
//      baseline, three at once each pacing on its own (no CacheConnection), with the 429s each way
//   2. memory: sessions per GB over three instances against one instance holding as many sessions
//   3. a table another instance fetched: pulled from the shared PostgreSQL against fetched from Keap
// Run: npm run bench:instances   (= tsc -p . && node dist/bench/instances.js [--write])
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { request } from 'undici';
import { startPostgres } from '../test/support/postgres.js';
import { oauthToken, sandboxConnection, startKeapgresProcess, startSandboxProcess, writeResultsSection, type KeapgresChild, type SandboxChild } from './support/children.js';

const WRITE = process.argv.includes('--write');
const CONTACTS = 30_000;
const PAGE = 250;
const LATENCY_MS = 100;
const SESSIONS = 30;
const SCAN = 'SELECT count(*)::int AS n, count(DISTINCT email)::int AS e FROM contacts';

async function stats(sb: SandboxChild): Promise<{ total: number; byStatus: Record<string, number> }> {
  const res = await request(`${sb.url}/_sandbox/stats`);
  return (await res.body.json()) as { total: number; byStatus: Record<string, number> };
}

async function resetStats(sb: SandboxChild): Promise<void> {
  await (await request(`${sb.url}/_sandbox/stats/reset`, { method: 'POST' })).body.dump();
}

async function query(k: KeapgresChild, sql: string): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({ host: '127.0.0.1', port: k.port, database: 'keap', user: 'bench' });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

/** Resident memory of a process and its threads (keapgres's engines are threads), shared pages split by sharers. */
function pss(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0) * 1024;
}

async function scanAtOnce(sb: SandboxChild, instances: KeapgresChild[]): Promise<{ seconds: number; calls: number; throttled: number; floor: number }> {
  // a new second and a new minute of the gateway's windows are not needed: the calls stay under 1,500 a minute
  await new Promise((r) => setTimeout(r, 1500));
  await resetStats(sb);
  const t0 = performance.now();
  const rows = await Promise.all(instances.map((k) => query(k, SCAN)));
  const seconds = (performance.now() - t0) / 1000;
  for (const r of rows) if (r[0]!.n !== CONTACTS) throw new Error(`scan returned ${r[0]!.n} contacts`);
  const s = await stats(sb);
  return { seconds, calls: s.total, throttled: s.byStatus['429'] ?? 0, floor: s.total / 25 + LATENCY_MS / 1000 };
}

async function main(): Promise<void> {
  const postgres = await startPostgres();
  const cacheConnection = `postgresql://${postgres.user}@${postgres.host}:${postgres.port}/${postgres.database}`;
  // Keap's own limits for an OAuth app: 25 a second, 1,500 a minute
  const sb = await startSandboxProcess(CONTACTS, ['--latency', String(LATENCY_MS)]);
  const token = await oauthToken(sb);
  const scanConn = (shared: boolean) => sandboxConnection(sb, token, `AutoCache=false;Pagesize=${PAGE}${shared ? `;CacheConnection=${cacheConnection}` : ''}`);
  const lines: string[] = [];
  const say = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  try {
    say(`machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB, load ${os.loadavg()[0]!.toFixed(1)}; PostgreSQL ${postgres.version}; sandbox ${CONTACTS} contacts, ${LATENCY_MS} ms latency, 25/s and 1,500/min`);
    say('');
    say('| full scan of contacts (AutoCache=false, Pagesize=' + PAGE + ') | calls | 429s | time | floor | ratio |');
    say('|---|---|---|---|---|---|');
    const row = (label: string, r: Awaited<ReturnType<typeof scanAtOnce>>) =>
      say(`| ${label} | ${r.calls} | ${r.throttled} | ${r.seconds.toFixed(2)} s | ${r.floor.toFixed(2)} s | ${(r.seconds / r.floor).toFixed(2)}x |`);

    const shared = await Promise.all([0, 1, 2].map(() => startKeapgresProcess(['--port', '0', '--connection', scanConn(true)])));
    row('one instance alone (CacheConnection)', await scanAtOnce(sb, shared.slice(0, 1)));
    row('three instances at once, sharing the rate (CacheConnection)', await scanAtOnce(sb, shared));
    // a short query on one instance while another scans: the scan must not starve it
    const SHORT = 'SELECT count(*)::int AS n FROM (SELECT * FROM tags) t';
    await new Promise((r) => setTimeout(r, 1500));
    let t0 = performance.now();
    await query(shared[1]!, SHORT);
    const shortAlone = (performance.now() - t0) / 1000;
    const scanning = query(shared[0]!, SCAN);
    await new Promise((r) => setTimeout(r, 1500));
    t0 = performance.now();
    await query(shared[2]!, SHORT);
    const shortBeside = (performance.now() - t0) / 1000;
    await scanning;
    await Promise.all(shared.map((k) => k.stop()));
    const alone = await Promise.all([0, 1, 2].map(() => startKeapgresProcess(['--port', '0', '--connection', scanConn(false)])));
    row('baseline: three instances at once, each pacing alone', await scanAtOnce(sb, alone));
    await Promise.all(alone.map((k) => k.stop()));

    say('');
    say(`A short query (tags, one call) on instance C while instance A scans contacts: ${shortBeside.toFixed(2)} s; the same query alone: ${shortAlone.toFixed(2)} s.`);

    // memory: idle sessions spread over three instances, against one instance holding them all
    say('');
    say(`| ${SESSIONS} idle sessions | processes | PSS total | per session (over the processes' own start) | sessions per GB |`);
    say('|---|---|---|---|---|');
    for (const n of [1, 3]) {
      const ks = await Promise.all(Array.from({ length: n }, () => startKeapgresProcess(['--port', '0', '--connection', sandboxConnection(sb, token, `CacheConnection=${cacheConnection}`)])));
      await new Promise((r) => setTimeout(r, 3000));
      const before = ks.reduce((m, k) => m + pss(k.proc.pid!), 0);
      const clients: pg.Client[] = [];
      for (let i = 0; i < SESSIONS; i++) {
        const c = new pg.Client({ host: '127.0.0.1', port: ks[i % n]!.port, database: 'keap', user: 'bench' });
        await c.connect();
        await c.query('SELECT 1');
        clients.push(c);
      }
      await new Promise((r) => setTimeout(r, 3000));
      const after = ks.reduce((m, k) => m + pss(k.proc.pid!), 0);
      const perSession = (after - before) / SESSIONS;
      say(`| ${n === 1 ? 'baseline: one instance' : 'three instances'} | ${n} | ${(after / 2 ** 20).toFixed(0)} MB | ${(perSession / 2 ** 20).toFixed(1)} MB | ${Math.floor(2 ** 30 / (after / SESSIONS))} (${Math.floor(2 ** 30 / perSession)} past start) |`);
      await Promise.all(clients.map((c) => c.end()));
      await Promise.all(ks.map((k) => k.stop()));
    }

    // a table one instance fetched, read by another: from the shared PostgreSQL against from Keap
    say('');
    const cached = (name: string, shared: boolean) => sandboxConnection(sb, token, `CacheTolerance=3600;CacheLocation=${os.tmpdir()}/keapgres-bench-instances-${process.pid}-${name}${shared ? `;CacheConnection=${cacheConnection}` : ''}`);
    const [a, b, solo] = await Promise.all([cached('a', true), cached('b', true), cached('solo', false)].map((conn) => startKeapgresProcess(['--port', '0', '--connection', conn])));
    const CARD = 'SELECT owner_id, count(*) FROM contacts GROUP BY 1';
    t0 = performance.now();
    await query(a!, CARD);
    const fetchA = (performance.now() - t0) / 1000;
    await resetStats(sb);
    t0 = performance.now();
    await query(b!, CARD);
    const pulled = (performance.now() - t0) / 1000;
    const pulledCalls = (await stats(sb)).total;
    t0 = performance.now();
    await query(solo!, CARD);
    const fetched = (performance.now() - t0) / 1000;
    say(`| first query on contacts (${CONTACTS} rows) in an instance that has none | Keap calls | time |`);
    say('|---|---|---|');
    say(`| fetched from Keap by instance A (CacheConnection) | — | ${fetchA.toFixed(2)} s |`);
    say(`| instance B: pulled from the shared PostgreSQL | ${pulledCalls} | ${pulled.toFixed(2)} s |`);
    say(`| baseline: an instance without CacheConnection fetches it from Keap | — | ${fetched.toFixed(2)} s (${(fetched / pulled).toFixed(1)}x the pull) |`);
    await Promise.all([a!, b!, solo!].map((k) => k.stop()));
  } finally {
    await sb.stop();
    await postgres.stop();
  }
  if (WRITE) writeResultsSection('instances', '## Several instances (issue 14)', `\`npm run bench:instances -- --write\`\n\n${lines.join('\n')}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

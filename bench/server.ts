// Server benchmark: keapgres beside a real PostgreSQL started in the same run, both measured with
// node-postgres from this process.
//   1. connection set-up: connect + `SELECT 1` + close, one after another (keapgres's pool is warm:
//      an engine handed back by a session that created nothing is reused)
//   2. memory per idle session with 1, 10 and 50 sessions open: keapgres = the RSS (and PSS) of its
//      process, worker threads included; PostgreSQL = the sum over the postmaster and all its
//      children, as RSS (counts shared_buffers once per backend that touched it) and as PSS (shared
//      pages split between the processes sharing them: the fair figure)
//   3. 100,000 rows to the client: a narrow generate_series and a 10-column contact-like temp table
// Run: npm run bench:server   (= tsc -p . && node dist/bench/server.js [--write])
// --write replaces the server section of bench/RESULTS.md with the figures and the machine notes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgres, type ThrowawayPostgres } from '../test/support/postgres.js';
import { writeResultsSection } from './support/children.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRITE = process.argv.includes('--write');
const SETUP_ROUNDS = 30;
const WARM_SETUP_ROUNDS = 12;
/** long enough for keapgres to have a started spare engine again (about 0.5 s idle, 2–3 s on a loaded machine) */
const WARM_GAP_MS = 3000;
const TRANSFER_ROUNDS = 5;
const SESSION_COUNTS = [1, 10, 50];
const ROWS = 100_000;

// ---- measuring -------------------------------------------------------------------------------------

interface Memory { rss: number; pss: number }

function memoryOfProcess(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss') };
}

/** A process and every process below it (PostgreSQL's backends are children of the postmaster). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => { out.push(pid); for (const c of children.get(pid) ?? []) walk(c); };
  walk(root);
  return out;
}

function memoryOfTree(root: number): Memory {
  let rss = 0;
  let pss = 0;
  for (const pid of processTree(root)) {
    try {
      const m = memoryOfProcess(pid);
      rss += m.rss;
      pss += m.pss;
    } catch {
      // ended meanwhile
    }
  }
  return { rss, pss };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const p90 = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]!; };
const MB = (b: number) => b / 1024 / 1024;

// ---- the two servers -------------------------------------------------------------------------------

interface Target {
  name: string;
  config: pg.ClientConfig;
  /** the process whose memory counts (its tree, for PostgreSQL) */
  pid: number;
  memory(): Memory;
}

interface KeapgresChild { port: number; pid: number; child: ChildProcess; stop(): Promise<void> }

async function startKeapgres(workDir: string, spares: number): Promise<KeapgresChild> {
  const configFile = path.join(workDir, `keapgres-${spares}.json`);
  writeFileSync(configFile, JSON.stringify({ host: '127.0.0.1', port: 0, sandbox: { seed: 1, contacts: 1000 }, idleSpareEngines: spares, maxSessions: 200, logLevel: 'warn' }));
  const child = spawn(process.execPath, [path.join(ROOT, 'server', 'keapgres.js'), 'serve', '--config', configFile], {
    cwd: ROOT,
    // its own template cache, so the run does not depend on (or disturb) the user's
    env: { ...process.env, XDG_CACHE_HOME: path.join(workDir, 'cache') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`keapgres exited with code ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /listening on [^ ]+:(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  return {
    port, pid: child.pid!, child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

// ---- the measurements ------------------------------------------------------------------------------

async function setupTimes(t: Target, rounds: number, gapMs: number): Promise<number[]> {
  const times: number[] = [];
  await sleep(gapMs);
  for (let i = 0; i < rounds + 3; i++) {
    const t0 = performance.now();
    const c = new pg.Client(t.config);
    await c.connect();
    await c.query('SELECT 1');
    const ms = performance.now() - t0;
    await c.end();
    if (i >= 3) times.push(ms); // the first rounds warm up the client, the JIT and the pool
    await sleep(gapMs);
  }
  return times;
}

interface SessionMemory { sessions: number; baseline: Memory; open: Memory; perSession: Memory }

async function idleSessionMemory(t: Target, n: number): Promise<SessionMemory> {
  await sleep(1500);
  const baseline = t.memory();
  const clients: pg.Client[] = [];
  try {
    // opened a few at a time: how fast is not measured here, and 50 engines at once only queue
    for (let i = 0; i < n; i += 5) {
      const batch = Array.from({ length: Math.min(5, n - i) }, () => new pg.Client(t.config));
      await Promise.all(batch.map(async (c) => { await c.connect(); await c.query('SELECT 1'); }));
      clients.push(...batch);
    }
    await sleep(3000); // let the spares the pool starts again finish, and the heaps settle
    const open = t.memory();
    return {
      sessions: n, baseline, open,
      perSession: { rss: (open.rss - baseline.rss) / n, pss: (open.pss - baseline.pss) / n },
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

const NARROW_SQL = `SELECT g, md5(g::text) FROM generate_series(1, ${ROWS}) g`;
const CONTACTS_SQL = `SELECT * FROM bench_contacts`;
const CONTACTS_SETUP = `CREATE TEMP TABLE bench_contacts AS
  SELECT g::bigint AS id, 'Given' || g AS given_name, 'Family' || (g % 997) AS family_name,
         'user' || g || '@example.com' AS email, '+1 555 ' || lpad((g % 10000)::text, 4, '0') AS phone,
         (g % 50)::bigint AS owner_id, 'Phoenix' AS city, 'US-AZ' AS region_code,
         timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' AS create_time,
         (g % 1000) * 1.25 AS score
  FROM generate_series(1, ${ROWS}) g`;

async function transferTimes(t: Target, sql: string, setup?: string): Promise<number[]> {
  const c = new pg.Client(t.config);
  await c.connect();
  try {
    if (setup) await c.query(setup);
    const times: number[] = [];
    for (let i = 0; i < TRANSFER_ROUNDS + 1; i++) {
      const t0 = performance.now();
      const r = await c.query(sql);
      const ms = performance.now() - t0;
      if (r.rows.length !== ROWS) throw new Error(`${t.name}: ${r.rows.length} rows, expected ${ROWS}`);
      if (i > 0) times.push(ms);
    }
    return times;
  } finally {
    await c.end();
  }
}

// ---- the run ---------------------------------------------------------------------------------------

interface Spread { median: number; p90: number }
const spread = (xs: number[]): Spread => ({ median: median(xs), p90: p90(xs) });

interface Figures {
  /** a spare engine is ready for each connection */
  setupWarm: Spread;
  /** one connection right after the other */
  setup: Spread;
  memory: SessionMemory[];
  narrow: number;
  contacts: number;
}

/** Set-up and transfer on `t`; memory on `memory` (keapgres without spare engines: see main). */
async function measure(t: Target, memoryTarget: () => Promise<{ target: Target; done(): Promise<void> }>): Promise<Figures> {
  process.stderr.write(`${t.name}: connection set-up …\n`);
  const setupWarm = spread(await setupTimes(t, WARM_SETUP_ROUNDS, WARM_GAP_MS));
  const setup = spread(await setupTimes(t, SETUP_ROUNDS, 50));
  process.stderr.write(`${t.name}: ${ROWS} rows …\n`);
  const narrow = median(await transferTimes(t, NARROW_SQL));
  const contacts = median(await transferTimes(t, CONTACTS_SQL, CONTACTS_SETUP));
  const memory: SessionMemory[] = [];
  const m = await memoryTarget();
  try {
    for (const n of SESSION_COUNTS) {
      process.stderr.write(`${t.name}: memory with ${n} idle sessions …\n`);
      memory.push(await idleSessionMemory(m.target, n));
    }
  } finally {
    await m.done();
  }
  return { setupWarm, setup, memory, narrow, contacts };
}

function table(k: Figures, p: Figures, pgVersion: string): string {
  const rows: string[][] = [['measure', 'keapgres', `PostgreSQL ${pgVersion}`, 'ratio', 'target', 'met']];
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  rows.push(['connection set-up, warm pool, median', ms(k.setupWarm.median), ms(p.setupWarm.median), ratio(k.setupWarm.median, p.setupWarm.median), '≤ 3×', k.setupWarm.median <= 3 * p.setupWarm.median ? 'yes' : 'NO']);
  rows.push(['connection set-up, warm pool, p90', ms(k.setupWarm.p90), ms(p.setupWarm.p90), ratio(k.setupWarm.p90, p.setupWarm.p90), '', '']);
  rows.push(['connection set-up, back to back, median', ms(k.setup.median), ms(p.setup.median), ratio(k.setup.median, p.setup.median), '', '']);
  rows.push(['connection set-up, back to back, p90', ms(k.setup.p90), ms(p.setup.p90), ratio(k.setup.p90, p.setup.p90), '', '']);
  for (let i = 0; i < k.memory.length; i++) {
    const km = k.memory[i]!;
    const pm = p.memory[i]!;
    const n = km.sessions;
    rows.push([`memory per idle session (${n}), RSS`, `${MB(km.perSession.rss).toFixed(1)} MB`, `${MB(pm.perSession.rss).toFixed(1)} MB`, ratio(km.perSession.rss, pm.perSession.rss), '< 150 MB', MB(km.perSession.rss) < 150 ? 'yes' : 'NO']);
    rows.push([`memory per idle session (${n}), PSS`, `${MB(km.perSession.pss).toFixed(1)} MB`, `${MB(pm.perSession.pss).toFixed(1)} MB`, ratio(km.perSession.pss, pm.perSession.pss), '', '']);
    rows.push([`process total, ${n} open, RSS`, `${MB(km.open.rss).toFixed(0)} MB`, `${MB(pm.open.rss).toFixed(0)} MB`, '', '', '']);
  }
  rows.push([`${ROWS.toLocaleString('en')} rows, generate_series (2 cols)`, ms(k.narrow), ms(p.narrow), ratio(k.narrow, p.narrow), '≤ 2×', k.narrow <= 2 * p.narrow ? 'yes' : 'NO']);
  rows.push([`${ROWS.toLocaleString('en')} rows, contact-like (10 cols)`, ms(k.contacts), ms(p.contacts), ratio(k.contacts, p.contacts), '≤ 2×', k.contacts <= 2 * p.contacts ? 'yes' : 'NO']);
  return rows.map((r, i) => `| ${r.join(' | ')} |${i === 0 ? `\n|${r.map(() => '---').join('|')}|` : ''}`).join('\n');
}

function machineNotes(pgVersion: string): string {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return [
    `- ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM, `
      + `shared with other work (load average at the end: ${load}); Node ${process.versions.node}; PostgreSQL ${pgVersion} (Debian package, default settings, `
      + `trust authentication over TCP on 127.0.0.1); keapgres with the built-in sandbox (1,000 contacts), idleSpareEngines 2 (0 for memory).`,
    `- Client: node-postgres ${pgVersionOfClient()} in the benchmark process; both servers on loopback TCP, no TLS.`,
    `- Set-up: connect + SELECT 1 (time until its result), after 3 warm-up rounds: "warm pool" = ${WARM_SETUP_ROUNDS} rounds ${WARM_GAP_MS / 1000} s apart, so keapgres has a started `
      + `spare engine each time; "back to back" = ${SETUP_ROUNDS} rounds 50 ms apart (keapgres then waits for engines to start whenever it cannot reuse the last session's).`,
    `- Memory: per idle session = (memory with N sessions open, each having run SELECT 1 − memory before) / N. keapgres: its process (engines are worker threads in it), `
      + `started with idleSpareEngines 0 for this part so that spare engines being restarted in the background do not blur the difference. `
      + `PostgreSQL: postmaster and all its children summed; RSS counts each shared page once per process that touched it, PSS divides shared pages between them (the fair figure).`,
    `- Transfer: median of ${TRANSFER_ROUNDS} runs after one warm-up, on one connection; time from sending the query until node-postgres has every row as a JS object.`,
  ].join('\n');
}

function pgVersionOfClient(): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'pg', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-bench-'));
  let postgres: ThrowawayPostgres | undefined;
  let keapgres: KeapgresChild | undefined;
  try {
    process.stderr.write('starting PostgreSQL and keapgres …\n');
    postgres = await startPostgres({ fast: false });
    keapgres = await startKeapgres(workDir, 2);
    const pgPid = postgres.pid;
    const keapgresTarget = (child: KeapgresChild): Target => ({
      name: 'keapgres', config: { host: '127.0.0.1', port: child.port, user: 'bench', database: 'keap' }, pid: child.pid, memory: () => memoryOfProcess(child.pid),
    });
    const pgTarget: Target = { name: 'PostgreSQL', config: postgres.clientConfig(), pid: pgPid, memory: () => memoryOfTree(pgPid) };
    // Memory is measured on a keapgres without spare engines: with spares, whether the pool has
    // started replacements for the ones sessions took (seconds on a loaded machine) decides the
    // figure. Without, each session's engine is started for it, and the difference is the sessions'.
    const k = await measure(keapgresTarget(keapgres), async () => {
      await keapgres!.stop();
      keapgres = await startKeapgres(workDir, 0);
      return { target: keapgresTarget(keapgres), done: async () => undefined };
    });
    const p = await measure(pgTarget, async () => ({ target: pgTarget, done: async () => undefined }));
    const version = postgres.version.split(' ')[0]!;
    const result = table(k, p, version);
    process.stdout.write(`\n${result}\n\n${machineNotes(version)}\n`);
    if (WRITE) {
      writeResultsSection('server.ts', '## Server: keapgres beside PostgreSQL (`bench/server.ts`)', `Command: \`npm run bench:server -- --write\` (= \`tsc -p . && node dist/bench/server.js --write\`)\n\n${result}\n\n${machineNotes(version)}\n`);
      process.stderr.write('bench/RESULTS.md updated\n');
    }
  } finally {
    await keapgres?.stop();
    await postgres?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();

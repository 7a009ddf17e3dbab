// Keap tables through keapgres, end to end (issue 5's benchmark):
//  (a) SELECT * FROM contacts of 100,000 contacts with 100 ms per request and Keap's 25/s spike limit,
//      beside the floor the rate limit allows (pages ÷ 25/s + one latency);
//  (b) with latency and limits off, rows per second from the API to the client, beside a plain undici
//      loop that fetches and parses the same pages;
//  (c) API calls for 20 typical queries, beside the fewest the Keap API allows for each.
// Usage: node dist/bench/keapgres-scan.js [contacts=100000]   (BENCH_ONLY=a: part (a) only)
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'undici';
import pg from 'pg';
import { loadCatalog } from '../src/schema/load.js';
import { SANDBOX_UNLIMITED, oauthToken, readCalls, sandboxCalls, sandboxConnection, startKeapgresProcess, startSandboxProcess, type KeapgresChild, type SandboxChild } from './support/children.js';

const contacts = Number(process.argv[2] ?? 100_000);
/** `keapgres sandbox` of this run's size in its own process. */
const startSandbox = (args: string[]): Promise<SandboxChild> => startSandboxProcess(contacts, args);

/** keapgres in its own process, as deployed: the client's row parsing does not compete with it. */
const keapgresOver = (sb: SandboxChild, token: string): Promise<KeapgresChild> =>
  startKeapgresProcess(['--port', '0', '--connection', sandboxConnection(sb, token)]);

/** CPU time (user + system) a child process has used, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(proc: ChildProcess): number {
  try {
    const fields = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds per thread of a child process (Linux), by thread id. */
function threadCpu(proc: ChildProcess): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const t of readdirSync(`/proc/${proc.pid}/task`)) {
      const f = readFileSync(`/proc/${proc.pid}/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(t, (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch { /* not Linux */ }
  return out;
}

function threadCpuDelta(before: Map<string, number>, after: Map<string, number>): string {
  return [...after].map(([t, x]) => [t, x - (before.get(t) ?? 0)] as const).filter(([, x]) => x > 0.05)
    .map(([t, x]) => `${t} ${x.toFixed(2)}`).join(', ');
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000];
}

async function fullScan(server: { port: number }): Promise<[number, number]> {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, database: 'keap', user: 'bench' });
  await c.connect();
  try {
    const [r, s] = await timed(() => c.query('SELECT * FROM contacts'));
    return [r.rowCount ?? 0, s];
  } finally {
    await c.end();
  }
}

/** The same scan through psql, whose own work per row is small: rows written unaligned to /dev/null. */
function psqlScan(server: { port: number }): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const proc = spawn('psql', ['-X', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'bench', '-d', 'keap', '-At', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stdin.end('SELECT * FROM contacts \\g /dev/null\n\\echo :ROW_COUNT\n');
    let out = '';
    let err = '';
    proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr.on('data', (b: Buffer) => (err += b.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const seconds = (performance.now() - t) / 1000;
      if (code !== 0) return reject(new Error(`psql exited ${code}: ${err.trim()}`));
      resolve([Number(out.trim()), seconds]);
    });
  });
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (s: string) => { lines.push(s); console.log(s); };
  say(`keapgres end to end, ${contacts.toLocaleString('en')} contacts — ${new Date().toISOString()}`);

  // (a) latency 100 ms, spike limit 25/s. The scan starts once keapgres and the sandbox have been idle for a
  // while (BENCH_SETTLE ms, default 3000): keapgres's spare engines have started and the sandbox has built its
  // cache of serialised records, as on a server that was already running in front of a Keap that does not
  // share its CPU. Each client scans in a fresh session, so each fetches all 100 pages.
  {
    const sb = await startSandbox(['--latency', '100', '--spike', '25', '--per-minute', '100000', '--per-day', '10000000', '--tenant-per-minute', '100000', '--tenant-per-day', '10000000']);
    const server = await keapgresOver(sb, await oauthToken(sb));
    const settle = () => new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE ?? 3000)));
    const pages = Math.ceil(contacts / 1000);
    const floor = pages / 25 + 0.1;
    say(`(a) SELECT * FROM contacts, 100 ms latency, 25 req/s; floor ${floor.toFixed(2)} s (${pages} pages ÷ 25/s + 0.1 s):`);
    try {
      const clients: Array<[string, () => Promise<[number, number]>]> = [
        ['psql (rows to /dev/null)', () => psqlScan(server)],
        ['node-postgres (rows parsed into objects)', () => fullScan(server)],
      ];
      for (const [name, scan] of clients) {
        await settle();
        const before = await sandboxCalls(sb);
        const cpuBefore = [cpuSeconds(server.proc), cpuSeconds(sb.proc)];
        const threadsBefore = threadCpu(server.proc);
        let result: [number, number];
        try {
          result = await scan();
        } catch (err) {
          say(`    ${name}: not measured (${(err as Error).message})`);
          continue;
        }
        const [rows, seconds] = result;
        const n = readCalls(before, await sandboxCalls(sb));
        if (process.env.BENCH_LOG) console.error(`keapgres CPU seconds per thread (main thread first): ${threadCpuDelta(threadsBefore, threadCpu(server.proc))}`);
        if (process.env.BENCH_LOG) console.error(`CPU seconds during the scan: keapgres ${(cpuSeconds(server.proc) - cpuBefore[0]).toFixed(2)}, sandbox ${(cpuSeconds(sb.proc) - cpuBefore[1]).toFixed(2)}`);
        say(`    ${name}: ${rows} rows in ${seconds.toFixed(2)} s, ${n} API calls; ratio to the floor ${(seconds / floor).toFixed(2)}×`);
      }
    } finally {
      await server.stop();
      sb.proc.kill();
    }
  }

  if (process.env.BENCH_ONLY === 'a') process.exit(0);

  // (b) latency and limits off
  const off = SANDBOX_UNLIMITED;
  const sb = await startSandbox(off);
  const token = await oauthToken(sb);
  const server = await keapgresOver(sb, token);
  try {
    // a warm-up scan so both sides read serialised records from the sandbox's cache
    await fullScan(server);
    const [rows, seconds] = await fullScan(server);
    const fields = loadCatalog().tables.get('contacts')!.source.fields ?? [];
    const [plainRows, plainSeconds] = await timed(async () => {
      let n = 0;
      let tokenParam = '';
      do {
        const q = new URLSearchParams({ page_size: '1000' });
        if (fields.length) q.set('fields', fields.join(','));
        if (tokenParam) q.set('page_token', tokenParam);
        const res = await request(`${sb.apiBase}/v2/contacts?${q}`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.body.json()) as { contacts: unknown[]; next_page_token?: string };
        n += body.contacts.length;
        tokenParam = body.next_page_token ?? '';
      } while (tokenParam);
      return n;
    });
    say(`(b) latency off: keapgres ${rows} rows in ${seconds.toFixed(2)} s = ${Math.round(rows / seconds).toLocaleString('en')} rows/s to the client; plain undici loop ${plainRows} records in ${plainSeconds.toFixed(2)} s = ${Math.round(plainRows / plainSeconds).toLocaleString('en')} records/s; keapgres/plain ${((rows / seconds) / (plainRows / plainSeconds)).toFixed(2)}×`);

    // (c) API calls per query. The minimum is what the API's own filters and page size allow.
    const queries: Array<[string, number]> = [
      ['SELECT * FROM contacts WHERE id = 42', 1],
      ["SELECT * FROM contacts WHERE email = 'nobody@example.com'", 1],
      ['SELECT * FROM contacts WHERE id IN (1, 2, 3, 500)', 1],
      ['SELECT id, given_name FROM contacts ORDER BY id LIMIT 10', 1],
      ["SELECT * FROM contacts WHERE given_name LIKE 'Zz%'", 1],
      ['SELECT count(*) FROM contacts', 1],
      ['SELECT * FROM tags', 1],
      ['SELECT * FROM tag_categories', 1],
      ['SELECT * FROM users', 1],
      ['SELECT * FROM products', 1],
      ['SELECT * FROM opportunity_stages', 1],
      ['SELECT * FROM campaigns', 1],
      ['SELECT * FROM orders WHERE contact_id = 7', 1],
      ['SELECT * FROM tasks WHERE contact_id = 7', 1],
      ['SELECT * FROM notes WHERE contact_id = 7', 1],
      ['SELECT * FROM opportunities WHERE contact_id = 7', 1],
      ['SELECT * FROM contact_tags WHERE tag_id = 3', 1],
      ['SELECT * FROM contact_email_addresses WHERE contact_id = 99', 1],
      ['SELECT * FROM companies WHERE id = 5', 1],
      ["SELECT * FROM emails WHERE contact_id = 7", 1],
    ];
    say('(c) API calls per query (each in a fresh session):');
    say('| query | calls | minimum | ratio |');
    say('|---|---|---|---|');
    let sumCalls = 0;
    let sumMin = 0;
    for (const [sql, min] of queries) {
      const c = new pg.Client({ host: '127.0.0.1', port: server.port, database: 'keap', user: 'bench' });
      await c.connect();
      const before = await sandboxCalls(sb);
      let note = '';
      try {
        await c.query(sql);
      } catch (err) {
        note = ` (error: ${(err as Error).message})`;
      }
      const n = readCalls(before, await sandboxCalls(sb));
      await c.end();
      sumCalls += n;
      sumMin += min;
      say(`| \`${sql}\` | ${n}${note} | ${min} | ${(n / min).toFixed(1)}× |`);
    }
    say(`| total | ${sumCalls} | ${sumMin} | ${(sumCalls / sumMin).toFixed(2)}× |`);
  } finally {
    await server.stop();
    sb.proc.kill();
  }
  void lines;
  process.exit(0);
}

await main();

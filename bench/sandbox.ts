// Benchmark of the sandbox: how fast it generates a million contacts, how much memory it holds, and how many
// 1,000-record v2 contact pages per second it serves to a plain undici client (latency off, throttling off).
// Run: npx tsc -p . && node dist/bench/sandbox.js [contacts=1000000] [cold|prewarm|both]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { createStore } from '../src/sandbox/store.js';

const contacts = Number(process.argv[2] ?? 1_000_000);
const mb = (b: number): string => (b / 1e6).toFixed(0);
const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

// 1. generation, in this process
{
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const store = createStore(1, contacts);
  let n = 0; let emails = 0;
  for (let id = 1; id <= contacts; id++) { const c = store.generator.contact(id); emails += c.emails.length; n++; }
  const s = (performance.now() - t0) / 1000;
  console.log(`generate: ${n} contacts (${emails} email addresses) in ${s.toFixed(1)} s = ${(n / s / 1000).toFixed(0)}k contacts/s; store holds ${mb(process.memoryUsage().rss - before)} MB more RSS (records are built on demand)`);
}

// 2. serving, from a child process so the client does not share its thread
interface Server { url: string; key: string; warmSeconds: number; cacheBytes: number; pid: number; stop(): void }
async function server(prewarm: boolean): Promise<Server> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./sandbox-server.js', import.meta.url)), String(contacts), prewarm ? 'prewarm' : 'cold'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { ...(JSON.parse(first) as Omit<Server, 'pid' | 'stop'>), pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

async function scan(srv: Server, label: string, ranges: number, fields = ''): Promise<void> {
  const pool = new Pool(srv.url, { connections: 8, pipelining: 1 });
  const headers = { authorization: `Bearer ${srv.key}` };
  const page = async (path: string): Promise<{ bytes: number; next: string }> => {
    const r = await pool.request({ method: 'GET', path, headers });
    const buf = Buffer.from(await r.body.arrayBuffer());
    if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}: ${buf.toString('utf8', 0, 200)}`);
    // the token is at the very end of the envelope; no need to parse 800 KB to find it
    const tail = buf.toString('utf8', Math.max(0, buf.length - 200));
    return { bytes: buf.length, next: /"next_page_token":"([^"]*)"\}$/.exec(tail)?.[1] ?? '' };
  };
  const t0 = performance.now(); let pages = 0; let bytes = 0;
  const per = Math.ceil(contacts / ranges);
  await Promise.all(Array.from({ length: ranges }, async (_, k) => {
    const filter = ranges === 1 ? '' : `&filter=${encodeURIComponent(`contact_id>=${k * per + 1};contact_id<${(k + 1) * per + 1}`)}`;
    let token = '';
    do {
      const r = await page(`/crm/rest/v2/contacts?page_size=1000${fields}${filter}${token ? `&page_token=${token}` : ''}`);
      pages++; bytes += r.bytes; token = r.next;
    } while (token);
  }));
  const s = (performance.now() - t0) / 1000;
  await pool.close();
  console.log(`${label}: ${pages} pages in ${s.toFixed(1)} s = ${(pages / s).toFixed(0)} pages/s, ${mb(bytes / s)} MB/s (${(bytes / pages / 1024).toFixed(0)} KB/page); server RSS ${mb(rssOf(srv.pid))} MB`);
}

const ALL = '&fields=' + ['addresses', 'anniversary_date', 'birth_date', 'company', 'contact_type', 'create_time', 'custom_fields', 'email_addresses', 'family_name', 'fax_numbers', 'given_name', 'id', 'job_title', 'leadsource_id', 'links', 'middle_name', 'notes', 'origin', 'owner_id', 'phone_numbers', 'preferred_locale', 'preferred_name', 'prefix', 'referral_code', 'score_value', 'social_accounts', 'source_type', 'spouse_name', 'suffix', 'tag_ids', 'time_zone', 'update_time', 'utm_parameters', 'website'].join(',');
const mode = process.argv[3] ?? 'both';
if (mode !== 'prewarm') {
  const srv = await server(false);
  console.log(`server (no prewarm): RSS after start ${mb(rssOf(srv.pid))} MB`);
  try {
    await scan(srv, 'default fields, cold (records generated and serialised per page)', 1);
    await scan(srv, 'default fields, warm (serialised records reused)', 1);
    await scan(srv, 'default fields, warm, 4 clients on contact_id ranges', 4);
  } finally { srv.stop(); }
}
if (mode !== 'cold') {
  const srv = await server(true);
  console.log(`server (prewarm): ready after ${srv.warmSeconds.toFixed(1)} s with ${mb(srv.cacheBytes)} MB of serialised contacts; RSS ${mb(rssOf(srv.pid))} MB`);
  try {
    await scan(srv, 'all fields (what keapgres requests), prewarmed (first in the cache budget)', 1, ALL);
    await scan(srv, 'default fields, prewarmed as far as the cache budget allows', 1);
  } finally { srv.stop(); }
}

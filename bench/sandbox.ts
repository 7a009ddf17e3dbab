// Benchmark of the sandbox: how fast it generates a million contacts, how much memory it holds, and how many
// 1,000-record v2 contact pages per second it serves to a plain undici client (latency off, throttling off).
// Run: npx tsc -p . && node dist/bench/sandbox.js [contacts=1000000]
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
const child = spawn(process.execPath, [fileURLToPath(new URL('./sandbox-server.js', import.meta.url)), String(contacts)], { stdio: ['ignore', 'pipe', 'inherit'] });
const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
const { url, key } = JSON.parse(first) as { url: string; key: string };
console.log(`server: pid ${child.pid}, RSS after start ${mb(rssOf(child.pid!))} MB`);

const pool = new Pool(url, { connections: 8, pipelining: 1 });
const headers = { authorization: `Bearer ${key}` };
async function page(path: string): Promise<{ bytes: number; next: string }> {
  const r = await pool.request({ method: 'GET', path, headers });
  const buf = Buffer.from(await r.body.arrayBuffer());
  if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}: ${buf.toString('utf8', 0, 200)}`);
  // the token is at the very end of the envelope; no need to parse 800 KB to find it
  const tail = buf.toString('utf8', Math.max(0, buf.length - 200));
  return { bytes: buf.length, next: /"next_page_token":"([^"]*)"\}$/.exec(tail)?.[1] ?? '' };
}
async function scan(label: string, ranges: number): Promise<void> {
  const t0 = performance.now(); let pages = 0; let bytes = 0;
  const per = Math.ceil(contacts / ranges);
  await Promise.all(Array.from({ length: ranges }, async (_, k) => {
    const filter = ranges === 1 ? '' : `&filter=${encodeURIComponent(`contact_id>=${k * per + 1};contact_id<${(k + 1) * per + 1}`)}`;
    let token = '';
    do {
      const r = await page(`/crm/rest/v2/contacts?page_size=1000${filter}${token ? `&page_token=${token}` : ''}`);
      pages++; bytes += r.bytes; token = r.next;
    } while (token);
  }));
  const s = (performance.now() - t0) / 1000;
  console.log(`${label}: ${pages} pages of 1000 in ${s.toFixed(1)} s = ${(pages / s).toFixed(0)} pages/s, ${mb(bytes / s)} MB/s; server RSS ${mb(rssOf(child.pid!))} MB`);
}

try {
  await scan('serve cold (1 client, records generated and serialised)', 1);
  await scan('serve warm (1 client, serialised records reused)', 1);
  await scan('serve warm (4 clients on contact_id ranges)', 4);
} finally {
  await pool.close();
  child.kill('SIGTERM');
}

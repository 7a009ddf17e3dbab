// Writes through keapgres (issue 12's benchmark), against the floor Keap's rate limit allows: calls ÷ 25/s, with
// 100 ms per request, keapgres and the sandbox in their own processes.
//  (a) a 1,000-row UPDATE of contacts (one PATCH per row: Keap has no bulk contact update);
//  (b) a 1,000-row tag apply, INSERT INTO contact_tags … SELECT (one applyTags call per tag of up to 1,000 contacts).
// The rows are loaded (and cached) before each is timed, as a user's grid or earlier query would have.
// Usage: node dist/bench/writes.js [contacts=5000]
import pg from 'pg';
import { request } from 'undici';
import { oauthToken, sandboxCalls, sandboxConnection, startKeapgresProcess, startSandboxProcess, writeResultsSection } from './support/children.js';

const contacts = Number(process.argv[2] ?? 5000);

function writeCalls(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (!k.startsWith('GET ') && v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

/** 429s the sandbox answered so far. */
async function throttled(url: string): Promise<number> {
  const res = await request(`${url}/_sandbox/stats`);
  return ((await res.body.json()) as { byStatus: Record<string, number> }).byStatus['429'] ?? 0;
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (s: string) => { lines.push(s); console.log(s); };
  say(`keapgres writes, ${contacts.toLocaleString('en')} contacts, 100 ms latency, Keap's 25 req/s — ${new Date().toISOString()}`);
  const sb = await startSandboxProcess(contacts, ['--latency', '100', '--spike', '25', '--per-minute', '100000', '--per-day', '10000000', '--tenant-per-minute', '100000', '--tenant-per-day', '10000000']);
  const server = await startKeapgresProcess(['--port', '0', '--connection', sandboxConnection(sb, await oauthToken(sb))]);
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, database: 'keap', user: 'bench' });
  await c.connect();
  try {
    await c.query('SELECT id, job_title FROM contacts');
    await c.query('SELECT contact_id, tag_id FROM contact_tags WHERE tag_id = 1');
    await new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE ?? 2000)));
    const cases: Array<[string, string, number]> = [
      ['(a) UPDATE contacts SET job_title = … WHERE id <= 1000', "UPDATE contacts SET job_title = 'Bench ' || id WHERE id <= 1000", 1000],
      ['(b) INSERT INTO contact_tags SELECT id, 1 FROM contacts WHERE id <= 1000 ON CONFLICT DO NOTHING', 'INSERT INTO contact_tags (contact_id, tag_id) SELECT id, 1 FROM contacts WHERE id <= 1000 ON CONFLICT DO NOTHING', 1],
    ];
    // BENCH_ONLY=b: the tag apply alone
    for (const [name, sql, minimum] of cases.filter((x) => process.env.BENCH_ONLY !== 'b' || x[0].startsWith('(b)'))) {
      const before = await sandboxCalls(sb);
      const throttledBefore = await throttled(sb.url);
      const t = performance.now();
      const r = await c.query(sql);
      const seconds = (performance.now() - t) / 1000;
      const calls = writeCalls(before, await sandboxCalls(sb));
      const n = Object.values(calls).reduce((a, b) => a + b, 0);
      const refused = (await throttled(sb.url)) - throttledBefore;
      const floor = minimum / 25 + 0.1;
      say(`${name}: ${r.rowCount} rows in ${seconds.toFixed(2)} s; ${n - refused} calls accepted (${Object.entries(calls).map(([k, v]) => `${k}`).join(', ')}) + ${refused} refused by the spike arrest (429) and sent again; fewest Keap allows ${minimum}; floor ${floor.toFixed(2)} s (${minimum} calls ÷ 25/s + 0.1 s); ratio ${(seconds / floor).toFixed(2)}×`);
    }
  } finally {
    await c.end();
    await server.stop();
    await sb.stop();
  }
  writeResultsSection('writes.ts', '## Writes (`bench/writes.ts`)', ['```', `node dist/bench/writes.js ${contacts}`, ...lines, '```'].join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

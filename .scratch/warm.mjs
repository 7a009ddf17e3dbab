import { startSandboxProcess, oauthToken, sandboxConnection, startKeapgresProcess, SANDBOX_UNLIMITED } from '../dist/bench/support/children.js';
import pg from 'pg';
import fs from 'node:fs';
const sb = await startSandboxProcess(Number(process.argv[2] ?? 5000), ['--latency', '100', ...SANDBOX_UNLIMITED]);
const token = await oauthToken(sb);
fs.writeFileSync('/tmp/warm.json', JSON.stringify({ host: '127.0.0.1', port: 0, databases: { keap: sandboxConnection(sb, token, 'CacheLocation=/tmp/warmcache' + Date.now()) }, idleSpareEngines: 2, idleLoadedEngines: 16 }));
const k = await startKeapgresProcess(['--config', '/tmp/warm.json']);
const cfg = { host: '127.0.0.1', port: k.port, user: 'bench', database: 'keap' };
const Q = ['SELECT owner_id, count(*) AS contacts FROM contacts GROUP BY 1 ORDER BY 1', 'SELECT c.owner_id, count(*) AS orders, sum(o.total) AS revenue FROM orders o JOIN contacts c ON c.id = o.contact_id GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 10'];
const sleep = (ms) => new Promise(r => setTimeout(r, ms));
async function one(q, explain) {
  const c = new pg.Client(cfg); const t0 = performance.now(); await c.connect(); const t1 = performance.now();
  const r = await c.query(explain ? 'EXPLAIN ANALYZE ' + q : q); const t2 = performance.now(); await c.end();
  return { connect: +(t1 - t0).toFixed(1), query: +(t2 - t1).toFixed(1), plan: explain ? r.rows.map(x => x['QUERY PLAN']).filter(l => /Keap calls|Execution/.test(l)).join(' | ') : undefined };
}
await Promise.all([one(Q[0]), one(Q[1])]);
await sleep(3000);
for (let i = 0; i < 6; i++) { console.log(await one(Q[i % 2], i < 2)); await sleep(500); }
for (let i = 0; i < 3; i++) { console.log('plain', await one('SELECT 1')); await sleep(300); }
await k.stop(); await sb.stop();

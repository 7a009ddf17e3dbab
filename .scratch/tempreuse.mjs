import { startKeapgresProcess } from '../dist/bench/support/children.js';
import pg from 'pg';
import fs from 'node:fs';
fs.writeFileSync('/tmp/tr.json', JSON.stringify({ host: '127.0.0.1', port: 0, idleSpareEngines: 1, sandbox: { seed: 1, contacts: 300 } }));
const k = await startKeapgresProcess(['--config', '/tmp/tr.json'], { KEAPGRES_LOG_LEVEL: 'debug' });
const cfg = { host: '127.0.0.1', port: k.port, user: 'bench', database: 'keap' };
const sleep = (ms) => new Promise(r => setTimeout(r, ms));
async function s(sql) { const c = new pg.Client(cfg); await c.connect(); const r = await c.query(sql); await c.end(); return r; }
console.log((await s("SELECT count(*), (SELECT count(*) FROM pg_class) FROM pg_namespace")).rows); for (let i=0;i<3;i++){ await sleep(1500); console.log((await s("SELECT count(*), (SELECT count(*) FROM pg_class) FROM pg_namespace")).rows);}
await s('CREATE TEMP TABLE x (a int)');
await sleep(1500);
console.log((await s("SELECT count(*), (SELECT count(*) FROM pg_class) FROM pg_namespace")).rows); for (let i=0;i<3;i++){ await sleep(1500); console.log((await s("SELECT count(*), (SELECT count(*) FROM pg_class) FROM pg_namespace")).rows);}
await k.stop();

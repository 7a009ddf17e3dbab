// Sessions that see each other, as in PostgreSQL: pg_stat_activity, pg_backend_pid, pg_cancel_backend,
// pg_terminate_backend, LISTEN/NOTIFY. Each scenario runs with real clients (node-postgres, psql, pgjdbc)
// against keapgres and against a real PostgreSQL started for this file, and what the clients observe
// must be the same.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import pg from 'pg';
import { startTestServer, type TestServer } from './support/keapgres.js';
import { findPostgresBin, startPostgres, type ThrowawayPostgres } from './support/postgres.js';
import { javaSkip, runJdbcChecks } from './support/java.js';

const skip = findPostgresBin() === undefined ? 'PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql' : false;

let keapgres: TestServer;
let postgres: ThrowawayPostgres;

/** One server as the scenarios see it: how to connect, and its database and user names. */
interface Target {
  name: string;
  config(extra?: Partial<pg.ClientConfig>): pg.ClientConfig;
  database: string;
  user: string;
  port: number;
  dsn: string;
}
let targets: Target[] = [];

before(async () => {
  if (skip) return;
  [keapgres, postgres] = await Promise.all([startTestServer({ contacts: 20 }), startPostgres()]);
  targets = [
    { name: 'keapgres', config: keapgres.clientConfig, database: 'keap', user: 'tester', port: keapgres.port, dsn: keapgres.dsn() },
    { name: 'postgres', config: postgres.clientConfig, database: postgres.database, user: postgres.user, port: postgres.port, dsn: postgres.dsn },
  ];
});
after(async () => {
  await keapgres?.stop();
  await postgres?.stop();
});

async function connect(t: Target, extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const c = new pg.Client(t.config(extra));
  await c.connect();
  return c;
}

/** Runs the scenario on both servers; what it returns must be equal. Returns keapgres's. */
async function sameOnBoth<T>(scenario: (t: Target) => Promise<T>): Promise<T> {
  const [ours, theirs] = [await scenario(targets[0]!), await scenario(targets[1]!)];
  assert.deepEqual(ours, theirs, 'keapgres and PostgreSQL differ');
  return ours;
}

/** Polls until `ok` holds (a session ending or a notification arriving takes a moment in PostgreSQL too). */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 400 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 25));
    v = await read();
  }
  return v;
}

/** the pid the server sent in BackendKeyData (node-postgres keeps it, its types do not say so) */
const pidOf = (c: pg.Client): number => (c as unknown as { processID: number }).processID;

const activityOf = async (viewer: pg.Client, pid: number) =>
  (await viewer.query('SELECT * FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0] as Record<string, unknown> | undefined;

test('pg_backend_pid() is the pid sent in BackendKeyData, and no two sessions share one', { skip }, async () => {
  await sameOnBoth(async (t) => {
    const clients = await Promise.all([connect(t), connect(t), connect(t)]);
    try {
      const pids = await Promise.all(clients.map(async (c) => Number((await c.query('SELECT pg_backend_pid() AS p')).rows[0].p)));
      return { sameAsBackendKey: pids.every((p, i) => p === pidOf(clients[i]!)), distinct: new Set(pids).size };
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});

test('pg_stat_activity, pg_stat_get_activity and pg_stat_ssl have PostgreSQL\'s columns and types', { skip }, async () => {
  await sameOnBoth(async (t) => {
    const c = await connect(t);
    try {
      const shape = async (sql: string) => (await c.query(sql)).fields.map((f) => `${f.name}:${f.dataTypeID}`);
      return {
        activity: await shape('SELECT * FROM pg_stat_activity LIMIT 0'),
        ssl: await shape('SELECT * FROM pg_stat_ssl LIMIT 0'),
      };
    } finally {
      await c.end();
    }
  });
});

test('pg_stat_get_activity() has the columns of the engine\'s own (PostgreSQL 18)', { skip }, async () => {
  await keapgres.withClient(async (c) => {
    const shape = async (sql: string) => (await c.query(sql)).fields.map((f) => `${f.name}:${f.dataTypeID}`);
    assert.deepEqual(await shape('SELECT * FROM pg_stat_get_activity(NULL) LIMIT 0'), await shape('SELECT * FROM pg_catalog.keapgres_builtin_stat_get_activity(NULL) LIMIT 0'));
  });
});

test('pg_stat_activity shows another session: who, from where, its last query, idle / in transaction / aborted', { skip }, async () => {
  const observed = await sameOnBoth(async (t) => {
    const viewer = await connect(t, { application_name: 'viewer' });
    const other = await connect(t, { application_name: 'other app' });
    const otherPort = (other as unknown as { connection: { stream: { localPort: number } } }).connection.stream.localPort;
    try {
      const look = async () => {
        const r = (await activityOf(viewer, pidOf(other)))!;
        const at = (k: string) => (r[k] as Date | null)?.getTime();
        return {
          datname: r.datname === t.database, usename: r.usename === t.user, application_name: r.application_name,
          client_addr: r.client_addr, client_port: r.client_port === otherPort, client_hostname: r.client_hostname,
          backend_type: r.backend_type, state: r.state, query: r.query, wait: `${r.wait_event_type}/${r.wait_event}`,
          xact_start: r.xact_start === null ? null : at('xact_start')! <= at('query_start')!,
          times: at('backend_start')! <= at('query_start')! && at('query_start')! <= at('state_change')!,
          datid: r.datid !== null, usesysid: r.usesysid !== null,
        };
      };
      const steps: unknown[] = [];
      await other.query('SELECT 42');
      steps.push(await look());
      await other.query('BEGIN');
      await other.query('SELECT 1');
      steps.push(await look());
      await other.query('SELECT 1/0').catch(() => undefined);
      steps.push(await look());
      await other.query('ROLLBACK');
      steps.push(await look());
      await other.query("SET application_name = 'renamed'");
      steps.push(await look());
      const self = (await viewer.query('SELECT state, query, wait_event, backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()')).rows;
      const clientBackends = (await viewer.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid IN ($1, $2)", [pidOf(viewer), pidOf(other)])).rows[0].n;
      return { steps, self, clientBackends };
    } finally {
      await Promise.all([viewer.end(), other.end()]);
    }
  });
  assert.equal((observed.steps[1] as { state: string }).state, 'idle in transaction');
});

test('pg_terminate_backend ends another session with 57P01; it leaves pg_stat_activity and its engine is freed', { skip }, async () => {
  const sessionsBefore = keapgres.listener.sessionCount;
  await sameOnBoth(async (t) => {
    const admin = await connect(t);
    const victim = await connect(t);
    const victimError = new Promise<pg.DatabaseError>((resolve) => victim.on('error', (e) => resolve(e as pg.DatabaseError)));
    try {
      const result = (await admin.query('SELECT pg_terminate_backend($1) AS t', [pidOf(victim)])).rows[0].t;
      const e = await victimError;
      const gone = await until(() => activityOf(admin, pidOf(victim)), (r) => r === undefined);
      return { result, sqlstate: e.code, message: e.message, severity: e.severity, gone: gone === undefined };
    } finally {
      await admin.end();
      await victim.end().catch(() => undefined);
    }
  });
  assert.equal(await until(async () => keapgres.listener.sessionCount, (n) => n === sessionsBefore), sessionsBefore);
});

test('pg_cancel_backend cancels the statement another session is running; that session stays usable', { skip }, async () => {
  await sameOnBoth(async (t) => {
    const admin = await connect(t);
    const busy = await connect(t);
    try {
      const running = busy.query('SELECT pg_sleep(60)').then(() => 'finished', (e: pg.DatabaseError) => `${e.code}: ${e.message}`);
      const seen = await until(() => activityOf(admin, pidOf(busy)), (r) => r?.state === 'active' && r.query === 'SELECT pg_sleep(60)');
      const result = (await admin.query('SELECT pg_cancel_backend($1) AS c', [pidOf(busy)])).rows[0].c;
      return { seenActive: seen?.state, result, busy: await running, after: (await busy.query('SELECT 1 AS one')).rows };
    } finally {
      await Promise.all([admin.end(), busy.end()]);
    }
  });
});

test('signalling an unknown pid warns and returns false; a session can cancel its own statement and end itself', { skip }, async () => {
  await sameOnBoth(async (t) => {
    const c = await connect(t);
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(`${n.severity}: ${n.message}`));
    const unknown = (await c.query('SELECT pg_cancel_backend(999999) AS c, pg_terminate_backend(999999) AS t')).rows;
    const self = await c.query('SELECT pg_cancel_backend(pg_backend_pid())').then(() => 'ran', (e: pg.DatabaseError) => `${e.code}: ${e.message}: ${e.where ?? ''}`);
    const usable = (await c.query('SELECT 2 AS two')).rows;
    c.on('error', () => undefined);
    const ended = await c.query('SELECT pg_terminate_backend(pg_backend_pid())').then(() => 'ran', (e: pg.DatabaseError) => `${e.code}: ${e.severity}: ${e.message}`);
    await c.end().catch(() => undefined);
    return { unknown, notices: notices.map((n) => n.replace('server process', 'backend process')), self, usable, ended };
  });
});

test('a role without SUPERUSER may not signal a superuser\'s session, nor see its query', { skip }, async () => {
  const results = await sameOnBoth(async (t) => {
    const weak = await connect(t);
    const target = await connect(t);
    try {
      await weak.query('CREATE ROLE keapgres_weak_signaller');
      await weak.query('GRANT pg_signal_backend TO keapgres_weak_signaller');
      await weak.query('SET ROLE keapgres_weak_signaller');
      const refuse = (sql: string) => weak.query(sql, [pidOf(target)]).then(() => 'allowed', (e: pg.DatabaseError) => ({ code: e.code, where: e.where ?? null }));
      const terminate = await refuse('SELECT pg_terminate_backend($1)');
      const cancel = await refuse('SELECT pg_cancel_backend($1)');
      const seen = (await weak.query('SELECT query, state, client_addr FROM pg_stat_activity WHERE pid = $1', [pidOf(target)])).rows;
      await weak.query('RESET ROLE');
      await weak.query('DROP ROLE keapgres_weak_signaller');
      return { terminate, cancel, seen, targetAlive: (await target.query('SELECT 1 AS one')).rows };
    } finally {
      await Promise.all([weak.end(), target.end()]);
    }
  });
  assert.equal((results.terminate as { code: string }).code, '42501');
  // PostgreSQL 18's wording (the PostgreSQL this test starts may be older and word it differently)
  const c = await connect(targets[0]!);
  const other = await connect(targets[0]!);
  try {
    await c.query('CREATE ROLE weak2; SET ROLE weak2');
    await assert.rejects(c.query('SELECT pg_terminate_backend($1)', [pidOf(other)]), {
      message: 'permission denied to terminate process',
      detail: 'Only roles with the SUPERUSER attribute may terminate processes of roles with the SUPERUSER attribute.',
    });
    await assert.rejects(c.query('SELECT pg_cancel_backend($1)', [pidOf(other)]), {
      message: 'permission denied to cancel query',
      detail: 'Only roles with the SUPERUSER attribute may cancel queries of roles with the SUPERUSER attribute.',
    });
  } finally {
    await Promise.all([c.end(), other.end()]);
  }
});

test('LISTEN/NOTIFY between sessions: on commit, in order, with the sender\'s pid; not on rollback; UNLISTEN stops it', { skip }, async () => {
  await sameOnBoth(async (t) => {
    const listener = await connect(t);
    const sender = await connect(t);
    // what each client receives, in order (between two clients the order is not defined)
    const got: Record<string, unknown[]> = { listener: [], sender: [] };
    let barrier: () => void = () => undefined;
    const record = (who: string) => (n: pg.Notification) => {
      if (n.channel === 'barrier') return barrier();
      got[who]!.push([n.channel, n.payload, n.processId === pidOf(sender) ? 'sender' : n.processId === pidOf(listener) ? 'listener' : n.processId]);
    };
    listener.on('notification', record('listener'));
    sender.on('notification', record('sender'));
    /** every notification committed before this one has arrived when it does */
    const sync = async () => {
      const arrived = new Promise<void>((r) => (barrier = r));
      await sender.query('NOTIFY barrier');
      await arrived;
    };
    try {
      await listener.query('LISTEN chan; LISTEN "Mixed Case"; LISTEN barrier');
      const channels: unknown[] = [(await listener.query('SELECT pg_listening_channels() AS c')).rows, (await sender.query('SELECT pg_listening_channels() AS c')).rows];
      await sender.query("NOTIFY chan, 'one'");
      await sender.query("BEGIN; NOTIFY chan, 'rolled back'; ROLLBACK");
      await sender.query("BEGIN; NOTIFY chan, 'two'; NOTIFY \"Mixed Case\", 'three'; NOTIFY chan, 'two'; SELECT pg_notify('chan', 'four'); COMMIT");
      await sender.query("NOTIFY nobody_listens, 'lost'");
      await sender.query("SELECT pg_notify('Mixed Case', 'five')");
      await sync();
      await sender.query('LISTEN chan');
      await sender.query("NOTIFY chan, 'to both'");
      await sync();
      await listener.query('UNLISTEN chan');
      channels.push((await listener.query('SELECT pg_listening_channels() AS c')).rows, (await sender.query('SELECT pg_listening_channels() AS c')).rows);
      await sender.query("NOTIFY chan, 'only the sender listens'");
      await sync();
      await sender.query('UNLISTEN *');
      await listener.query("LISTEN chan; NOTIFY chan, 'own, same batch'");
      await sync();
      return { got, channels };
    } finally {
      await Promise.all([listener.end(), sender.end()]);
    }
  });
});

test('a session in a transaction gets notifications when its transaction ends, before its ReadyForQuery', { skip }, async () => {
  await sameOnBoth(async (t) => {
    const listener = await connect(t);
    const sender = await connect(t);
    const got: string[] = [];
    listener.on('notification', (n) => got.push(n.payload ?? ''));
    try {
      await listener.query('LISTEN held');
      await listener.query('BEGIN');
      await sender.query("NOTIFY held, 'while in a transaction'");
      await listener.query('SELECT 1');
      const duringTransaction = got.length;
      await listener.query('COMMIT');
      return { duringTransaction, atCommit: [...got] };
    } finally {
      await Promise.all([listener.end(), sender.end()]);
    }
  });
});

// CI installs psql (.ci/run): there a missing psql is a failure, elsewhere the test is skipped.
const psqlSkip = skip || (() => {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return process.env.CI ? false : 'psql is missing (apt-get install postgresql-client)';
  }
})();

test('psql prints a notification another session sent, after its next command', { skip: psqlSkip }, async () => {
  await sameOnBoth(async (t) => {
    const env = { PATH: process.env.PATH, PSQLRC: '/dev/null', LC_ALL: 'C.UTF-8', TERM: 'dumb', HOME: keapgres.configDir };
    const notify = `psql -X -q "${t.dsn}" -c "NOTIFY psql_channel, 'from another session'"`;
    const script = `LISTEN psql_channel;\n\\! ${notify}\nSELECT 1 AS after;\n`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-', t.dsn], { env, timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      child.stdin!.end(script);
    });
    return out.replace(/PID \d+/, 'PID N');
  });
});

test('pgjdbc: DBeaver\'s Session Manager lists and terminates sessions; getNotifications receives what another connection sent', { skip: skip || javaSkip() }, async () => {
  const run = (t: Target) => runJdbcChecks(t.port, t.database, t.user, 'cross-session');
  const ours = await sameOnBoth(run);
  for (const [check, o] of Object.entries(ours)) assert.equal((o as { error?: string }).error, undefined, `${check} failed`);
  assert.deepEqual((ours.notifications as { value: unknown }).value, {
    afterQuery: [['jdbc_channel', 'first', true], ['jdbc_channel', 'second', true], ['jdbc_channel', 'third', true]],
    waited: [['jdbc_channel', 'while waiting', true]],
  });
});

// A throwaway real PostgreSQL for tests and benchmarks: initdb into a temp directory, pg_ctl start on
// a free loopback port (trust authentication, no Unix socket outside that directory), stop and delete.
// As root, the server runs as the `postgres` system user, because initdb and postgres refuse root.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';

const run = promisify(execFile);

export interface ThrowawayPostgres {
  host: string;
  port: number;
  user: string;
  database: string;
  /** e.g. "15.14 (Debian 15.14-0+deb12u1)" */
  version: string;
  /** server_version_num, e.g. 150014 */
  versionNum: number;
  /** the directory holding pg_ctl, psql, … */
  binDir: string;
  dataDir: string;
  /** process id of the postmaster (its backends are its children) */
  pid: number;
  /** a libpq connection string */
  dsn: string;
  clientConfig(extra?: Partial<pg.ClientConfig>): pg.ClientConfig;
  /** runs psql with these arguments against the server; rejects with psql's stderr when it fails */
  psql(args: string[]): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** extra `-c name=value` server settings */
  settings?: Record<string, string | number>;
  /** durability off (fsync, synchronous_commit, full_page_writes): faster loads for tests. Default true. */
  fast?: boolean;
}

/** The bin directory of the newest installed PostgreSQL, or undefined when none is installed. */
export function findPostgresBin(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(path.join(debian, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(debian, versions[0]!, 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'pg_ctl')) && existsSync(path.join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

async function freeLoopbackPort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

interface RunAs {
  uid: number;
  gid: number;
}

async function systemUser(name: string): Promise<RunAs> {
  const uid = Number((await run('id', ['-u', name])).stdout.trim());
  const gid = Number((await run('id', ['-g', name])).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`cannot find the system user "${name}"`);
  return { uid, gid };
}

export async function startPostgres(o: StartPostgresOptions = {}): Promise<ThrowawayPostgres> {
  const binDir = findPostgresBin();
  if (!binDir) throw new Error('PostgreSQL is not installed (no pg_ctl found); install it with: apt-get install -y postgresql');
  const asUser = process.getuid?.() === 0 ? await systemUser('postgres') : undefined;
  const baseDir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-pg-'));
  const dataDir = path.join(baseDir, 'data');
  if (asUser) chownSync(baseDir, asUser.uid, asUser.gid);
  chmodSync(baseDir, 0o700);

  // execFile with uid/gid drops root for the child itself: no runuser/su needed, and no shell quoting.
  const exec = (file: string, args: string[]) =>
    run(path.join(binDir, file), args, { uid: asUser?.uid, gid: asUser?.gid, cwd: baseDir, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } });

  const fast = o.fast ?? true;
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: baseDir,
    max_connections: 200,
    ...(fast ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
    ...o.settings,
  };
  let started = false;
  try {
    await exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
    let port = 0;
    // The port is free when probed but may be taken before postgres binds it: try a few.
    for (let attempt = 0; ; attempt++) {
      port = await freeLoopbackPort();
      const opts = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
      try {
        await exec('pg_ctl', ['-D', dataDir, '-l', path.join(baseDir, 'server.log'), '-o', opts, '-w', '-t', '60', 'start']);
        started = true;
        break;
      } catch (err) {
        if (attempt >= 2) throw err;
      }
    }
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // A test file that ends without its after() (a crash, an uncaught error) must not leave a server behind.
    const stopOnExit = () => {
      try {
        execFileSync(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], { uid: asUser?.uid, gid: asUser?.gid, cwd: baseDir, stdio: 'ignore' });
      } catch {
        // already stopped
      }
      rmSync(baseDir, { recursive: true, force: true });
    };
    process.once('exit', stopOnExit);
    // psql is only a client: it runs as the caller, so it reads the caller's files.
    const psql = (args: string[]) =>
      run(path.join(binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', ...args], { maxBuffer: 256 * 1024 * 1024 });
    const versionOut = await psql(['-At', '-c', 'SHOW server_version', '-c', 'SHOW server_version_num']);
    const [version = '', versionNum = '0'] = versionOut.stdout.trim().split('\n');
    return {
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'postgres',
      version,
      versionNum: Number(versionNum),
      binDir,
      dataDir,
      pid,
      dsn: `host=127.0.0.1 port=${port} user=postgres dbname=postgres`,
      clientConfig: (extra = {}) => ({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', ...extra }),
      psql,
      async stop() {
        process.off('exit', stopOnExit);
        await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
        rmSync(baseDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (started) await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    const log = path.join(baseDir, 'server.log');
    const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    rmSync(baseDir, { recursive: true, force: true });
    const e = err as Error & { stderr?: string };
    throw new Error(`could not start a throwaway PostgreSQL: ${e.stderr?.trim() || e.message}${tail ? `\nserver log:\n${tail}` : ''}`);
  }
}

// The processes a benchmark measures: the sandbox Keap API and keapgres, each in its own process (as deployed,
// so the client's own work does not compete with theirs), and the figures' section in bench/RESULTS.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret-not-a-real-one';

export interface SandboxChild { proc: ChildProcess; url: string; apiBase: string; stop(): Promise<void> }

/** Spike, quota and tenant limits far above what a benchmark asks for: keapgres paces itself at Keap's. */
export const SANDBOX_UNLIMITED = ['--spike', '1000000', '--per-minute', '100000000', '--per-day', '1000000000', '--tenant-per-minute', '100000000', '--tenant-per-day', '1000000000'];

/** `keapgres sandbox` in its own process, so its CPU does not compete with keapgres's main thread. */
export async function startSandboxProcess(contacts: number, args: string[]): Promise<SandboxChild> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'server/keapgres.js'), 'sandbox', '--port', '0', '--contacts', String(contacts),
    '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`sandbox exited (${code}): ${out}`)));
  });
  return { proc, url, apiBase: `${url}/crm/rest`, stop: () => stopChild(proc) };
}

/** An OAuth access token the way a Keap app gets one: authorize (automatic approval), then /token. */
export async function oauthToken(sb: SandboxChild): Promise<string> {
  const redirect = 'http://localhost:33333/callback';
  const auth = await request(`${sb.url}/app/oauth/authorize?client_id=${CLIENT_ID}&redirect_uri=${encodeURIComponent(redirect)}&response_type=code&scope=full&state=x`);
  await auth.body.dump();
  const code = new URL(String(auth.headers.location)).searchParams.get('code')!;
  const res = await request(`${sb.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code, grant_type: 'authorization_code', redirect_uri: redirect }).toString(),
  });
  return ((await res.body.json()) as { access_token: string }).access_token;
}

/** The connection string of a keapgres in front of this sandbox, with the given extra properties. */
export function sandboxConnection(sb: SandboxChild, token: string, extra = ''): string {
  return `AuthScheme=OAuth;InitiateOAuth=OFF;OAuthAccessToken=${token};URL=${sb.apiBase};OAuthSettingsLocation=memory://bench${extra ? ';' + extra : ''}`;
}

/** Keap API calls the sandbox answered so far, by endpoint. */
export async function sandboxCalls(sb: SandboxChild): Promise<Record<string, number>> {
  const res = await request(`${sb.url}/_sandbox/stats`);
  return ((await res.body.json()) as { byEndpoint: Record<string, number> }).byEndpoint;
}

/** GET calls to the Keap API between two sandboxCalls readings. */
export function readCalls(before: Record<string, number>, after: Record<string, number>): number {
  let n = 0;
  for (const [k, v] of Object.entries(after)) if (k.startsWith('GET /v')) n += v - (before[k] ?? 0);
  return n;
}

export interface KeapgresChild { proc: ChildProcess; port: number; stop(): Promise<void> }

/**
 * `keapgres serve` with these arguments in its own process. BENCH_PROF=dir writes CPU profiles there,
 * BENCH_NODE_ARGS adds Node options, BENCH_LOG=debug shows keapgres's log (per-load timings) on stderr.
 */
export async function startKeapgresProcess(serveArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<KeapgresChild> {
  const node = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  if (process.env.BENCH_NODE_ARGS) node.push(...process.env.BENCH_NODE_ARGS.split(' '));
  const proc = spawn(process.execPath, [...node, path.join(ROOT, 'server/keapgres.js'), 'serve', ...serveArgs],
    { stdio: ['ignore', 'pipe', process.env.BENCH_LOG ? 'inherit' : 'ignore'], env: { ...process.env, KEAPGRES_LOG_LEVEL: process.env.BENCH_LOG ?? 'warn', ...env } });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on [^ ]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`keapgres exited (${code}): ${out}`)));
  });
  return { proc, port, stop: () => stopChild(proc) };
}

function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.once('exit', () => { clearTimeout(kill); resolve(); });
    proc.kill('SIGTERM');
  });
}

/**
 * Replaces one benchmark's figures in bench/RESULTS.md, between its markers (`<!-- bench/NAME: begin -->`);
 * the heading and the findings written by hand below it stay. A new section goes at the end.
 */
export function writeResultsSection(script: string, heading: string, body: string): void {
  const file = path.join(ROOT, 'bench', 'RESULTS.md');
  const begin = `<!-- bench/${script}: begin -->`;
  const end = `<!-- bench/${script}: end -->`;
  const block = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nOne section per benchmark.\n';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + end.length) : `${text.trimEnd()}\n\n${heading}\n\n${block}\n`;
  writeFileSync(file, text);
}

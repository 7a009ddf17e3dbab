// `keapgres sandbox`: runs the sandbox alone and prints what a newcomer needs to connect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runSandboxCommand } from '../src/cli/sandbox.js';

function capture(): { stream: PassThrough; text: () => string; line: (re: RegExp) => Promise<RegExpExecArray> } {
  const stream = new PassThrough(); let buf = '';
  stream.on('data', (c: Buffer) => { buf += c.toString(); });
  return {
    stream, text: () => buf,
    line: async (re) => { for (let i = 0; i < 200; i++) { const m = re.exec(buf); if (m) return m; await new Promise((r) => setTimeout(r, 10)); } throw new Error(`no ${re} in ${buf}`); },
  };
}

test('keapgres sandbox prints the base URL, OAuth client and a personal access token that works, and stops cleanly', async () => {
  const out = capture(); const err = capture(); const stop = new AbortController();
  const done = runSandboxCommand(['--port', '0', '--seed', '4', '--contacts', '50', '--latency', '0', '--per-minute', '1000'], { stdout: out.stream, stderr: err.stream, signal: stop.signal });
  const base = (await out.line(/REST base:\s+(\S+)/))[1]!;
  const pat = (await out.line(/personal access token: (\S+)/))[1]!;
  assert.match(out.text(), /OAuth client id:\s+\S+/); assert.match(out.text(), /OAuth client secret: \S+/);
  assert.match(out.text(), /authorize URL:\s+http:\/\/127\.0\.0\.1:\d+\/app\/oauth\/authorize/);
  const r = await fetch(`${base}/v2/contacts?page_size=100`, { headers: { 'X-Keap-API-Key': pat } });
  assert.equal(r.status, 200);
  assert.equal(((await r.json()) as { contacts: unknown[] }).contacts.length, 50);
  assert.equal(r.headers.get('x-keap-product-throttle-limit'), '1000');
  stop.abort();
  assert.equal(await done, 0);
  assert.equal(err.text(), '');
});

test('keapgres sandbox refuses bad flags with usage and exit code 2', async () => {
  const out = capture(); const err = capture();
  assert.equal(await runSandboxCommand(['--contacts', 'many'], { stdout: out.stream, stderr: err.stream }), 2);
  assert.match(err.text(), /--contacts needs a number/);
  assert.equal(await runSandboxCommand(['--frobnicate'], { stdout: out.stream, stderr: err.stream }), 2);
  assert.equal(await runSandboxCommand(['--port', '0', '--error-rate', '3'], { stdout: out.stream, stderr: err.stream }), 1, 'a rate above 1 is refused at start');
  assert.match(err.text(), /errorRate must be a number between 0 and 1/);
  assert.equal(await runSandboxCommand(['--help'], { stdout: out.stream, stderr: err.stream }), 0);
  assert.match(out.text(), /usage: keapgres sandbox/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { PassThrough, Readable } from 'node:stream';
import { runPasswdCommand, type CommandIo } from '../src/cli/passwd.js';
import { ScramServer } from '../src/wire/scram.js';

const require = createRequire(import.meta.url);
const sasl = require('pg/lib/crypto/sasl.js');

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

async function pgLogin(verifier: string, password: string): Promise<boolean> {
  const server = new ScramServer(verifier, 'u');
  const session = sasl.startSession(['SCRAM-SHA-256']);
  await sasl.continueSession(session, password, server.handleClientFirst(session.response));
  return server.handleClientFinal(session.response).ok;
}

test('keapgres passwd USER reads one line from a pipe and prints a users entry with a working verifier', async () => {
  const out = capture();
  const err = capture();
  const io: CommandIo = { stdin: Readable.from(['s3cret-pw\n', 'ignored\n']), stdout: out.stream, stderr: err.stream };
  assert.equal(await runPasswdCommand(['alice'], io), 0);
  const printed = JSON.parse(out.text()) as { users: Array<{ name: string; verifier: string }> };
  assert.equal(printed.users[0]!.name, 'alice');
  assert.ok(!out.text().includes('s3cret-pw') && !err.text().includes('s3cret-pw'));
  assert.equal(await pgLogin(printed.users[0]!.verifier, 's3cret-pw'), true);
  assert.equal(await pgLogin(printed.users[0]!.verifier, 'other'), false);
});

/** A stand-in terminal: raw mode switchable, keystrokes delivered as data events. */
function fakeTty(keys: string[]): CommandIo['stdin'] & { rawModes: boolean[] } {
  const stream = new PassThrough() as unknown as CommandIo['stdin'] & { rawModes: boolean[] };
  stream.isTTY = true;
  stream.rawModes = [];
  stream.setRawMode = (raw: boolean) => stream.rawModes.push(raw);
  let i = 0;
  const push = () => {
    if (i < keys.length) (stream as unknown as PassThrough).write(keys[i++]);
  };
  stream.on('resume', () => setImmediate(push));
  return stream;
}

test('on a terminal the password is asked twice in raw mode, without echo', async () => {
  const out = capture();
  const err = capture();
  const stdin = fakeTty(['hunter2x\u007f2\r', 'hunter22\r']);
  assert.equal(await runPasswdCommand(['bob', '--iterations', '5000'], { stdin, stdout: out.stream, stderr: err.stream }), 0);
  assert.deepEqual(stdin.rawModes, [true, false, true, false]);
  assert.match(err.text(), /Password for bob: \nAgain: \n/);
  assert.ok(!err.text().includes('hunter'));
  const verifier = JSON.parse(out.text()).users[0].verifier as string;
  assert.match(verifier, /^SCRAM-SHA-256\$5000:/);
  assert.equal(await pgLogin(verifier, 'hunter22'), true);
});

test('passwords that differ, an empty password and bad usage are refused', async () => {
  const err = capture();
  const out = capture();
  assert.equal(await runPasswdCommand(['bob'], { stdin: fakeTty(['one\r', 'two\r']), stdout: out.stream, stderr: err.stream }), 1);
  assert.match(err.text(), /the passwords do not match/);
  assert.equal(await runPasswdCommand(['bob'], { stdin: Readable.from(['\n']), stdout: out.stream, stderr: err.stream }), 1);
  assert.match(err.text(), /the password is empty/);
  assert.equal(await runPasswdCommand([], { stdin: Readable.from([]), stdout: out.stream, stderr: err.stream }), 2);
  assert.equal(await runPasswdCommand(['a', 'b'], { stdin: Readable.from([]), stdout: out.stream, stderr: err.stream }), 2);
  assert.equal(await runPasswdCommand(['a', '--iterations', '10'], { stdin: Readable.from([]), stdout: out.stream, stderr: err.stream }), 2);
  assert.equal(out.text(), '');
});

// `keapgres passwd USER`: turn a password into the SCRAM verifier the configuration file stores,
// so the password itself is never written anywhere.
import type { Readable, Writable } from 'node:stream';
import { createScramVerifier } from '../wire/scram.js';

export interface CommandIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable;
  stderr: Writable;
}

const USAGE = 'usage: keapgres passwd USER [--iterations N]\n  Reads the password (twice, without echo, on a terminal; one line from standard input otherwise)\n  and prints the "users" entry for the keapgres configuration file.\n';

export async function runPasswdCommand(args: string[], io: CommandIo = process): Promise<number> {
  let user: string | undefined;
  let iterations = 4096;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') {
      io.stdout.write(USAGE);
      return 0;
    }
    if (a === '--iterations') {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 4096 || n > 10_000_000) {
        io.stderr.write('keapgres passwd: --iterations must be an integer from 4096 to 10000000\n');
        return 2;
      }
      iterations = n;
    } else if (a.startsWith('-') || user !== undefined) {
      io.stderr.write(`keapgres passwd: unexpected argument "${a}"\n${USAGE}`);
      return 2;
    } else {
      user = a;
    }
  }
  if (!user) {
    io.stderr.write(USAGE);
    return 2;
  }
  let password: string | undefined;
  if (io.stdin.isTTY && io.stdin.setRawMode) {
    const first = await readHidden(io, `Password for ${user}: `);
    const second = first === undefined ? undefined : await readHidden(io, 'Again: ');
    if (first === undefined || second === undefined) {
      io.stderr.write('keapgres passwd: cancelled\n');
      return 1;
    }
    if (first !== second) {
      io.stderr.write('keapgres passwd: the passwords do not match\n');
      return 1;
    }
    password = first;
  } else {
    password = await readLine(io.stdin);
  }
  if (!password) {
    io.stderr.write('keapgres passwd: the password is empty\n');
    return 1;
  }
  const verifier = createScramVerifier(password, iterations);
  io.stdout.write(`${JSON.stringify({ users: [{ name: user, verifier }] }, null, 2)}\n`);
  return 0;
}

/** One line from a non-terminal stream (a pipe or file); the trailing newline is not part of it. */
async function readLine(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk.toString();
    const nl = text.search(/\r?\n/);
    if (nl >= 0) return text.slice(0, nl);
  }
  return text;
}

/** Read a line from a terminal in raw mode, echoing nothing. Undefined when cancelled (Ctrl-C, Ctrl-D). */
function readHidden(io: CommandIo, prompt: string): Promise<string | undefined> {
  io.stderr.write(prompt);
  const stdin = io.stdin;
  return new Promise((resolve) => {
    let value = '';
    const done = (result: string | undefined) => {
      stdin.off('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      io.stderr.write('\n');
      resolve(result);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return done(value);
        if (ch === '\u0003' || ch === '\u0004') return done(undefined);
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.setRawMode!(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

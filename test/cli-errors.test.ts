// Every error of the keapgres command is shown whole — message, DETAIL and HINT, as psql shows a
// server's — and ends the command with a non-zero status. Runs the real command (server/keapgres.js)
// as a child process, as a user types it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = 'cli-errors-client-secret-4f1c';
let home: string;

before(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'keapgres-cli-'));
});
after(() => rmSync(home, { recursive: true, force: true }));

interface Run { code: number; stdout: string; stderr: string }

function keapgres(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), ...(process.env.KEAPGRES_CACHE_DIR ? { KEAPGRES_CACHE_DIR: process.env.KEAPGRES_CACHE_DIR } : {}), ...env };
    execFile(process.execPath, ['server/keapgres.js', ...args], { cwd: repoRoot, env: childEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

function configFile(name: string, content: unknown): string {
  const file = path.join(home, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const OAUTH = `InitiateOAuth=GETANDREFRESH;OAuthClientId=cli-errors-app;OAuthClientSecret=${SECRET}`;

/** Bad connection strings and the whole error each must print (after "keapgres <command>: "). */
const BAD_CONNECTIONS: Array<{ what: string; connection: string; lines: string[] }> = [
  {
    what: 'a misspelled property',
    connection: `AuthSchem=OAuth;${OAUTH}`,
    lines: ['unknown connection property "AuthSchem"', 'DETAIL:  Perhaps you meant "AuthScheme".', 'HINT:  Known properties: Profile, AuthScheme, APIKey, InitiateOAuth,'],
  },
  {
    what: 'a bad InitiateOAuth value',
    connection: `AuthScheme=OAuth;InitiateOAuth=SOMETIMES;OAuthClientId=cli-errors-app;OAuthClientSecret=${SECRET}`,
    lines: ['invalid value for connection property "InitiateOAuth": value "SOMETIMES" is not recognized', 'HINT:  Allowed values: OFF, GETANDREFRESH, REFRESH.'],
  },
  {
    what: 'an AuthScheme Keap does not support',
    connection: `AuthScheme=Basic;${OAUTH}`,
    lines: ['AuthScheme=Basic is not supported by Keap', 'DETAIL:  Keap does not accept a user name and password for its REST API.', 'HINT:  Use AuthScheme=OAuth with InitiateOAuth=GETANDREFRESH'],
  },
];

function assertWhole(r: Run, command: string, lines: string[], prefix = ''): void {
  assert.equal(r.code, 1, `exit status of ${command}; stderr: ${r.stderr}`);
  const printed = r.stderr.split('\n');
  assert.ok(printed[0]!.startsWith(`keapgres ${command}: ${prefix}${lines[0]}`), `first line: ${printed[0]}`);
  for (const line of lines.slice(1)) assert.ok(printed.some((p) => p.startsWith(line)), `"${line}" in:\n${r.stderr}`);
  assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET), 'the client secret is never printed');
}

for (const command of ['serve', 'auth', 'export']) {
  test(`keapgres ${command} --connection: each bad connection string is shown with its DETAIL and HINT, status 1`, async () => {
    for (const bad of BAD_CONNECTIONS) {
      // serve and export name the connection by the database it is served as; auth names none
      assertWhole(await keapgres([command, '--connection', bad.connection]), command, bad.lines, command === 'serve' ? 'database "keap": ' : '');
    }
  });

  test(`keapgres ${command} --config: a bad database connection string and a misspelled key are shown whole`, async () => {
    const badDatabase = configFile(`${command}-db.json`, { databases: { acme: BAD_CONNECTIONS[0]!.connection } });
    const args = command === 'serve' ? ['--config', badDatabase] : ['--config', badDatabase, '--database', 'acme'];
    assertWhole(await keapgres([command, ...args]), command, BAD_CONNECTIONS[0]!.lines, 'database "acme": ');
    const badKey = configFile(`${command}-key.json`, { maxSession: 5 });
    assertWhole(await keapgres([command, '--config', badKey]), command, [
      `unknown key "maxSession" in configuration file "${badKey}"`, 'DETAIL:  Perhaps you meant "maxSessions".', 'HINT:  Known keys: host, port,',
    ]);
  });

  test(`keapgres ${command} with an unknown option: the usage, status 2`, async () => {
    const r = await keapgres([command, '--conection', 'x']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^keapgres \w+: unknown (option|argument) "--conection"/);
    assert.match(r.stderr, /usage: keapgres \w+/);
  });
}

test('keapgres serve: every unsupported AuthScheme says why and what to use instead', async () => {
  for (const [scheme, why] of [['None', 'no anonymous access'], ['NTLM', 'Windows (NTLM)'], ['OAuth_Client', 'no client-credentials grant']]) {
    const r = await keapgres(['serve', '--connection', `AuthScheme=${scheme};${OAUTH}`]);
    assertWhole(r, 'serve', [`AuthScheme=${scheme} is not supported by Keap`, 'DETAIL:  ', 'HINT:  Use AuthScheme=OAuth'], 'database "keap": ');
    assert.ok(r.stderr.includes(why), r.stderr);
  }
  assertWhole(await keapgres(['serve', '--connection', `AuthScheme=Kerberos;${OAUTH}`]), 'serve',
    ['invalid value for connection property "AuthScheme": value "Kerberos" is not recognized', 'HINT:  Allowed values: OAuth (the default) or APIKey.'], 'database "keap": ');
});

test('keapgres serve: a bad environment variable is shown with the value it had', async () => {
  const r = await keapgres(['serve'], { KEAPGRES_PORT: 'fifty' });
  assertWhole(r, 'serve', ['environment variable KEAPGRES_PORT must be an integer from 0 to 65535', 'DETAIL:  It is "fifty".']);
});

test('keapgres serve on a port in use: the error with its hint, and the command ends instead of hanging', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as net.AddressInfo).port;
    const r = await keapgres(['serve', '--port', String(port)], { KEAPGRES_LOG_LEVEL: 'fatal' });
    assertWhole(r, 'serve', [`cannot listen on 127.0.0.1:${port}`, 'DETAIL:  listen EADDRINUSE', 'HINT:  Another server uses that port']);
  } finally {
    taken.close();
  }
});

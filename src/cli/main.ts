// The `keapgres` command: dispatches to its subcommands.
import { runServeCommand } from './serve.js';
import { runPasswdCommand } from './passwd.js';
import { runAuthCommand } from './auth.js';
import { runSandboxCommand } from './sandbox.js';
import { runExportCommand } from './export.js';
import { errorText } from './error-text.js';

const USAGE = `usage: keapgres <command> [options]
  serve     run the PostgreSQL server over Keap (keapgres serve --help)
  passwd    print a SCRAM-SHA-256 verifier for a user of the configuration
  auth      authorize a Keap connection (OAuth) by hand: --print-url, --verifier CODE
  sandbox   run the built-in sandbox Keap API alone
  export    write the Keap tables (DDL, keys, comments, rows) as a psql script for a real PostgreSQL
`;

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    // each command reports its own failures; this is for the ones it did not foresee
    process.stderr.write(errorText(`keapgres ${argv[0]}`, err));
    return 1;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': return runServeCommand(rest);
    case 'passwd': return runPasswdCommand(rest);
    case 'auth': return runAuthCommand(rest);
    case 'sandbox': return runSandboxCommand(rest);
    case 'export': return runExportCommand(rest);
    case undefined: case '-h': case '--help': case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`keapgres: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

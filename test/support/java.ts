// pgjdbc from the tests: Debian's libpostgresql-jdbc-java and a JRE run test/java/*.java with the
// single-file source launcher.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const JDBC_JAR = '/usr/share/java/postgresql.jar';

/** Why pgjdbc cannot run here, or false when it can. */
export function javaMissing(): string | false {
  if (!existsSync(JDBC_JAR)) return `${JDBC_JAR} is missing (apt-get install libpostgresql-jdbc-java; .ci/run does)`;
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    return 'java is missing (apt-get install default-jre-headless; .ci/run does)';
  }
  return false;
}

/** A test's skip reason: CI installs both, so there a missing one is a failure, elsewhere a skip. */
export function javaSkip(): string | false {
  const missing = javaMissing();
  return missing && !process.env.CI ? missing : false;
}

export interface JdbcCheck { check: string; value?: unknown; error?: string }

/** Runs one group of test/java/JdbcChecks.java against a server (with the group's own arguments); its checks by name. */
export function runJdbcChecks(port: number, database: string, user: string, group: string, ...groupArgs: string[]): Promise<Record<string, JdbcCheck>> {
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile('java', ['-cp', JDBC_JAR, 'test/java/JdbcChecks.java', String(port), database, user, group, ...groupArgs], { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`JdbcChecks ${group} failed: ${err.message}\n${stderr}`)) : resolve(Object.fromEntries(
        stdout.trim().split('\n').map((l) => JSON.parse(l) as JdbcCheck).map((o) => [o.check, o])))));
  });
}

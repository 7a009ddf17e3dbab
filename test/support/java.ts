// pgjdbc from the tests: Debian's libpostgresql-jdbc-java and a JRE run test/java/*.java with the
// single-file source launcher.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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

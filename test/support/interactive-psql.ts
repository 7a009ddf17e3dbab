// An interactive psql on a pseudo-terminal (util-linux `script`), typed into like a person: Ctrl-C tests.
import { spawn } from 'node:child_process';

export class InteractivePsql {
  private readonly child;
  output = '';
  private readonly exited: Promise<number | null>;
  private done = false;

  /** `home`: psql's HOME (no ~/.psqlrc, no history of the user's own) */
  constructor(dsn: string, home: string, password?: string) {
    const env = { PATH: process.env.PATH, HOME: home, LC_ALL: 'C.UTF-8', PSQLRC: '/dev/null', PGCONNECT_TIMEOUT: '10', TERM: 'dumb', PAGER: 'cat', ...(password ? { PGPASSWORD: password } : {}) };
    this.child = spawn('script', ['-q', '-e', '-c', `exec psql -X '${dsn}'`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.child.stderr.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => { this.done = true; resolve(code); }));
  }

  type(text: string): void {
    if (!this.done) this.child.stdin.write(text);
  }

  /** Waits until the output (after `from`) matches; markers are built by SQL so the echo of what was typed cannot match. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output.slice(from));
      if (m) return from + m.index + m[0].length;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in psql output:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async quit(): Promise<number | null> {
    this.type('\\q\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

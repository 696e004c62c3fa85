import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/**
 * otpgate as a real process (`src/main.ts` through ts-node), for tests of roles, restarts and
 * crashes. Its output is kept in `output`.
 */
export class OtpgateProcess {
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static spawn(env: Record<string, string>): OtpgateProcess {
    // Under mutation testing the child runs the sandbox's instrumented code: it must activate the same mutant.
    const mutant = process.env.__STRYKER_ACTIVE_MUTANT__;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...(mutant === undefined ? {} : { __STRYKER_ACTIVE_MUTANT__: mutant }), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new OtpgateProcess(child);
  }

  /** Waits until the output matches, or fails with the output so far. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`otpgate did not print ${pattern}:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

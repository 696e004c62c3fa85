import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Keep only the end of a child's output: enough to explain a crash, bounded for long runs. */
const OUTPUT_TAIL = 16_384;

export interface ChildOptions {
  /** Shown in errors and progress lines. */
  name: string;
  /** The script, run with `node` directly so that `pid` is the measured process itself. */
  script: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  cwd: string;
  /** Strings never to show when the output is printed (tokens, secrets). */
  secrets?: string[];
}

/**
 * One target process. It is spawned as `node <script>`, not through npm or a shell, so its pid
 * is the process whose RSS we read and which we pause.
 */
export class Child {
  /** Every child still running, so that a failed run can end them all (none is left behind). */
  private static readonly living = new Set<Child>();
  private output = '';
  /** Characters of output received in all, of which `output` keeps the end. */
  private received = 0;
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly options: ChildOptions,
    private readonly process: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.received += text.length;
      this.output = (this.output + text).slice(-OUTPUT_TAIL);
    };
    process.stdout!.on('data', keep);
    process.stderr!.on('data', keep);
    this.exited = new Promise((resolve) =>
      process.once('exit', (code) => {
        Child.living.delete(this);
        resolve(code);
      }),
    );
    Child.living.add(this);
  }

  /** Stops every child that is still running. */
  static async stopAll(): Promise<void> {
    await Promise.allSettled([...Child.living].map((child) => child.stop()));
  }

  static spawn(options: ChildOptions): Child {
    const child = spawn(globalThis.process.execPath, [...(options.nodeArgs ?? []), options.script], {
      cwd: options.cwd,
      // A clean environment: nothing of the caller's (.env values, NODE_OPTIONS) leaks into a target.
      env: { PATH: globalThis.process.env.PATH ?? '', HOME: globalThis.process.env.HOME ?? '', NODE_ENV: 'production', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Child(options, child);
  }

  get name(): string {
    return this.options.name;
  }

  get pid(): number {
    return this.process.pid!;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resident set size in MB, from /proc (Linux). */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!kb) throw new Error(`${this.name}: no VmRSS in /proc/${this.pid}/status`);
    return Number(kb[1]) / 1024;
  }

  /** Polls until `ready` resolves true; fails early, with the output, when the process exits. */
  async waitUntil(ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${this.tail()}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(100);
    }
  }

  /** Waits for a line in the output (workers have no HTTP port to poll). */
  waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    return this.waitUntil(() => Promise.resolve(pattern.test(this.output)), timeoutMs);
  }

  /** Sends `signal` and waits for the next output line matching `pattern` (with one capture group), which it returns. */
  async ask(signal: NodeJS.Signals, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const mark = this.received;
    this.process.kill(signal);
    let answer: string | undefined;
    await this.waitUntil(() => {
      // Only what arrived after the signal.
      answer = pattern.exec(this.output.slice(Math.max(0, this.output.length - (this.received - mark))))?.[1];
      return Promise.resolve(answer !== undefined);
    }, timeoutMs);
    return answer!;
  }

  /** Freezes the process (SIGSTOP): a paused worker takes no CPU while another target is measured. */
  pause(): void {
    this.process.kill('SIGSTOP');
  }

  resume(): void {
    this.process.kill('SIGCONT');
  }

  /** SIGTERM (after SIGCONT, in case it was paused), then SIGKILL if it does not exit in time. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.running) {
      this.process.kill('SIGCONT');
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }

  /** The end of the output, with secrets blanked, for error messages. */
  tail(): string {
    let text = this.output;
    for (const secret of this.options.secrets ?? []) text = text.split(secret).join('[redacted]');
    return text.trim().split('\n').slice(-30).join('\n');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

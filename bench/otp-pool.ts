import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { listenLocal } from '../test/support/ports';

export interface PendingOtp {
  requestId: string;
  code: string;
}

/**
 * OTPs that were sent and delivered but not verified yet: each verify request takes the next one,
 * so every verify hits a fresh pending OTP. Codes live only here, in memory; they are never printed.
 */
export class OtpPool {
  /** Deliveries seen so far, whether or not their codes are kept. */
  delivered = 0;
  private items: PendingOtp[] = [];
  private head = 0;

  /** `keep` false: only count deliveries (the memory check sends far more than it verifies). */
  constructor(public keep = true) {}

  add(otp: PendingOtp): void {
    this.delivered++;
    if (this.keep) this.items.push(otp);
  }

  take(): PendingOtp | undefined {
    const otp = this.items[this.head];
    if (otp === undefined) return undefined;
    this.items[this.head++] = undefined as unknown as PendingOtp;
    // Compact now and then, so a long run does not keep every taken slot.
    if (this.head > 50_000 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return otp;
  }

  get size(): number {
    return this.items.length - this.head;
  }
}

/** The code in a message text: its run of digits (the bench's body is `Your code is {code}`). */
export function codeIn(text: string): string | undefined {
  return /\d{4,10}/.exec(text)?.[0];
}

/**
 * The HTTP SMS gateway the otpgate targets deliver to (`SMS_PROVIDER=http`): it reads
 * `{requestId, text}` from each POST and puts the code into the pool named by the path
 * (`/mysql`, `/sqlite`), then answers 200 at once.
 */
export class CodeSink {
  private readonly pools = new Map<string, OtpPool>();
  private port = 0;

  private readonly server: Server;

  private constructor() {
    this.server = createServer((request, response) => this.handle(request, response));
    // Workers are frozen (SIGSTOP) between runs: a keep-alive socket the sink closed meanwhile
    // fails their first POST after the thaw (UND_ERR_SOCKET), a retry a second later. Keep them open.
    this.server.keepAliveTimeout = 0;
  }

  static async start(): Promise<CodeSink> {
    const sink = new CodeSink();
    sink.port = await listenLocal(sink.server);
    return sink;
  }

  /** The SMS_HTTP_URL for a pool. */
  urlFor(name: string, pool: OtpPool): string {
    this.pools.set(`/${name}`, pool);
    return `http://127.0.0.1:${this.port}/${name}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const pool = this.pools.get(request.url ?? '');
      try {
        const { requestId, text } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { requestId?: string; text?: string };
        const code = codeIn(text ?? '');
        if (pool && requestId && code) {
          pool.add({ requestId, code });
          response.writeHead(200).end();
          return;
        }
      } catch {
        // Answered 400 below; otpgate then retries, which shows up as a drain that never completes.
      }
      response.writeHead(400).end();
    });
  }
}

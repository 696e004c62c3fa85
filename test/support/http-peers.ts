import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { listenLocal } from './ports';

export interface RecordedRequest {
  method: string;
  /** Path and query, as received. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed, when it was sent as JSON. */
  json?: unknown;
  /** The body's fields, when it was sent form-encoded. */
  form?: Record<string, string>;
}

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers as told: the HTTP SMS
 * gateway and the Calls API of the tests and benchmarks. `failNext` answers the next requests
 * with `failStatus` and `failBody`; `hang` never answers (for timeouts); otherwise `status` with `body` as JSON.
 */
export class HttpPeer {
  readonly requests: RecordedRequest[] = [];
  failNext = 0;
  failStatus = 500;
  failBody: unknown = { message: 'failure injected by the test peer' };
  hang = false;
  /** Answer to requests that neither fail nor hang; `body` undefined answers with no body. */
  status = 200;
  body: unknown = undefined;
  /** Delay before answering, to stand in for a slow provider. */
  delayMs = 0;

  private port = 0;
  private readonly server: Server;
  private waiters: (() => void)[] = [];

  private constructor() {
    this.server = createServer((request, response) => this.handle(request, response));
  }

  static async start(): Promise<HttpPeer> {
    const peer = new HttpPeer();
    peer.port = await listenLocal(peer.server);
    return peer;
  }

  /** `http://127.0.0.1:port`, without a trailing slash. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resolves with the requests once at least `count` have arrived, or rejects after `timeoutMs`. */
  async waitForRequests(count: number, timeoutMs = 5_000): Promise<RecordedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.requests.length} of ${count} requests within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests.slice();
  }

  /** Stops the server and destroys its sockets, hanging requests included, so it never waits. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.record(request, Buffer.concat(chunks).toString('utf8'));
      if (this.failNext > 0) {
        this.failNext--;
        this.answer(response, this.failStatus, this.failBody);
        return;
      }
      if (this.hang) return;
      this.answer(response, this.status, this.body);
    });
  }

  private answer(response: ServerResponse, status: number, body: unknown): void {
    const write = () => {
      if (body === undefined) {
        response.writeHead(status).end();
      } else {
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }
    };
    if (this.delayMs > 0) setTimeout(write, this.delayMs);
    else write();
  }

  private record(request: IncomingMessage, rawBody: string): void {
    const contentType = request.headers['content-type'] ?? '';
    const recorded: RecordedRequest = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, rawBody };
    if (contentType.includes('json')) {
      try {
        recorded.json = JSON.parse(rawBody);
      } catch {
        // Kept as raw text: a test asserting on `json` then fails with the body in view.
      }
    } else if (contentType.includes('application/x-www-form-urlencoded')) {
      recorded.form = Object.fromEntries(new URLSearchParams(rawBody));
    }
    this.requests.push(recorded);
    this.waiters.splice(0).forEach((wake) => wake());
  }
}

/** The user and password of a request's Basic `authorization` header, if it has one. */
export function basicAuth(request: RecordedRequest): { user: string; password: string } | undefined {
  const match = /^Basic (.+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

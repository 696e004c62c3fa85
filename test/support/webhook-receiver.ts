import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { listenLocal } from './ports';

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signatures: string[];
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: { type: string; timestamp: string; data: Record<string, unknown> };
}

/** What the receiver does with the next request: answer a status, never answer, or drop the connection. */
export type ReceiverBehaviour = { answer: number } | 'hang' | 'close';

/**
 * A webhook receiver, as an integrator writes one: a real HTTP server on 127.0.0.1 that records
 * every request and answers as the test says (2xx by default; `next` queues behaviours for the
 * coming requests). `verified` checks a request with the `standardwebhooks` package.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Behaviours for the next requests, in order; then `otherwise`. */
  readonly next: ReceiverBehaviour[] = [];
  otherwise: ReceiverBehaviour = { answer: 204 };
  private port = 0;
  private readonly server: Server;

  private constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const header = (name: string): string => String(request.headers[name] ?? '');
        this.received.push({
          id: header('webhook-id'),
          timestamp: header('webhook-timestamp'),
          signatures: header('webhook-signature').split(' ').filter(Boolean),
          headers: request.headers,
          rawBody,
          body: JSON.parse(rawBody) as ReceivedWebhook['body'],
        });
        const behaviour = this.next.shift() ?? this.otherwise;
        if (behaviour === 'hang') return;
        if (behaviour === 'close') return request.socket.destroy();
        response.writeHead(behaviour.answer).end();
      });
    });
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    receiver.port = await listenLocal(receiver.server);
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** The same receiver by name: `localhost` resolves to loopback. */
  get urlByName(): string {
    return `http://localhost:${this.port}/hooks`;
  }

  /** The requests of one event (its attempts), in arrival order. */
  of(type: string, requestId: string): ReceivedWebhook[] {
    return this.received.filter((hook) => hook.body.type === type && hook.body.data.requestID === requestId);
  }

  /** Verifies a request as a receiver would, with the `standardwebhooks` package; throws when it does not verify. */
  static verified(secret: string, hook: ReceivedWebhook): unknown {
    return new Webhook(secret).verify(hook.rawBody, { 'webhook-id': hook.id, 'webhook-timestamp': hook.timestamp, 'webhook-signature': hook.signatures.join(' ') });
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }
}

import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/**
 * A real SMTP server on 127.0.0.1 (npm smtp-server) that keeps what it receives. `failNext`
 * makes it answer the next messages with a temporary 451 error.
 */
export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  failNext = 0;
  rejected = 0;
  private waiters: (() => void)[] = [];

  private readonly server: SMTPServer;
  port = 0;

  private constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (this.failNext > 0) {
            this.failNext--;
            this.rejected++;
            callback(Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 }));
            return;
          }
          this.receive(Buffer.concat(chunks).toString('utf8'), session.envelope);
          callback();
        });
      },
    });
  }

  static async start(port = 0): Promise<SmtpSink> {
    const sink = new SmtpSink();
    await new Promise<void>((resolve) => sink.server.listen(port, '127.0.0.1', resolve));
    sink.port = (sink.server.server.address() as AddressInfo).port;
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Resolves with the first message to `to` (case-insensitive), waiting up to `timeoutMs`. */
  async waitFor(to: string, timeoutMs = 10_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((mail) => mail.to.some((address) => address.toLowerCase() === to.toLowerCase()));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The code in the message to `to`: the run of digits in its text. */
  async codeFor(to: string, timeoutMs?: number): Promise<string> {
    const mail = await this.waitFor(to, timeoutMs);
    const match = /(\d{4,10})/.exec(mail.text);
    if (!match) throw new Error(`no code in ${JSON.stringify(mail.text)}`);
    return match[1];
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private receive(raw: string, envelope: { mailFrom: false | { address: string }; rcptTo: { address: string }[] }): void {
    const [head, ...body] = raw.split(/\r?\n\r?\n/);
    const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
    this.messages.push({
      from: envelope.mailFrom ? envelope.mailFrom.address : '',
      to: envelope.rcptTo.map((rcpt) => rcpt.address),
      subject,
      text: body.join('\n\n').replace(/=\r?\n/g, '').trim(),
    });
    this.waiters.splice(0).forEach((wake) => wake());
  }
}

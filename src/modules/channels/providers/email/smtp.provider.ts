import { OnModuleDestroy } from '@nestjs/common';
import nodemailer, { Transporter } from 'nodemailer';
import { EmailProvider, OutboundMessage, SendResult } from '../message-provider';

/** Email over SMTP with nodemailer (`SMTP_URL`), pooled connections, bounded timeouts. */
export class SmtpEmailProvider extends EmailProvider implements OnModuleDestroy {
  readonly name = 'smtp';
  private readonly transport: Transporter;

  constructor(smtpUrl: string) {
    super();
    const url = new URL(smtpUrl);
    this.transport = nodemailer.createTransport({
      host: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      secure: url.protocol === 'smtps:',
      auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
      pool: true,
      maxConnections: 5,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const info = (await this.transport.sendMail({ from: message.from, to: message.to, subject: message.subject, text: message.text })) as { messageId?: string };
    return { providerMessageId: info.messageId };
  }

  onModuleDestroy(): void {
    this.transport.close();
  }
}

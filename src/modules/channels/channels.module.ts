import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown, Optional, Provider, Type } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { queueConnection, queuePrefix } from '../../infra/redis/redis-target';
import { CHANNELS } from './channel';
import { DeliveryProcessor } from './delivery.processor';
import { DeliveryReceipts } from './delivery-receipts';
import { NextSteps } from './next-steps';
import { TwimlCallProvider } from './providers/call/twiml-call.provider';
import { ConsoleProvider } from './providers/console.provider';
import { CallProvider, EmailProvider, MessageProvider, SmsProvider, WhatsappProvider } from './providers/message-provider';
import { SmtpEmailProvider } from './providers/email/smtp.provider';
import { HttpSmsProvider } from './providers/sms/http-sms.provider';
import { SmppSmsProvider } from './providers/sms/smpp.provider';
import { CloudWhatsappProvider } from './providers/whatsapp/cloud-whatsapp.provider';
import { WhatsappStatusController } from './providers/whatsapp/whatsapp-status.controller';
import { BullmqDeliveryQueue, deliveryWorker } from './queue/bullmq-delivery-queue';
import { DeliveryQueue } from './queue/delivery-queue';
import { InProcessDeliveryQueue } from './queue/in-process-delivery-queue';

/**
 * Queues, workers and providers, chosen once from the configuration: BullMQ with REDIS_URL
 * (workers only where ROLE runs them), else the in-process queue; one provider per channel.
 * `records` is the module that provides the DeliveryRecords port (the Otp module's). The
 * WhatsApp status callbacks are served here, beside the receipts they record.
 */
const QUEUE_CONNECTION = Symbol('queue connection');

@Module({})
export class ChannelsModule implements OnApplicationShutdown {
  constructor(
    metrics: MetricsService,
    queue: DeliveryQueue,
    @Optional() @Inject(QUEUE_CONNECTION) private readonly connection?: Redis,
  ) {
    metrics.queueDepths = () => queue.counts();
    metrics.queueOldestWaiting = () => queue.oldestWaiting();
  }

  /** BullMQ leaves a client it was given open (a Cluster's); the queues and workers have closed by now. */
  async onApplicationShutdown(): Promise<void> {
    await this.connection?.quit().catch(() => this.connection?.disconnect());
  }

  static register(config: AppConfig, records: Type): DynamicModule {
    const providers: Provider[] = [
      DeliveryProcessor,
      DeliveryReceipts,
      NextSteps,
      { provide: SmsProvider, inject: [DeliveryReceipts], useFactory: (receipts: DeliveryReceipts) => smsProvider(config, receipts) },
      { provide: CallProvider, useFactory: () => callProvider(config) },
      { provide: EmailProvider, useFactory: () => emailProvider(config) },
      { provide: WhatsappProvider, useFactory: () => whatsappProvider(config) },
    ];
    const imports: DynamicModule['imports'] = [records];
    if (config.redis) {
      // BullMQ's connection, to the same target as the app's own client: one server, Sentinel, or a
      // Cluster (whose queues then need a hash-tagged prefix, and whose client is ours to close).
      const { connection, owned } = queueConnection(config.redis);
      imports.push(BullModule.forRoot({ connection, prefix: queuePrefix(config.redis, config.redisPrefix) }), BullModule.registerQueue(...CHANNELS.map((name) => ({ name }))));
      if (owned) providers.push({ provide: QUEUE_CONNECTION, useValue: owned });
      providers.push({ provide: DeliveryQueue, useClass: BullmqDeliveryQueue });
      if (config.runsWorkers) providers.push(...CHANNELS.map((channel) => deliveryWorker(channel, config)));
    } else {
      providers.push({ provide: DeliveryQueue, useClass: InProcessDeliveryQueue });
    }
    return { module: ChannelsModule, imports, controllers: [WhatsappStatusController], providers, exports: [DeliveryQueue] };
  }
}

function smsProvider(config: AppConfig, receipts: DeliveryReceipts): MessageProvider {
  const { provider, smppUrl, httpUrl } = config.sms;
  if (provider === 'smpp') return new SmppSmsProvider(smppUrl!, (receipt) => receipts.record('smpp', receipt));
  if (provider === 'http') return new HttpSmsProvider(httpUrl!);
  return devConsole('sms', config);
}

function callProvider(config: AppConfig): MessageProvider {
  const { provider, apiUrl, accountSid, authToken } = config.voice;
  if (provider === 'twiml') return new TwimlCallProvider(apiUrl!, accountSid!, authToken!);
  return devConsole('call', config);
}

function emailProvider(config: AppConfig): MessageProvider {
  if (config.email.provider === 'smtp') return new SmtpEmailProvider(config.email.smtpUrl!);
  return devConsole('email', config);
}

function whatsappProvider(config: AppConfig): MessageProvider {
  const { provider, apiUrl, phoneNumberId, token, template, appSecret } = config.whatsapp;
  if (provider !== 'cloud') return devConsole('whatsapp', config);
  if (!appSecret && config.runsApi) {
    new Logger('Channels').warn('whatsapp: WHATSAPP_APP_SECRET is not set, so status callbacks are refused and deliveries stay "sent"');
  }
  return new CloudWhatsappProvider({ apiUrl, phoneNumberId: phoneNumberId!, token: token!, template: template! });
}

function devConsole(channel: string, config: AppConfig): MessageProvider {
  if (config.runsWorkers) {
    new Logger('Channels').warn(`${channel}: the console provider prints messages, codes included, to this log. For development only.`);
  }
  return new ConsoleProvider();
}

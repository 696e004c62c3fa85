import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { AccountsModule } from '../accounts/accounts.module';
import { OtpEventLog } from '../otp/otp-event-log';
import { OtpRecordsModule } from '../otp/otp-records.module';
import { WebhookAlarm } from './webhook-alarm';
import { BullmqWebhookQueue, WEBHOOK_QUEUE, webhookWorker } from './queue/bullmq-webhook-queue';
import { InProcessWebhookQueue } from './queue/in-process-webhook-queue';
import { WebhookQueue } from './queue/webhook-queue';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import { WebhookEvent } from './webhook-event.entity';
import { WebhookHttp } from './webhook-http';
import { WebhookPump } from './webhook-pump';
import { WebhookStore } from './webhook-store';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Status webhooks (SPEC §10.2): the endpoints API, the relay from the Otp outbox, and the
 * `webhooks` queue with its dispatcher: BullMQ with REDIS_URL (workers where ROLE runs them),
 * else in-process. The audience the Otp store asks lives in WebhookAudienceModule.
 */
@Module({})
export class WebhooksModule {
  constructor(metrics: MetricsService, store: WebhookStore, log: OtpEventLog) {
    metrics.webhookBacklog = async () => {
      const [relayed, waiting] = await Promise.all([store.backlog(), log.backlog()]);
      const oldest = [relayed.oldest, waiting.oldest].filter((value): value is number => value !== null);
      return { events: relayed.count + waiting.count, oldest: oldest.length ? Math.min(...oldest) : null };
    };
  }

  static register(config: AppConfig): DynamicModule {
    const providers: Provider[] = [WebhooksService, WebhookStore, WebhookDispatcher, WebhookHttp, WebhookPump, WebhookAlarm];
    const imports: DynamicModule['imports'] = [TypeOrmModule.forFeature([WebhookEndpoint, WebhookEvent, WebhookDelivery]), AccountsModule, OtpRecordsModule];
    if (config.redisUrl) {
      imports.push(BullModule.registerQueue({ name: WEBHOOK_QUEUE }));
      providers.push({ provide: WebhookQueue, useClass: BullmqWebhookQueue });
      if (config.runsWorkers) providers.push(webhookWorker(config));
    } else {
      providers.push({ provide: WebhookQueue, useClass: InProcessWebhookQueue });
    }
    return { module: WebhooksModule, imports, controllers: [WebhooksController], providers };
  }
}

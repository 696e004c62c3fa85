import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Logger, Module, Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig, ConfigError } from '../../config/app-config';
import { CHANNELS, Otp } from '../otp/otp.entity';
import { DeliveryProcessor } from './delivery.processor';
import { ConsoleProvider } from './providers/console.provider';
import { CallProvider, EmailProvider, MessageProvider, SmsProvider } from './providers/message-provider';
import { SmtpEmailProvider } from './providers/smtp.provider';
import { BullmqDeliveryQueue, CallWorker, EmailWorker, SmsWorker } from './queue/bullmq-delivery-queue';
import { DeliveryQueue } from './queue/delivery-queue';
import { InProcessDeliveryQueue } from './queue/in-process-delivery-queue';

/**
 * Queues, workers and providers, chosen once from the configuration: BullMQ with REDIS_URL
 * (workers only where ROLE runs them), else the in-process queue; one provider per channel.
 */
@Module({})
export class ChannelsModule {
  static register(config: AppConfig): DynamicModule {
    const providers: Provider[] = [
      DeliveryProcessor,
      { provide: SmsProvider, useFactory: () => smsProvider(config) },
      { provide: CallProvider, useFactory: () => callProvider(config) },
      { provide: EmailProvider, useFactory: () => emailProvider(config) },
    ];
    const imports: DynamicModule['imports'] = [TypeOrmModule.forFeature([Otp])];
    if (config.redisUrl) {
      imports.push(
        BullModule.forRoot({ connection: { url: config.redisUrl }, prefix: config.redisPrefix }),
        BullModule.registerQueue(...CHANNELS.map((name) => ({ name }))),
      );
      providers.push({ provide: DeliveryQueue, useClass: BullmqDeliveryQueue });
      if (config.runsWorkers) providers.push(SmsWorker, CallWorker, EmailWorker);
    } else {
      providers.push({ provide: DeliveryQueue, useClass: InProcessDeliveryQueue });
    }
    return { module: ChannelsModule, imports, providers, exports: [DeliveryQueue] };
  }
}

function smsProvider(config: AppConfig): MessageProvider {
  if (config.sms.provider !== 'console') throw new ConfigError(`SMS_PROVIDER=${config.sms.provider} is not available yet`);
  return devConsole('sms', config);
}

function callProvider(config: AppConfig): MessageProvider {
  if (config.voice.provider !== 'console') throw new ConfigError(`VOICE_PROVIDER=${config.voice.provider} is not available yet`);
  return devConsole('call', config);
}

function emailProvider(config: AppConfig): MessageProvider {
  if (config.email.provider === 'smtp') return new SmtpEmailProvider(config.email.smtpUrl!);
  return devConsole('email', config);
}

function devConsole(channel: string, config: AppConfig): MessageProvider {
  if (config.runsWorkers) {
    new Logger('Channels').warn(`${channel}: the console provider prints messages, codes included, to this log. For development only.`);
  }
  return new ConsoleProvider();
}

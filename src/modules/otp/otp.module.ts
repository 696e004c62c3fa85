import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config';
import { AccountsModule } from '../accounts/accounts.module';
import { ChannelsModule } from '../channels/channels.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { LimitsModule } from '../limits/limits.module';
import { ProtectionModule } from '../protection/protection.module';
import { OtpRecordsModule } from './otp-records.module';
import { OtpSweeper } from './otp-sweeper';
import { Otp } from './otp.entity';
import { OtpController } from './otp.controller';
import { OtpService } from './otp.service';
import { ReportsController } from './reports.controller';
import { SessionsService } from './sessions.service';
import { TestMessage } from './test-message.entity';
import { TestMessagesController } from './test-messages.controller';
import { TestMessagesService } from './test-messages.service';
import { UsageService } from './usage.service';

/** Send, verify, cancel, session records, usage and captured test messages; the channels deliver through its records. */
@Module({})
export class OtpModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: OtpModule,
      imports: [
        TypeOrmModule.forFeature([Otp, TestMessage]),
        AccountsModule,
        LimitsModule,
        IdempotencyModule,
        ProtectionModule,
        OtpRecordsModule,
        ChannelsModule.register(config, OtpRecordsModule),
      ],
      controllers: [OtpController, ReportsController, TestMessagesController],
      providers: [OtpService, SessionsService, UsageService, TestMessagesService, OtpSweeper],
    };
  }
}

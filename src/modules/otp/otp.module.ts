import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config';
import { AccountsModule } from '../accounts/accounts.module';
import { ChannelsModule } from '../channels/channels.module';
import { LimitsModule } from '../limits/limits.module';
import { Otp } from './otp.entity';
import { OtpController } from './otp.controller';
import { OtpService } from './otp.service';
import { OtpStore } from './otp.store';
import { ReportsController } from './reports.controller';
import { SessionsService } from './sessions.service';
import { UsageService } from './usage.service';

@Module({})
export class OtpModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: OtpModule,
      imports: [TypeOrmModule.forFeature([Otp]), AccountsModule, LimitsModule, ChannelsModule.register(config)],
      controllers: [OtpController, ReportsController],
      providers: [OtpService, OtpStore, SessionsService, UsageService],
    };
  }
}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { AccountSettings } from './account-settings.entity';
import { SettingsController } from './settings.controller';
import { SettingsService } from './settings.service';

/** Destination controls and test settings (SPEC §10.4, §10.5): the settings API, which the Otp module consults on every send. */
@Module({
  imports: [TypeOrmModule.forFeature([AccountSettings]), AccountsModule],
  controllers: [SettingsController],
  providers: [SettingsService],
  exports: [SettingsService],
})
export class ProtectionModule {}

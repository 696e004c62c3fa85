import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { OtpEventAudience } from '../otp/otp-events';
import { WebhookAudience } from './webhook-audience';
import { WebhookEndpoint } from './webhook-endpoint.entity';

/**
 * The Webhooks module's answer to the Otp store's port, apart from the rest of the module so that
 * the Otp records can use it while the webhooks use the Otp records (the relay reads their
 * outbox). Global: the Otp module does not import the Webhooks module.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([WebhookEndpoint]), AccountsModule],
  providers: [WebhookAudience, { provide: OtpEventAudience, useExisting: WebhookAudience }],
  exports: [WebhookAudience, OtpEventAudience],
})
export class WebhookAudienceModule {}

import { Module } from '@nestjs/common';
import { DeliveryRecords } from '../channels/delivery-records';
import { OtpDeliveryRecords } from './otp-delivery-records';
import { OtpEventLog } from './otp-event-log';
import { OtpStore } from './otp.store';

/**
 * The one store of `otp_session` and its outbox, the delivery records the channels read and write
 * through it, and the outbox's read side for the webhooks. The store asks an OtpEventAudience
 * whether anyone receives an event; the Webhooks module provides it (globally, so this module
 * does not import it).
 */
@Module({
  providers: [OtpStore, OtpDeliveryRecords, OtpEventLog, { provide: DeliveryRecords, useExisting: OtpDeliveryRecords }],
  exports: [OtpStore, DeliveryRecords, OtpEventLog],
})
export class OtpRecordsModule {}

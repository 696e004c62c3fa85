import { Module } from '@nestjs/common';
import { DeliveryRecords } from '../channels/delivery-records';
import { OtpDeliveryRecords } from './otp-delivery-records';
import { OtpStore } from './otp.store';

/** The one store of `otp_session`, and the delivery records the channels read and write through it. */
@Module({
  providers: [OtpStore, OtpDeliveryRecords, { provide: DeliveryRecords, useExisting: OtpDeliveryRecords }],
  exports: [OtpStore, DeliveryRecords],
})
export class OtpRecordsModule {}

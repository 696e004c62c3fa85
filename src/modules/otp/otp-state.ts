import { ErrorKey } from '../../common/errors/error-catalogue';
import { MAX_VERIFY_ATTEMPTS, Otp, OtpStatus } from './otp.entity';

type OtpTimes = Pick<Otp, 'status' | 'dateExpires' | 'dateCanceled'>;

/**
 * The status as of `now`. Expiry and the end of a guard time are decided by the clock, not by a
 * sweep: a pending OTP past `dateExpires` is expired in every read, one past its guard time canceled.
 */
export function effectiveStatus(otp: OtpTimes, now: number): OtpStatus {
  if (otp.status !== 'pending') return otp.status;
  if (otp.dateCanceled !== null && otp.dateCanceled <= now && otp.dateCanceled <= otp.dateExpires) return 'canceled';
  if (otp.dateExpires <= now) return 'expired';
  return 'pending';
}

/**
 * Why an OTP cannot be verified, in the order SPEC §2 gives: verified, canceled, expired, locked.
 * An OTP whose every delivery failed was never received; it answers as canceled.
 */
export function verifyBlocker(otp: OtpTimes & Pick<Otp, 'attempts'>, now: number): ErrorKey | null {
  const status = effectiveStatus(otp, now);
  if (status === 'pending') return null;
  if (status === 'verified') return 'OTP_ALREADY_VERIFIED';
  if (status === 'canceled') return 'OTP_CANCELED';
  if (status === 'expired' || otp.dateExpires <= now) return 'OTP_EXPIRED';
  return otp.attempts >= MAX_VERIFY_ATTEMPTS ? 'OTP_LOCKED' : 'OTP_CANCELED';
}

/**
 * `effectiveStatus` in SQL, for filters, sorting and usage counts over a table alias `o`; `:now`
 * must be bound. Keep it in step with the function above.
 */
export const EFFECTIVE_STATUS_SQL = `(CASE
  WHEN o.status <> 'pending' THEN o.status
  WHEN o.dateCanceled IS NOT NULL AND o.dateCanceled <= :now AND o.dateCanceled <= o.dateExpires THEN 'canceled'
  WHEN o.dateExpires <= :now THEN 'expired'
  ELSE 'pending' END)`;

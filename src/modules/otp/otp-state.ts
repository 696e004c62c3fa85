import { ErrorKey } from '../../common/errors/error-catalogue';
import { MAX_VERIFY_ATTEMPTS, Otp, OtpStatus } from './otp.entity';

type OtpTimes = Pick<Otp, 'status' | 'dateExpires' | 'dateCanceled'>;

/**
 * The OTP lifecycle rules (SPEC §4), each written once as a TypeScript predicate and, beside it,
 * its SQL twin for the store, the sweeps, the session records and usage. The SQL reads the
 * columns of `otp_session` behind an optional alias (`o.`) and the time bound as `:now`. A parity
 * test runs every twin on SQLite and MariaDB over a table of rows and times.
 *
 * Expiry and the end of a guard time are decided by the clock, not by a sweep: a pending OTP past
 * `dateExpires` is expired in every read, one past its guard time canceled.
 */
export interface Rule<T> {
  test(otp: T, now: number): boolean;
  sql(alias?: string): string;
}

/** Still verifiable: pending, not expired, and no guard time that has ended. */
export const VERIFIABLE: Rule<OtpTimes> = {
  test: (otp, now) => otp.status === 'pending' && otp.dateExpires > now && (otp.dateCanceled === null || otp.dateCanceled > now),
  // `dateExpires + 0` keeps a planner without statistics (SQLite's) from taking the expiry sweep's
  // (status, dateExpires) index, which would scan every pending OTP, over the destination index.
  sql: (o = '') => `${o}status = 'pending' AND ${o}dateExpires + 0 > :now AND (${o}dateCanceled IS NULL OR ${o}dateCanceled > :now)`,
};

/** A guard time ended it: canceled at `dateCanceled`, which came before its own expiry. */
export const GUARD_ENDED: Rule<OtpTimes> = {
  test: (otp, now) => otp.status === 'pending' && otp.dateCanceled !== null && otp.dateCanceled <= now && otp.dateCanceled <= otp.dateExpires,
  sql: (o = '') => `${o}status = 'pending' AND ${o}dateCanceled IS NOT NULL AND ${o}dateCanceled <= :now AND ${o}dateCanceled <= ${o}dateExpires`,
};

/** Past its expiry while pending (and not ended earlier by a guard time). */
export const EXPIRED: Rule<OtpTimes> = {
  test: (otp, now) => otp.status === 'pending' && otp.dateExpires <= now && (otp.dateCanceled === null || otp.dateCanceled > otp.dateExpires),
  sql: (o = '') => `${o}status = 'pending' AND ${o}dateExpires <= :now AND (${o}dateCanceled IS NULL OR ${o}dateCanceled > ${o}dateExpires)`,
};

/** Locked by wrong codes (a stored fact: the clock plays no part). */
export const LOCKED: Rule<Pick<Otp, 'status' | 'attempts'>> = {
  test: (otp) => otp.status === 'failed' && otp.attempts >= MAX_VERIFY_ATTEMPTS,
  sql: (o = '') => `${o}status = 'failed' AND ${o}attempts >= ${MAX_VERIFY_ATTEMPTS}`,
};

/** The status as of `now`: the stored one, unless the clock has ended a pending OTP. */
export function effectiveStatus(otp: OtpTimes, now: number): OtpStatus {
  if (GUARD_ENDED.test(otp, now)) return 'canceled';
  if (EXPIRED.test(otp, now)) return 'expired';
  return otp.status;
}

export function effectiveStatusSql(o = ''): string {
  return `(CASE WHEN ${GUARD_ENDED.sql(o)} THEN 'canceled' WHEN ${EXPIRED.sql(o)} THEN 'expired' ELSE ${o}status END)`;
}

/**
 * Why an OTP cannot be verified, in the order SPEC §2 gives: verified, canceled, expired, locked.
 * An OTP whose every delivery failed was never received; it answers as canceled.
 */
export function verifyBlocker(otp: OtpTimes & Pick<Otp, 'attempts'>, now: number): ErrorKey | null {
  if (VERIFIABLE.test(otp, now)) return null;
  const status = effectiveStatus(otp, now);
  if (status === 'verified') return 'OTP_ALREADY_VERIFIED';
  if (status === 'canceled') return 'OTP_CANCELED';
  if (status === 'expired' || otp.dateExpires <= now) return 'OTP_EXPIRED';
  return LOCKED.test(otp, now) ? 'OTP_LOCKED' : 'OTP_CANCELED';
}

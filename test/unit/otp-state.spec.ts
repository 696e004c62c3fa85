import { OtpStatus } from '../../src/modules/otp/otp.entity';
import { effectiveStatus, EXPIRED, GUARD_ENDED, LOCKED, VERIFIABLE, verifyBlocker } from '../../src/modules/otp/otp-state';

/**
 * The lifecycle rules at their exact instants (SPEC §2, §4): an OTP expires at `dateExpires`
 * itself, a guard time ends at `dateCanceled` itself, each checked at the ms and 1 ms either side.
 */
describe('OTP lifecycle rules at their instants', () => {
  const T = 1_767_225_600_000;
  const otp = (status: OtpStatus, dateExpires: number, dateCanceled: number | null = null, attempts = 0) => ({ status, dateExpires, dateCanceled, attempts });

  it('a pending OTP is verifiable until 1 ms before dateExpires, expired at it and after', () => {
    const pending = otp('pending', T);
    expect([T - 1, T, T + 1].map((now) => effectiveStatus(pending, now))).toEqual(['pending', 'expired', 'expired']);
    expect([T - 1, T, T + 1].map((now) => VERIFIABLE.test(pending, now))).toEqual([true, false, false]);
    expect([T - 1, T, T + 1].map((now) => verifyBlocker(pending, now))).toEqual([null, 'OTP_EXPIRED', 'OTP_EXPIRED']);
  });

  it('a guard time ends at dateCanceled itself: verifiable 1 ms before, canceled at it and after', () => {
    const guarded = otp('pending', T + 60_000, T);
    expect([T - 1, T, T + 1].map((now) => effectiveStatus(guarded, now))).toEqual(['pending', 'canceled', 'canceled']);
    expect([T - 1, T, T + 1].map((now) => VERIFIABLE.test(guarded, now))).toEqual([true, false, false]);
    expect([T - 1, T, T + 1].map((now) => verifyBlocker(guarded, now))).toEqual([null, 'OTP_CANCELED', 'OTP_CANCELED']);
    // Long after, past its own expiry too, it stays canceled: the guard time ended it first.
    expect(effectiveStatus(guarded, T + 120_000)).toBe('canceled');
    expect(verifyBlocker(guarded, T + 120_000)).toBe('OTP_CANCELED');
  });

  it('a guard time that outlasts the OTP\'s own expiry leaves it expired, never canceled', () => {
    const outlasting = otp('pending', T, T + 30_000);
    expect([T - 1, T, T + 1, T + 30_000, T + 30_001].map((now) => effectiveStatus(outlasting, now))).toEqual(['pending', 'expired', 'expired', 'expired', 'expired']);
    expect(verifyBlocker(outlasting, T + 30_000)).toBe('OTP_EXPIRED');
    expect(GUARD_ENDED.test(outlasting, T + 30_000)).toBe(false);
    // A guard time that ends at the expiry instant itself ended it first: canceled.
    const together = otp('pending', T, T);
    expect([T - 1, T, T + 1].map((now) => effectiveStatus(together, now))).toEqual(['pending', 'canceled', 'canceled']);
    expect(EXPIRED.test(together, T)).toBe(false);
  });

  it('leaves stored final states as they are, whatever the clock', () => {
    for (const status of ['verified', 'canceled', 'expired', 'failed'] as const) {
      expect(effectiveStatus(otp(status, T, T - 1), T + 1)).toBe(status);
      expect(effectiveStatus(otp(status, T), T - 1)).toBe(status);
      expect(VERIFIABLE.test(otp(status, T), T - 1)).toBe(false);
    }
  });

  it('answers in the order verified 471, canceled 473, expired 472, locked 475', () => {
    expect(verifyBlocker(otp('verified', T, null), T + 1)).toBe('OTP_ALREADY_VERIFIED');
    expect(verifyBlocker(otp('canceled', T, T - 5), T + 1)).toBe('OTP_CANCELED');
    expect(verifyBlocker(otp('expired', T), T + 1)).toBe('OTP_EXPIRED');
    // Written expired by a process whose clock runs a little ahead: expired all the same.
    expect(verifyBlocker(otp('expired', T), T - 1)).toBe('OTP_EXPIRED');
    // Locked by five wrong codes: 475 while it would still be valid, 472 from its expiry on.
    const locked = otp('failed', T, null, 5);
    expect(LOCKED.test(locked, T)).toBe(true);
    expect([T - 1, T, T + 1].map((now) => verifyBlocker(locked, now))).toEqual(['OTP_LOCKED', 'OTP_EXPIRED', 'OTP_EXPIRED']);
    // Four wrong codes do not lock; a failed OTP below the limit is one whose every delivery failed.
    expect(LOCKED.test(otp('failed', T, null, 4), T)).toBe(false);
    expect(LOCKED.test(otp('pending', T, null, 5), T)).toBe(false);
    const undelivered = otp('failed', T, null, 0);
    expect([T - 1, T, T + 1].map((now) => verifyBlocker(undelivered, now))).toEqual(['OTP_CANCELED', 'OTP_EXPIRED', 'OTP_EXPIRED']);
    expect(verifyBlocker(otp('failed', T, null, 4), T - 1)).toBe('OTP_CANCELED');
  });
});

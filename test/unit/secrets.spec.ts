import { Secrets } from '../../src/infra/secrets/secrets';

describe('code and token hashes', () => {
  const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
  const requestId = 'OTP0123456789abcdef0123456789abcdef';
  // Made in each test, so that mutation testing sees the derivation as covered by these tests.
  let secrets: Secrets;
  beforeEach(() => (secrets = new Secrets([SECRET])));

  it('are HMAC-SHA-256 under a key derived for each use (known answers)', () => {
    // HKDF-SHA-256(secret, salt "otpgate", info "otp-code"), then HMAC over "<requestId>:<code>".
    expect(secrets.hashCode(requestId, '012345')).toBe('03511716a3edfe292c4f682224f8d1c46caf6ac4621331e96815d1ea0e51d08b');
    // HKDF info "auth-token", HMAC over the token.
    expect(secrets.hashToken('token-1')).toBe('e9bac8c2bc41ac33f43789f50f20037a3a519bf243a1a310f21065303048966b');
    // AES-256-GCM under HKDF info "seal", the request id as additional data: iv.tag.ciphertext.
    expect(secrets.open('BwcHBwcHBwcHBwcH.0TgeqZIciu6aS46B_zO44w.XldKg09A', requestId)).toBe('012345');
  });

  it('match the code they were made of, for the request they were made for', () => {
    const stored = secrets.hashCode(requestId, '012345');
    expect(secrets.codeMatches(requestId, '012345', stored)).toBe(true);
    expect(secrets.codeMatches(requestId, '12345', stored)).toBe(false);
    expect(secrets.codeMatches('OTPffffffffffffffffffffffffffffffff', '012345', stored)).toBe(false);
  });

  it('never match, and never throw, for a stored hash that is malformed, short or empty', () => {
    const stored = secrets.hashCode(requestId, '012345');
    for (const malformed of ['', 'zz', stored.slice(0, 62), `${stored}00`, stored.toUpperCase().replace(/[0-9]/g, 'g')]) {
      expect(secrets.codeMatches(requestId, '012345', malformed)).toBe(false);
      expect(secrets.tokenMatches('token-1', malformed)).toBeNull();
    }
    expect(Secrets.sameHash('', '')).toBe(false);
    expect(Secrets.sameHash('00', '00')).toBe(true);
    expect(Secrets.sameHash('00', '0000')).toBe(false);
    expect(Secrets.sameHash('abcd', 'abce')).toBe(false);
  });

  it('check under every secret of a rotation, newest first', () => {
    const older = new Secrets(['o'.repeat(40)]);
    const rotated = new Secrets(['n'.repeat(40), 'o'.repeat(40)]);
    expect(rotated.codeMatches(requestId, '4321', older.hashCode(requestId, '4321'))).toBe(true);
    expect(rotated.codeHashes(requestId, '4321')).toEqual([rotated.hashCode(requestId, '4321'), older.hashCode(requestId, '4321')]);
    expect(rotated.tokenMatches('t', older.hashToken('t'))).toBe('older');
    expect(rotated.tokenMatches('t', rotated.hashToken('t'))).toBe('current');
    expect(rotated.tokenMatches('u', rotated.hashToken('t'))).toBeNull();
    expect(rotated.hashCode(requestId, '4321')).toBe(new Secrets(['n'.repeat(40)]).hashCode(requestId, '4321'));
    expect(() => new Secrets([])).toThrow('Secrets needs at least one secret');
  });
});

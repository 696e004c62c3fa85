import { Secrets } from '../../src/infra/secrets/secrets';

describe('sealed codes', () => {
  const secrets = new Secrets(['s'.repeat(40)]);

  it('open only for the OTP they were sealed for', () => {
    const sealed = secrets.seal('123456', 'OTPaaaa');
    expect(secrets.open(sealed, 'OTPaaaa')).toBe('123456');
    // A sealed code copied onto another OTP's row (or job) does not open there.
    expect(() => secrets.open(sealed, 'OTPbbbb')).toThrow('sealed value opens under none of the secrets');
  });

  it('open under an older secret after a rotation, and not once it is dropped', () => {
    const sealed = secrets.seal('654321', 'OTPcccc');
    expect(new Secrets(['n'.repeat(40), 's'.repeat(40)]).open(sealed, 'OTPcccc')).toBe('654321');
    expect(() => new Secrets(['n'.repeat(40)]).open(sealed, 'OTPcccc')).toThrow();
  });
});

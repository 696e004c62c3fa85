import { normalizePhone } from '../../src/common/destination';
import { phoneFacts } from '../../src/common/phone-numbers';

describe('phone facts (libphonenumber, max metadata)', () => {
  it.each([
    ['+1 (205) 555-0100', { country: 'US', numberType: 'FIXED_LINE_OR_MOBILE', prefix: '+1205' }],
    ['0044 7400 123456', { country: 'GB', numberType: 'MOBILE', prefix: '+44740' }],
    ['+44 70 1234 5678', { country: 'GB', numberType: 'PERSONAL_NUMBER', prefix: '+44701' }],
    ['+1 900 555 1234', { country: 'US', numberType: 'PREMIUM_RATE', prefix: '+1900' }],
    ['819012345678', { country: 'JP', numberType: 'MOBILE', prefix: '+81901' }],
    // International networks: a calling code, no country.
    ['+882 3456789', { country: null, numberType: null, prefix: '+882345' }],
    // No such calling code: the first four digits stand in for the prefix.
    ['+999 1234 5678', { country: null, numberType: null, prefix: '+9991' }],
  ])('%s', (input, facts) => {
    expect(phoneFacts(normalizePhone(input)!)).toEqual(facts);
  });

  it('leaves the acceptance rule as it was: any 8 to 15 digits are a destination, placed or not', () => {
    expect(normalizePhone('12345678')).toBe('12345678');
    expect(phoneFacts('12345678')).toEqual({ country: null, numberType: null, prefix: '+1234' });
  });
});

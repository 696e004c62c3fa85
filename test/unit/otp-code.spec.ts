import { randomCode } from '../../src/modules/otp/otp-code';

describe('OTP codes', () => {
  it('draw one of 10^length values and keep its leading zeros', () => {
    const draws: [number, number][] = [];
    const drawing = (value: number) => (min: number, max: number) => {
      draws.push([min, max]);
      return value;
    };
    expect(randomCode(6, drawing(12_345))).toBe('012345');
    expect(randomCode(4, drawing(0))).toBe('0000');
    expect(randomCode(10, drawing(9_999_999_999))).toBe('9999999999');
    expect(randomCode(8, drawing(7))).toBe('00000007');
    expect(draws).toEqual([
      [0, 1_000_000],
      [0, 10_000],
      [0, 10_000_000_000],
      [0, 100_000_000],
    ]);
  });

  it('come from crypto.randomInt by default: length digits, every digit seen', () => {
    const codes = Array.from({ length: 200 }, () => randomCode(6));
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(new Set(codes.join('')).size).toBe(10);
  });
});

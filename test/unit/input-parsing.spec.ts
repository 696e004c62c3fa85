import { normalizeEmail, normalizeLimitKey, normalizePhone } from '../../src/common/destination';
import { AppError } from '../../src/common/errors/app-error';
import { parseTimeFilter } from '../../src/common/time';
import { parseBuckets } from '../../src/modules/limits/buckets';

describe('phone numbers', () => {
  it.each(['+1 (205) 555-0100', '0012055550100', '12055550100', '1.205.555.0100', ' +12055550100 '])('keys %p as 12055550100', (spelling) => {
    expect(normalizePhone(spelling)).toBe('12055550100');
  });

  it.each(['1234567', '1234567890123456', '+1 205 555 010O', '', '++12055550100', 'abc'])('refuses %p', (spelling) => {
    expect(normalizePhone(spelling)).toBeUndefined();
  });
});

describe('limit key values', () => {
  it('keys phone spellings and email case as one, and keeps other values as they are', () => {
    expect(normalizeLimitKey('+1 (205) 555-0100')).toBe('12055550100');
    expect(normalizeLimitKey('User@Example.COM')).toBe('user@example.com');
    expect(normalizeLimitKey('aabbcd')).toBe('aabbcd');
    expect(normalizeLimitKey('10.120.30.40')).toBe('10.120.30.40');
    expect(normalizeEmail('not an email')).toBeUndefined();
  });
});

describe('time filters', () => {
  it('reads dates as midnight UTC and date-times as UTC unless an offset is given', () => {
    expect(parseTimeFilter('startTime', '2018-10-05')).toBe(Date.UTC(2018, 9, 5));
    expect(parseTimeFilter('startTime', '2018-10-05T22:45:32')).toBe(Date.UTC(2018, 9, 5, 22, 45, 32));
    expect(parseTimeFilter('startTime', '2018-10-05T22:45:32.5Z')).toBe(Date.UTC(2018, 9, 5, 22, 45, 32, 500));
    expect(parseTimeFilter('startTime', '2018-10-05T22:45:32+02:00')).toBe(Date.UTC(2018, 9, 5, 20, 45, 32));
    expect(parseTimeFilter('startTime', undefined)).toBeUndefined();
  });

  it.each(['yesterday', '2018-13-01', '2021-02-30', '2018-10-05T25:00:00', '1538780732'])('refuses %p with 481', (value) => {
    expect(() => parseTimeFilter('endTime', value)).toThrow(AppError);
    try {
      parseTimeFilter('endTime', value);
    } catch (error) {
      expect((error as AppError).code).toBe(481);
      expect((error as AppError).message).toMatch(/^Invalid parameter endTime: /);
    }
  });
});

describe('buckets', () => {
  const seedString = '[{ "name":"bucket1", "max":"1", "interval":"30"},{ "name":"bucket2", "max":"2", "interval":"300"}]';

  it('keeps a string byte for byte and reads numbers from strings', () => {
    expect(parseBuckets(seedString)).toEqual({
      raw: seedString,
      windows: [
        { max: 1, intervalMs: 30_000 },
        { max: 2, intervalMs: 300_000 },
      ],
    });
  });

  it('writes an array as the JSON string the seed shows', () => {
    expect(parseBuckets([{ name: 'Min bucket', max: '1', interval: '10' }]).raw).toBe('[{"name":"Min bucket","max":"1","interval":"10"}]');
    expect(parseBuckets([{ name: 'b', max: 3, interval: 60 }]).windows).toEqual([{ max: 3, intervalMs: 60_000 }]);
  });

  it.each([
    ['not JSON', '[{"name":'],
    ['no bucket', []],
    ['three buckets', [1, 2, 3].map((i) => ({ name: `b${i}`, max: 1, interval: 10 }))],
    ['max 0', [{ name: 'b', max: 0, interval: 10 }]],
    ['negative max', [{ name: 'b', max: '-1', interval: 10 }]],
    ['non-numeric interval', [{ name: 'b', max: 1, interval: 'ten' }]],
    ['fractional interval', [{ name: 'b', max: 1, interval: 1.5 }]],
    ['no name', [{ max: 1, interval: 10 }]],
    ['an object', { name: 'b', max: 1, interval: 10 }],
  ])('refuses %s with 481 on buckets', (_, value) => {
    expect(() => parseBuckets(value)).toThrow(/^Invalid parameter buckets: /);
  });
});

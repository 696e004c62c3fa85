import { AppError } from './errors/app-error';

/** Response timestamps: UTC with milliseconds and a `+0000` offset, as the seed shows them. */
export function formatTime(ms: number): string;
export function formatTime(ms: number | null | undefined): string | null;
export function formatTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString().replace('Z', '+0000');
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A time filter: ISO-8601 date (`2018-10-05`, midnight UTC) or date-time (`2018-10-05T22:45:32`,
 * UTC unless an offset is given). Anything else is a 481 on that parameter.
 */
export function parseTimeFilter(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const match = typeof value === 'string' ? ISO_DATE.exec(value.trim()) : null;
  if (!match) throw AppError.invalid(name, 'expected an ISO-8601 date or date-time such as 2018-10-05T22:45:32');
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = match;
  const offset = zone === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const text = `${y}-${mo}-${d}T${h}:${mi}:${s}${frac}${offset}`;
  const ms = Date.parse(text);
  // Date.parse rolls 2021-02-30 over to March; a round trip through the fields refuses it.
  if (Number.isNaN(ms) || !sameCalendarDay(ms, zone === 'Z' ? `${y}-${mo}-${d}` : undefined)) {
    throw AppError.invalid(name, 'not a valid date');
  }
  return ms;
}

function sameCalendarDay(ms: number, utcDay: string | undefined): boolean {
  return utcDay === undefined || new Date(ms).toISOString().startsWith(utcDay);
}

export function parseTimeRange(query: { startTime?: unknown; endTime?: unknown }): { start?: number; end?: number } {
  const start = parseTimeFilter('startTime', query.startTime);
  const end = parseTimeFilter('endTime', query.endTime);
  if (start !== undefined && end !== undefined && end < start) throw AppError.invalid('endTime', 'must not be before startTime');
  return { start, end };
}

export const DAY_MS = 86_400_000;

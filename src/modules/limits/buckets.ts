import { AppError } from '../../common/errors/app-error';
import { WindowBucket } from './limiter/rate-limiter';

export const MAX_BUCKET_SENDS = 100_000;
export const MAX_BUCKET_INTERVAL_S = 366 * 86_400;

export interface Buckets {
  /** As the seed shows them in responses: a JSON string, byte for byte as given when given as one. */
  raw: string;
  windows: WindowBucket[];
}

/**
 * `buckets` arrives as a JSON array or as a string holding one (the seed shows both), with
 * `max` and `interval` as numbers or numeric strings. 1–2 buckets of positive integers.
 */
export function parseBuckets(value: unknown): Buckets {
  let list: unknown = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      throw invalid('must be a JSON array of buckets');
    }
  }
  if (!Array.isArray(list)) throw invalid('must be a JSON array of buckets');
  if (list.length < 1 || list.length > 2) throw invalid('must hold 1 or 2 buckets');
  const windows = list.map((bucket: unknown, i) => {
    if (!bucket || typeof bucket !== 'object') throw invalid(`bucket ${i + 1} must be an object with name, max and interval`);
    const { name, max, interval } = bucket as Record<string, unknown>;
    if (typeof name !== 'string' || !name.trim() || name.length > 64) throw invalid(`bucket ${i + 1} needs a name of 1 to 64 characters`);
    return {
      max: positiveInt(max, `bucket ${i + 1} max`, MAX_BUCKET_SENDS),
      intervalMs: positiveInt(interval, `bucket ${i + 1} interval`, MAX_BUCKET_INTERVAL_S) * 1000,
    };
  });
  const raw =
    typeof value === 'string'
      ? value
      : JSON.stringify(list.map((bucket) => {
          const { name, max, interval } = bucket as Record<string, unknown>;
          return { name, max, interval };
        }));
  return { raw, windows };
}

/** The stored form, already validated on the way in. */
export function storedWindows(raw: string): WindowBucket[] {
  return parseBuckets(raw).windows;
}

function positiveInt(value: unknown, what: string, upTo: number): number {
  const number = typeof value === 'string' && /^\s*\d{1,10}\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > upTo) {
    throw invalid(`${what} must be an integer from 1 to ${upTo}`);
  }
  return number;
}

function invalid(why: string): AppError {
  return AppError.invalid('buckets', why);
}

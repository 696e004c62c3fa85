import { AppError } from '../../common/errors/app-error';
import { Refused } from '../../common/validation';
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
export function readBuckets(value: unknown): Buckets | Refused {
  let list: unknown = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      return new Refused('must be a JSON array of buckets');
    }
  }
  if (!Array.isArray(list)) return new Refused('must be a JSON array of buckets');
  if (list.length < 1 || list.length > 2) return new Refused('must hold 1 or 2 buckets');
  const windows: WindowBucket[] = [];
  for (const [i, bucket] of (list as unknown[]).entries()) {
    if (!bucket || typeof bucket !== 'object') return new Refused(`bucket ${i + 1} must be an object with name, max and interval`);
    const { name, max, interval } = bucket as Record<string, unknown>;
    if (typeof name !== 'string' || !name.trim() || name.length > 64) return new Refused(`bucket ${i + 1} needs a name of 1 to 64 characters`);
    const sends = positiveInt(max, MAX_BUCKET_SENDS);
    if (sends === undefined) return new Refused(`bucket ${i + 1} max must be an integer from 1 to ${MAX_BUCKET_SENDS}`);
    const seconds = positiveInt(interval, MAX_BUCKET_INTERVAL_S);
    if (seconds === undefined) return new Refused(`bucket ${i + 1} interval must be an integer from 1 to ${MAX_BUCKET_INTERVAL_S}`);
    windows.push({ max: sends, intervalMs: seconds * 1000 });
  }
  const raw =
    typeof value === 'string'
      ? value
      : JSON.stringify(list.map((bucket) => {
          const { name, max, interval } = bucket as Record<string, unknown>;
          return { name, max, interval };
        }));
  return { raw, windows };
}

/** `readBuckets` for a value outside a DTO: a refusal is the 481 on `buckets`. */
export function parseBuckets(value: unknown): Buckets {
  const buckets = readBuckets(value);
  if (buckets instanceof Refused) throw AppError.invalid('buckets', buckets.why);
  return buckets;
}

/** The stored form, already validated on the way in. */
export function storedWindows(raw: string): WindowBucket[] {
  return parseBuckets(raw).windows;
}

function positiveInt(value: unknown, upTo: number): number | undefined {
  const number = typeof value === 'string' && /^\s*\d{1,10}\s*$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) && number >= 1 && number <= upTo ? number : undefined;
}

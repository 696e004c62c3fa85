import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * Bytes from the CSPRNG, served from a pool refilled 4 kB at a time: a send needs three small
 * random values (id, IV, limiter entry) and one crypto call each showed in profiles (Node pools
 * the entropy of `randomUUID` the same way). Every byte is handed out once; none of these values is a secret.
 */
export function randomBytesPooled(size: number): Buffer {
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  offset += size;
  return bytes;
}

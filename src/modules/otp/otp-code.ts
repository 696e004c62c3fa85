import { randomInt } from 'node:crypto';

/** Draws an integer in [min, max) from a CSPRNG; `crypto.randomInt` in production. */
export type DrawInt = (min: number, max: number) => number;

/** A code of `length` digits (SPEC §4 step 3), leading zeros kept: 10^length codes, all equally likely. */
export function randomCode(length: number, draw: DrawInt = randomInt): string {
  return String(draw(0, 10 ** length)).padStart(length, '0');
}

import { createHash, randomInt } from 'node:crypto';

/** Lower-case letters and digits without look-alikes (no i, l, o, 0, 1): easy to type on a phone. */
export const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
export const LENGTH = 16;
/** 16 symbols from 31: about 79 bits. */
export const ENTROPY_BITS = LENGTH * Math.log2(ALPHABET.length);

const SHAPE = new RegExp(`^[${ALPHABET}]{${LENGTH}}$`);

/** generateSecret draws a client-specific password from a secure generator. */
export function generateSecret(): string {
  let out = '';
  for (let i = 0; i < LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** normalizeSecret drops spaces and case, which clients and people add when pasting or typing. */
export function normalizeSecret(input: string): string {
  return input.replace(/[\s-]+/g, '').toLowerCase();
}

/** looksLikeAppPassword tells whether a (normalized) secret has the shape of a client-specific password. */
export function looksLikeAppPassword(secret: string): boolean {
  return SHAPE.test(secret);
}

/** selectorOf is the stored lookup key: 32 bits of SHA-256, enough to find the one row, too few to help guessing. */
export function selectorOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 8);
}

/** groups shows a secret as four groups of four, as the once-only page prints it. */
export function groups(secret: string): string {
  return secret.match(/.{1,4}/g)!.join(' ');
}

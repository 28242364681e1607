import { createHmac, randomInt } from 'node:crypto';

export const BACKUP_CODE_COUNT = 10;
/** Alphabet of 32 lower-case characters without look-alikes (no 0, 1, l, o): 5 bits per character. */
export const BACKUP_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
/** BACKUP_CODE_LENGTH characters of 5 bits: 65 bits, beyond guessing even without a lockout. */
const BACKUP_CODE_LENGTH = 13;

// What people type or paste between the groups: spaces (also the no-break kind
// a page may copy) and dashes (also the Unicode ones phone keyboards substitute).
const SEPARATORS = new Set([' ', '\t', '\u00a0', '-', '\u2010', '\u2011', '\u2012', '\u2013']);
// Longer than any spacing of a code a person would type: refused without looking further.
const MAX_TYPED = 64;

/** newBackupCodes returns BACKUP_CODE_COUNT distinct codes of 13 random characters, formatted "xxxx-xxxx-xxxx-x". */
export function newBackupCodes(): string[] {
  const codes = new Set<string>();
  while (codes.size < BACKUP_CODE_COUNT) codes.add(newBackupCode());
  return [...codes];
}

/** newBackupCode returns one code of 13 random characters, formatted "xxxx-xxxx-xxxx-x" (also used for access passes). */
export function newBackupCode(): string {
  let code = '';
  for (let i = 0; i < BACKUP_CODE_LENGTH; i++) code += BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)];
  return formatted(code);
}

/** formatted writes a normalized code in groups of four joined by dashes. */
function formatted(code: string): string {
  const groups: string[] = [];
  for (let i = 0; i < code.length; i += 4) groups.push(code.slice(i, i + 4));
  return groups.join('-');
}

/**
 * normalizeBackupCode lower-cases and drops spaces and dashes; returns null
 * unless exactly 13 characters of the alphabet remain. One pass over at most
 * MAX_TYPED characters, whatever the input.
 */
export function normalizeBackupCode(typed: string): string | null {
  if (typeof typed !== 'string' || typed.length > MAX_TYPED) return null;
  let out = '';
  for (const ch of typed) {
    if (SEPARATORS.has(ch)) continue;
    // Only ASCII letters are lower-cased: toLowerCase would turn the Kelvin sign into 'k'.
    const c = ch >= 'A' && ch <= 'Z' ? ch.toLowerCase() : ch;
    if (!BACKUP_ALPHABET.includes(c)) return null;
    out += c;
  }
  return out.length === BACKUP_CODE_LENGTH ? out : null;
}

/** hashBackupCode is what is stored for a normalized code: HMAC-SHA256(key, normalized) as base64url. */
export function hashBackupCode(key: Buffer, normalized: string): string {
  return createHmac('sha256', key).update(normalized, 'utf8').digest('base64url');
}

/** looksLikeBackupCode tells a typed value shaped like a backup code (after normalizing) from a 6-digit code. */
export function looksLikeBackupCode(typed: string): boolean {
  return normalizeBackupCode(typed) !== null;
}

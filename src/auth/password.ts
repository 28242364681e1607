import argon2 from 'argon2';
import { dictionary } from '@zxcvbn-ts/language-common';

/** OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane. Hashing runs on libuv's pool, off the event loop. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

let commonPasswords: Set<string> | undefined;

/** PasswordProblem names why a new password is refused; views translate it. */
export type PasswordProblem = 'password.too_short' | 'password.too_long' | 'password.common';

/**
 * checkNewPassword applies NIST 800-63B: length by code points, no
 * composition rules, and no password from the shipped list of common ones.
 */
export function checkNewPassword(password: string, email?: string): PasswordProblem | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return 'password.too_short';
  if (length > PASSWORD_MAX) return 'password.too_long';
  commonPasswords ??= new Set(dictionary['passwords-common'] as string[]);
  const lower = password.toLowerCase();
  if (commonPasswords.has(lower)) return 'password.common';
  if (email && (lower === email.toLowerCase() || lower === email.split('@')[0]!.toLowerCase())) return 'password.common';
  return null;
}

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/**
 * verifyPassword checks a password against a stored hash. With no hash (an
 * unknown user) it verifies against a dummy so the answer takes as long.
 */
export async function verifyPassword(hash: string | undefined, password: string): Promise<boolean> {
  dummyHash ??= hashPassword('postern-dummy-password-for-timing');
  const target = hash ?? (await dummyHash);
  let ok = false;
  try {
    ok = await argon2.verify(target, password);
  } catch {
    ok = false;
  }
  return ok && hash !== undefined;
}

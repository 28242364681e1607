import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

/** hasMailauthSecret compares the caller's X-Mailauth-Secret with ours in constant time. */
export function hasMailauthSecret(req: Request, secret: string | undefined): boolean {
  return mailauthSecretMatches(req.get('x-mailauth-secret'), secret);
}

/** mailauthSecretMatches compares a presented X-Mailauth-Secret with ours in constant time. */
export function mailauthSecretMatches(given: string | undefined, secret: string | undefined): boolean {
  if (!secret || !given) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

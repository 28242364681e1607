import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

/** hasMailauthSecret compares the caller's X-Mailauth-Secret with ours in constant time. */
export function hasMailauthSecret(req: Request, secret: string | undefined): boolean {
  const given = req.get('x-mailauth-secret');
  if (!secret || !given) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

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

/**
 * basicAuthPassword reads the password of an `Authorization: Basic` header,
 * or undefined. Dovecot's event exporter can add no header of its own: it
 * sends the user info of the URL it posts to (http://postern:<secret>@…)
 * this way.
 */
export function basicAuthPassword(header: string | undefined): string | undefined {
  if (!header || header.length > 1024 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

import { isIP } from 'node:net';
import type { MailAuthRequest } from './authenticate.ts';
import { LoginCache } from './cache.ts';

/** header reads one of nginx's request headers, which carry the credentials URL-escaped. */
function header(get: (name: string) => string | undefined, name: string): string {
  const raw = get(name) ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * nginxRequest reads the login nginx asks about from its `auth_http`
 * headers; undefined for a protocol or method Postern does not take. Kept
 * free of the database so that the mail-login front's thread reads requests
 * exactly as the main thread does.
 */
export function nginxRequest(get: (name: string) => string | undefined, remoteAddress?: string): MailAuthRequest | undefined {
  const protocol = (get('auth-protocol') ?? '').toLowerCase();
  const method = (get('auth-method') ?? '').toLowerCase();
  if ((protocol !== 'imap' && protocol !== 'smtp') || (method !== 'plain' && method !== 'login')) return undefined;
  return {
    user: header(get, 'auth-user'),
    secret: header(get, 'auth-pass'),
    protocol,
    clientIp: get('client-ip') ?? remoteAddress ?? 'unknown',
    attempt: Number(get('auth-login-attempt') ?? '1') || 1,
  };
}

/** canonical is a login as Postern decides and caches it: the name trimmed and lower-cased, an address that is no IP read as unknown. */
export function canonical(req: MailAuthRequest): MailAuthRequest {
  return { ...req, user: req.user.trim().toLowerCase(), clientIp: isIP(req.clientIp) ? req.clientIp : 'unknown' };
}

/** loginKey names a login in the cache (see LoginCache.key). */
export function loginKey(req: MailAuthRequest): string {
  const c = canonical(req);
  return LoginCache.key(c.user, c.secret, c.protocol, c.clientIp);
}

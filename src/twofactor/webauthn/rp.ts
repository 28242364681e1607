import { isIP } from 'node:net';

/**
 * RelyingParty is who the browser's authenticators make keys for: the host
 * of PUBLIC_URL (the RP id) and the origin pages are served from. WebAuthn
 * works only in a secure context, so PUBLIC_URL must be https, or http on
 * localhost (a browser treats that as secure); an IP address cannot be an
 * RP id at all.
 */
export type RelyingParty =
  | { ok: true; id: string; origin: string; name: string }
  | { ok: false; reason: 'unset' | 'insecure' | 'ip' | 'invalid' };

/** relyingParty derives the RP id and origin from PUBLIC_URL, or says why security keys cannot be offered. */
export function relyingParty(publicUrl: string | undefined, name: string): RelyingParty {
  if (!publicUrl) return { ok: false, reason: 'unset' };
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  const host = url.hostname.toLowerCase();
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare)) return { ok: false, reason: 'ip' };
  if (url.protocol === 'https:') return { ok: true, id: host, origin: url.origin, name };
  if (url.protocol === 'http:' && (host === 'localhost' || host.endsWith('.localhost'))) return { ok: true, id: host, origin: url.origin, name };
  return { ok: false, reason: url.protocol === 'http:' ? 'insecure' : 'invalid' };
}

/**
 * counterAccepted is the sign-counter rule: an authenticator that keeps a
 * counter must show a larger one each time; one whose counter went back (or
 * stood still) may be a copy of the key. Authenticators that keep none
 * report zero every time, and are accepted.
 */
export function counterAccepted(stored: number, presented: number): boolean {
  if (stored === 0 && presented === 0) return true;
  return presented > stored;
}

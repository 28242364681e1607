import type { Request } from 'express';
import type { SecretBox } from '../crypto/secret-box.ts';

/**
 * A secret shown once rides from the POST that made it to the GET that shows
 * it (POST-redirect-GET), sealed in the session and dropped once shown: a
 * reload or the back button can neither show it again nor make another one.
 */
export interface Reveal {
  kind: 'apppassword' | 'backup_codes' | 'admin_secret';
  sealed: string;
}

/** reveal seals `payload` into the session for the next page of kind `kind`. */
export function reveal(req: Request, box: SecretBox, kind: Reveal['kind'], payload: unknown): void {
  req.session.reveal = { kind, sealed: box.seal(JSON.stringify(payload)) };
}

/** takeReveal returns what waits to be shown on this page, once. */
export function takeReveal<T>(req: Request, box: SecretBox, kind: Reveal['kind']): T | undefined {
  const r = req.session.reveal;
  if (!r || r.kind !== kind) return undefined;
  delete req.session.reveal;
  try {
    return JSON.parse(box.openText(r.sealed)) as T;
  } catch {
    return undefined;
  }
}

declare module 'express-session' {
  interface SessionData {
    reveal?: Reveal;
  }
}

import type { SessionData } from 'express-session';
import type { SecretBox } from '../../crypto/secret-box.ts';
import { newTotpSecret } from './totp.ts';

/** PENDING_TOTP_MS is how long a secret shown as a QR code waits for its first code before a reload shows a new one. */
export const PENDING_TOTP_MS = 15 * 60_000;

/**
 * PendingTotp is the secret of an authenticator being set up: made when the
 * QR code is first shown, kept (sealed) in the session until a code from the
 * app confirms it. Nothing is written to the database before that.
 */
export interface PendingTotp {
  sealed: string;
  at: number;
}

declare module 'express-session' {
  interface SessionData {
    pendingTotp?: PendingTotp;
  }
}

/**
 * pendingSecret returns the secret this session is setting up, or undefined
 * when there is none, it is older than PENDING_TOTP_MS, or it no longer
 * opens (the secrets key was replaced).
 */
export function pendingSecret(session: Partial<SessionData>, box: SecretBox, now = Date.now()): string | undefined {
  const pending = session.pendingTotp;
  if (!pending || now - pending.at >= PENDING_TOTP_MS || now < pending.at) return undefined;
  try {
    return box.openText(pending.sealed);
  } catch {
    return undefined;
  }
}

/**
 * startPending returns the pending secret, making a new one when there is
 * none: a reload shows the same QR code, so a person who already scanned it
 * is not left with a code that never works.
 */
export function startPending(session: Partial<SessionData>, box: SecretBox, now = Date.now()): string {
  const existing = pendingSecret(session, box, now);
  if (existing) return existing;
  const secret = newTotpSecret();
  session.pendingTotp = { sealed: box.seal(secret), at: now };
  return secret;
}

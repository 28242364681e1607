import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SessionData } from 'express-session';

/** CHALLENGE_TTL_MS is how long a challenge waits for the browser's answer: the browser's own timeout, no longer. */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/** What a session's challenge was issued for: adding a key, the second step, or a step-up (a passkey sign-in's is sealed, below). */
export type ChallengePurpose = 'register' | 'login' | 'stepup';

/**
 * PendingChallenge is the one WebAuthn challenge a session waits on. It is
 * made by the server and kept only in the server-side session, so a
 * challenge from the form is never trusted, and one issued to one session
 * answers nothing in another.
 */
export interface PendingChallenge {
  challenge: string;
  purpose: ChallengePurpose;
  at: number;
  /** The account it was issued for. */
  userId?: string;
}

declare module 'express-session' {
  interface SessionData {
    webauthn?: PendingChallenge;
  }
}

/** keepChallenge stores a challenge the server just made for this session, replacing any earlier one. */
export function keepChallenge(session: Partial<SessionData>, purpose: ChallengePurpose, challenge: string, userId?: string, now = Date.now()): void {
  session.webauthn = { challenge, purpose, at: now, ...(userId ? { userId } : {}) };
}

/**
 * takeChallenge removes the session's challenge and returns it when it was
 * issued for this purpose and account within CHALLENGE_TTL_MS; any answer
 * uses it up, right or wrong.
 */
export function takeChallenge(session: Partial<SessionData>, purpose: ChallengePurpose, userId?: string, now = Date.now()): string | undefined {
  const pending = session.webauthn;
  delete session.webauthn;
  if (!pending || pending.purpose !== purpose || pending.userId !== userId) return undefined;
  if (now - pending.at >= CHALLENGE_TTL_MS || now < pending.at) return undefined;
  return pending.challenge;
}

/**
 * A passkey sign-in's challenge is kept by the browser, sealed, rather than
 * in a server-side session: a visitor who has not signed in yet has none,
 * and making one for every request for a challenge would let strangers fill
 * the session table. The seal is an HMAC under a key derived from the
 * session secret; the factor still takes each challenge only once
 * (webauthn_challenges_used), so a copied cookie answers nothing twice.
 */
export function sealChallenge(key: Buffer, challenge: string, now = Date.now()): string {
  return `${challenge}.${now}.${macOf(key, challenge, now)}`;
}

/** openChallenge returns the challenge a sealed value holds, when the seal is ours and under CHALLENGE_TTL_MS old. */
export function openChallenge(key: Buffer, sealed: string | undefined, now = Date.now()): string | undefined {
  if (!sealed || sealed.length > 512) return undefined;
  const [challenge, atText, mac, extra] = sealed.split('.');
  if (!challenge || !atText || !mac || extra !== undefined || !/^\d{1,15}$/.test(atText)) return undefined;
  const at = Number(atText);
  const want = Buffer.from(macOf(key, challenge, at));
  const got = Buffer.from(mac);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  if (now - at >= CHALLENGE_TTL_MS || now < at) return undefined;
  return challenge;
}

function macOf(key: Buffer, challenge: string, at: number): string {
  return createHmac('sha256', key).update(`passwordless\0${challenge}\0${at}`).digest('base64url');
}

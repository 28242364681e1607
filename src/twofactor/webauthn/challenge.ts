import type { SessionData } from 'express-session';

/** CHALLENGE_TTL_MS is how long a challenge waits for the browser's answer: the browser's own timeout, no longer. */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/** What a challenge was issued for: adding a key, the second step, a step-up, or signing in with a passkey alone. */
export type ChallengePurpose = 'register' | 'login' | 'stepup' | 'passwordless';

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
  /** The account it was issued for; none for a passkey sign-in, where the key names the account. */
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

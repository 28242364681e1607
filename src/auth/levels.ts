import type { Channel } from '../twofactor/codes.ts';
import type { FactorKind } from '../twofactor/factor.ts';

/**
 * How far a session has come. `pending2fa`: the password was right and a code
 * is due. `enroll`: the password was right, but policy demands a second factor
 * the user has not bound yet. `full`: signed in.
 */
export type AuthLevel = 'pending2fa' | 'enroll' | 'full';

export interface AuthState {
  userId: string;
  level: AuthLevel;
  /** When this level was reached (ms); half-signed-in states expire from here. */
  since: number;
  /** When the password was checked (ms); the absolute session limit counts from here. */
  authAt: number;
  /** Last fresh proof of the second factor or password, for operation protection. */
  elevatedAt?: number;
  /** What that proof was: the password, or a second factor. */
  elevatedWith?: Proof;
  /** The second factor the sign-in page asks for. */
  factor?: FactorKind;
  /** The login code this session is waiting for (text or email). */
  challengeId?: string;
  /** Where to go once signed in. */
  next?: string;
  /** The administrator's access pass may stand in for the second factor of this sign-in. */
  passOffered?: boolean;
  /** Until when (ms) a user the policy newly forces may put enrolment off. */
  graceUntil?: number;
  /** Held for enrolment after an access pass (ms it was used): the factors set up before it go once a new one is in. */
  replacing?: number;
}

/** What a fresh check was made with. */
export type Proof = 'password' | FactorKind;

/** A half-signed-in session (code pending, or held for enrolment) lasts at most this long. */
export const PENDING_TTL_MS = 10 * 60 * 1000;
/** A fresh second-factor check unlocks sensitive actions for this long. */
export const ELEVATED_TTL_MS = 10 * 60 * 1000;

declare module 'express-session' {
  interface SessionData {
    auth?: AuthState;
    flash?: { kind: 'ok' | 'error'; key: string; params?: Record<string, string | number> }[];
    /** A bind or step-up code this session is waiting for, and where it went. */
    pendingCode?: { challengeId: string; purpose: 'bind' | 'stepup'; channel: Channel; destination: string };
    login?: { email: string };
  }
}

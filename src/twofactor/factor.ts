import type { Origin } from '../audit/log.ts';
import type { Locale } from '../i18n/index.ts';
import type { User } from '../users/repo.ts';
import type { Channel, CodePurpose, SendResult } from './codes.ts';

/**
 * The kinds of second factor, strongest first: the order sign-in falls back
 * through when the user has no preference. A backup code is never offered
 * first; it is for when nothing else is at hand.
 */
export const FACTOR_KINDS = ['webauthn', 'totp', 'hardware', 'sms', 'email', 'backup'] as const;
export type FactorKind = (typeof FACTOR_KINDS)[number];

/** isFactorKind narrows a form value to a factor kind. */
export function isFactorKind(v: unknown): v is FactorKind {
  return typeof v === 'string' && (FACTOR_KINDS as readonly string[]).includes(v);
}

/** FactorInfo is how pages show one of the user's factors. */
export interface FactorInfo {
  kind: FactorKind;
  /** What identifies it to its owner: a masked number or address, or a count ("2 apps", "7 left"). */
  label: string;
  /** For backup codes and authenticators: how many there are (unused, for backup codes). */
  count?: number;
}

/** What a factor needs to know about the request that uses it. */
export interface FactorContext {
  user: User;
  origin: Origin;
  locale: Locale;
}

/** The outcome of one check of a factor; `triesLeft` is what a wrong one-time code has left. */
export type FactorCheck = { ok: true; destination?: string } | { ok: false; reason: 'wrong'; triesLeft?: number } | { ok: false; reason: 'expired' | 'locked' };

/**
 * Factor is one kind of second factor. Checks never call `verify` directly:
 * the sign-in flow runs every check through the regulator, counted under the
 * factor's own kind, so a wrong backup code never adds to (or clears) the
 * count of another kind.
 */
export interface Factor {
  readonly kind: FactorKind;
  /** The channel its codes travel by, for the kinds that send one (sms, email). */
  readonly channel?: Channel;
  /** describe returns the factor as the user has it, or null when they have not set it up. */
  describe(user: User): Promise<FactorInfo | null>;
  /** send delivers a fresh code for `purpose`, replacing an earlier one of this attempt (sms, email). */
  send?(ctx: FactorContext, purpose: CodePurpose, replaces?: string): Promise<SendResult>;
  /** verify checks what the user typed; `challengeId` names the code this attempt was sent (sms, email). */
  verify(ctx: FactorContext, input: { code: string; challengeId?: string; purpose: CodePurpose }): Promise<FactorCheck>;
}

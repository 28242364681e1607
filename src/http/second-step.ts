import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import type { User } from '../users/repo.ts';
import type { ProofResult } from '../auth/flow.ts';
import type { FactorContext, FactorInfo, FactorKind } from '../twofactor/factor.ts';
import { originOf } from './origin.ts';
import { flash, regenerate } from './context.ts';
import { reveal } from './reveal.ts';
import { knownDevice } from './cookies.ts';

/** What a page asking for a second factor shows: the factor asked for, the state of its code, and the other ways. */
export interface StepModel {
  factor: FactorKind;
  /** The masked phone or address, the authenticator names, or the backup codes left. */
  label: string;
  /** The factor sends codes (text, email); the page then offers to send or resend one. */
  sends: boolean;
  codeSent: boolean;
  resendWait: number;
  /** Tries left before the code is used up (text, email) or before waits begin (app, backup codes). */
  triesLeft: number;
  usedUp: boolean;
  /** The user's other factors, for "use another way". */
  others: FactorInfo[];
}

/** factorContext is what a factor needs to know about the request; `user` for the password step, before the session has one. */
export function factorContext(req: Request, s: Services, user: User = req.user!): FactorContext & { device?: string } {
  return { user, origin: originOf(req), locale: req.locale, device: knownDevice(req, s.config, s.deviceCookies) };
}

/** stepModel builds the page model for asking for `factor`, given the user's factors and the code this attempt waits for. */
export async function stepModel(s: Services, req: Request, infos: FactorInfo[], factor: FactorKind, challengeId: string | undefined): Promise<StepModel> {
  const info = infos.find((i) => i.kind === factor);
  const sends = !!s.factors.get(factor).send;
  const code = sends ? await s.codes.state(challengeId) : undefined;
  const triesLeft = code ? code.triesLeft : await s.flow.triesLeft(factorContext(req, s), factor);
  return {
    factor,
    label: info?.label ?? '',
    sends,
    codeSent: code?.sent ?? false,
    resendWait: code?.resendWait ?? 0,
    triesLeft,
    usedUp: code?.usedUp ?? false,
    others: infos.filter((i) => i.kind !== factor),
  };
}

/** proofError is the message for a failed check: throttled, a used-up code, an expired one, or a wrong one with the tries it left. */
export function proofError(req: Request, r: Exclude<ProofResult, { ok: true }>): string {
  switch (r.reason) {
    case 'throttled':
      return req.t('login.throttled', { minutes: Math.max(1, Math.ceil(r.retryAfterSeconds / 60)) });
    case 'locked':
      return req.t('code.used_up');
    case 'expired':
      return req.t('code.expired');
    case 'unavailable':
      return req.t('code.failed');
    case 'wrong':
      return r.triesLeft === undefined ? req.t('code.failed') : `${req.t('code.failed')} ${req.t('code.tries_left', { count: r.triesLeft })}`;
  }
}

/** proofStatus is the HTTP status for a failed check. */
export function proofStatus(r: Exclude<ProofResult, { ok: true }>): number {
  return r.reason === 'throttled' ? 429 : 401;
}

/**
 * factorAddedResponse finishes adding a factor for every kind: the flow
 * records it, the session gets a new id and the state the flow returns, the
 * page says what was added, and a first factor's backup codes are shown once
 * before going on to `next`.
 */
export async function factorAddedResponse(
  s: Services,
  req: Request,
  res: Response,
  added: { kind: FactorKind; details: Record<string, unknown>; message: string; params: Record<string, string | number>; next: string },
): Promise<void> {
  const { state, backupCodes } = await s.flow.factorAdded(factorContext(req, s), req.session.auth!, added.kind, added.details);
  await regenerate(req);
  req.session.auth = state;
  flash(req, 'ok', added.message, added.params);
  if (backupCodes) {
    reveal(req, s.secrets, 'backup_codes', { codes: backupCodes, next: added.next });
    return res.redirect(303, '/settings/security/backup-codes/new');
  }
  res.redirect(303, added.next);
}

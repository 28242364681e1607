import type { SecretBox } from '../../crypto/secret-box.ts';
import type { User } from '../../users/repo.ts';
import type { Factor, FactorCheck, FactorContext, FactorInfo } from '../factor.ts';
import { matchTotp } from '../totp/totp.ts';
import type { HardwareTokenRepo } from './repo.ts';

/**
 * MAX_DRIFT_STEPS is how far a token's clock may have wandered, in steps, and
 * still be followed: five minutes for a 30-second token. A token further off
 * needs to be replaced; following it further would keep no one safer.
 */
export const MAX_DRIFT_STEPS = 10;

/** A code that matched: the step it belongs to, and the token's clock offset it shows. */
export interface TokenMatch {
  step: number;
  driftSteps: number;
}

/**
 * matchToken checks a code from a hardware token. Such a token has no
 * network to set its clock by, so it drifts: the step it is expected at is
 * now plus the offset last seen (`driftSteps`), and one step either side of
 * that is accepted. A step at or before `lastStep` is never accepted again.
 * The offset the match shows is returned, to be remembered for next time.
 */
export function matchToken(opts: { secret: string; code: string; period: number; driftSteps: number; lastStep: number | null; now?: Date }): TokenMatch | null {
  const { period, now = new Date() } = opts;
  const current = Math.floor(now.getTime() / 1000 / period);
  const expected = current + opts.driftSteps;
  // matchTotp centres its window on the step of the time it is given: the start of the expected step.
  const step = matchTotp({ secret: opts.secret, code: opts.code, lastStep: opts.lastStep, period, window: 1, now: new Date(expected * period * 1000) });
  if (step === null || Math.abs(step - current) > MAX_DRIFT_STEPS) return null;
  return { step, driftSteps: step - current };
}

/**
 * HardwareFactor checks a code from any of the user's bound hardware tokens
 * (OATH TOTP, SHA-1, six digits, 30 or 60 s), following each token's clock
 * drift. A step once accepted is never accepted again for that token.
 */
export class HardwareFactor implements Factor {
  readonly kind = 'hardware' as const;

  constructor(
    private readonly repo: HardwareTokenRepo,
    private readonly box: SecretBox,
  ) {}

  async describe(user: User): Promise<FactorInfo | null> {
    const tokens = await this.repo.listActive(user.id);
    if (!tokens.length) return null;
    return { kind: 'hardware', label: tokens.map((t) => t.serial).join(', '), count: tokens.length };
  }

  async verify(ctx: FactorContext, input: { code: string }): Promise<FactorCheck> {
    for (const token of await this.repo.listActive(ctx.user.id)) {
      const match = matchToken({ secret: this.box.openText(token.secretSealed), code: input.code, period: token.period, driftSteps: token.driftSteps, lastStep: token.lastStep });
      if (match && (await this.repo.accept(token.id, match.step, match.driftSteps))) return { ok: true };
    }
    return { ok: false, reason: 'wrong' };
  }
}

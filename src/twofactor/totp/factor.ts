import type { SecretBox } from '../../crypto/secret-box.ts';
import type { User } from '../../users/repo.ts';
import type { Factor, FactorCheck, FactorContext, FactorInfo } from '../factor.ts';
import type { TotpRepo } from './repo.ts';
import { matchTotp } from './totp.ts';

/**
 * TotpFactor checks a code from any of the user's authenticator apps
 * (RFC 6238: SHA-1, six digits, 30 s, ±1 step). A step once accepted is
 * never accepted again for that authenticator, so a code seen over a
 * shoulder or in a phishing proxy cannot be replayed.
 */
export class TotpFactor implements Factor {
  readonly kind = 'totp' as const;

  constructor(
    private readonly repo: TotpRepo,
    private readonly box: SecretBox,
  ) {}

  async describe(user: User): Promise<FactorInfo | null> {
    const apps = await this.repo.list(user.id);
    if (!apps.length) return null;
    return { kind: 'totp', label: apps.map((a) => a.name).join(', '), count: apps.length };
  }

  async verify(ctx: FactorContext, input: { code: string }): Promise<FactorCheck> {
    for (const app of await this.repo.list(ctx.user.id)) {
      const step = matchTotp({ secret: this.box.openText(app.secretSealed), code: input.code, lastStep: app.lastStep });
      if (step !== null && (await this.repo.accept(app.id, step))) return { ok: true };
    }
    return { ok: false, reason: 'wrong' };
  }
}

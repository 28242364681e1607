import type { User } from '../../users/repo.ts';
import type { Factor, FactorCheck, FactorContext, FactorInfo } from '../factor.ts';
import { hashBackupCode, newBackupCodes, normalizeBackupCode } from './codes.ts';
import type { BackupCodeRepo } from './repo.ts';

/**
 * BackupCodeFactor: ten single-use codes for when no phone or app is at
 * hand. Only their HMAC is stored; a new set replaces the old one whole.
 */
export class BackupCodeFactor implements Factor {
  readonly kind = 'backup' as const;

  constructor(
    private readonly repo: BackupCodeRepo,
    private readonly key: Buffer,
  ) {}

  async describe(user: User): Promise<FactorInfo | null> {
    const n = await this.repo.remaining(user.id);
    return n > 0 ? { kind: 'backup', label: String(n), count: n } : null;
  }

  async verify(ctx: FactorContext, input: { code: string }): Promise<FactorCheck> {
    const normalized = normalizeBackupCode(input.code);
    if (!normalized) return { ok: false, reason: 'wrong' };
    return (await this.repo.use(ctx.user.id, hashBackupCode(this.key, normalized))) ? { ok: true } : { ok: false, reason: 'wrong' };
  }

  /** issue makes a new set, replacing any old one, and returns the codes to show once. */
  async issue(userId: string): Promise<string[]> {
    const codes = newBackupCodes();
    await this.repo.replace(
      userId,
      codes.map((c) => hashBackupCode(this.key, normalizeBackupCode(c)!)),
    );
    return codes;
  }

  remaining(userId: string): Promise<number> {
    return this.repo.remaining(userId);
  }

  exists(userId: string): Promise<boolean> {
    return this.repo.exists(userId);
  }

  deleteAll(userId: string): Promise<void> {
    return this.repo.deleteAll(userId);
  }
}

import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import type { User } from '../users/repo.ts';
import { FACTOR_KINDS, type Factor, type FactorInfo, type FactorKind } from './factor.ts';

/**
 * Factors is the set of second-factor kinds Postern offers. Pages and the
 * sign-in flow ask it which factors a user has; a new kind is one more
 * Factor in the list given at start.
 */
export class Factors {
  private readonly byKind: Map<FactorKind, Factor>;

  constructor(
    private readonly db: Db,
    factors: Factor[],
  ) {
    this.byKind = new Map(factors.map((f) => [f.kind, f]));
  }

  get(kind: FactorKind): Factor {
    const f = this.byKind.get(kind);
    if (!f) throw new Error(`no factor ${kind}`);
    return f;
  }

  /** list returns the factors the user has set up, strongest first. */
  async list(user: User): Promise<FactorInfo[]> {
    const kinds = FACTOR_KINDS.filter((k) => this.byKind.has(k));
    const infos = await Promise.all(kinds.map((k) => this.byKind.get(k)!.describe(user)));
    return infos.filter((i): i is FactorInfo => i !== null);
  }

  /**
   * hasAny tells, in one query, whether the user has a factor that proves
   * them on its own (an authenticator, a phone, a recovery address). Backup
   * codes only stand in for those, so they do not count.
   */
  async hasAny(userId: string): Promise<boolean> {
    const result = await this.db.execute(sql`select
      exists(select 1 from totp_authenticators where user_id = ${userId})
      or exists(select 1 from sms_phones where user_id = ${userId})
      or exists(select 1 from recovery_emails where user_id = ${userId}) as has`);
    return !!(result as unknown as { rows: Array<{ has: boolean }> }).rows[0]?.has;
  }

  /** removeAll deletes every factor of the user and their backup codes, in one transaction; returns how many factors there were. */
  async removeAll(userId: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      let n = 0;
      for (const table of ['totp_authenticators', 'sms_phones', 'recovery_emails']) {
        const result = await tx.execute(sql`delete from ${sql.identifier(table)} where user_id = ${userId} returning 1`);
        n += (result as unknown as { rows: unknown[] }).rows.length;
      }
      await tx.execute(sql`delete from backup_codes where user_id = ${userId}`);
      return n;
    });
  }
}

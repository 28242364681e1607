import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { accessPasses } from '../db/schema/index.ts';
import { hashBackupCode, newBackupCode, normalizeBackupCode } from '../twofactor/backup/codes.ts';

/** A pass lasts an hour unless the administrator chooses otherwise, and never more than a day. */
export const PASS_DEFAULT_MINUTES = 60;
export const PASS_MAX_MINUTES = 24 * 60;

/**
 * AccessPasses are temporary access passes (the Microsoft Entra model): a
 * one-time code an administrator gives a user who lost their second factor,
 * after checking who they are. It stands in for the second factor at one
 * sign-in, which then must enrol a new factor before anything else. Only the
 * code's HMAC is stored; a new pass replaces an older one.
 */
export class AccessPasses {
  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
  ) {}

  /** issue makes a pass for the user and returns the code, to be shown once to the administrator. */
  async issue(userId: string, opts: { issuedBy: string; reason: string; minutes: number; now?: Date }): Promise<{ code: string; expiresAt: Date }> {
    const now = opts.now ?? new Date();
    const code = newBackupCode();
    const expiresAt = new Date(now.getTime() + Math.min(Math.max(1, opts.minutes), PASS_MAX_MINUTES) * 60_000);
    const row = { userId, codeHash: hashBackupCode(this.key, normalizeBackupCode(code)!), issuedBy: opts.issuedBy, reason: opts.reason, createdAt: now, expiresAt, usedAt: null };
    await this.db.insert(accessPasses).values(row).onConflictDoUpdate({ target: accessPasses.userId, set: row });
    return { code, expiresAt };
  }

  /** active tells until when the user's pass can be used, if it can. */
  async active(userId: string, now = new Date()): Promise<Date | undefined> {
    const [row] = await this.db
      .select({ expiresAt: accessPasses.expiresAt })
      .from(accessPasses)
      .where(and(eq(accessPasses.userId, userId), isNull(accessPasses.usedAt), gt(accessPasses.expiresAt, now)));
    return row?.expiresAt;
  }

  /** use checks a typed pass and, when it is right and still valid, uses it up in the same statement: it works once. */
  async use(userId: string, typed: string, now = new Date()): Promise<boolean> {
    const normalized = normalizeBackupCode(typed);
    if (!normalized) return false;
    const rows = await this.db
      .update(accessPasses)
      .set({ usedAt: now })
      .where(and(eq(accessPasses.userId, userId), eq(accessPasses.codeHash, hashBackupCode(this.key, normalized)), isNull(accessPasses.usedAt), gt(accessPasses.expiresAt, now)))
      .returning({ userId: accessPasses.userId });
    return rows.length === 1;
  }

  /** revoke ends the user's pass, if any. */
  async revoke(userId: string): Promise<boolean> {
    const rows = await this.db.delete(accessPasses).where(eq(accessPasses.userId, userId)).returning({ userId: accessPasses.userId });
    return rows.length > 0;
  }

}

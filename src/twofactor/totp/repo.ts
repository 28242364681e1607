import { and, asc, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { totpAuthenticators } from '../../db/schema/index.ts';

export type TotpAuthenticator = typeof totpAuthenticators.$inferSelect;

/** TotpRepo holds a user's authenticator apps. */
export class TotpRepo {
  constructor(private readonly db: Db) {}

  list(userId: string): Promise<TotpAuthenticator[]> {
    return this.db.select().from(totpAuthenticators).where(eq(totpAuthenticators.userId, userId)).orderBy(asc(totpAuthenticators.createdAt));
  }

  async save(row: { userId: string; name: string; secretSealed: string; lastStep: number }): Promise<TotpAuthenticator> {
    const [saved] = await this.db.insert(totpAuthenticators).values(row).returning();
    return saved!;
  }

  /**
   * accept records `step` as the authenticator's last accepted step, only if
   * it is later than the one stored: of two requests racing with one code,
   * one wins.
   */
  async accept(id: string, step: number, now = new Date()): Promise<boolean> {
    const rows = await this.db
      .update(totpAuthenticators)
      .set({ lastStep: step, lastUsedAt: now })
      .where(and(eq(totpAuthenticators.id, id), or(isNull(totpAuthenticators.lastStep), lt(totpAuthenticators.lastStep, step))))
      .returning({ id: totpAuthenticators.id });
    return rows.length === 1;
  }

  async delete(userId: string, id: string): Promise<TotpAuthenticator | undefined> {
    const [row] = await this.db
      .delete(totpAuthenticators)
      .where(and(eq(totpAuthenticators.id, id), eq(totpAuthenticators.userId, userId)))
      .returning();
    return row;
  }

  async deleteAll(userId: string): Promise<number> {
    return (await this.db.delete(totpAuthenticators).where(eq(totpAuthenticators.userId, userId)).returning({ id: totpAuthenticators.id })).length;
  }

  /** updateSealed re-seals a secret with the current key (rotation). */
  async updateSealed(id: string, secretSealed: string): Promise<void> {
    await this.db.update(totpAuthenticators).set({ secretSealed }).where(eq(totpAuthenticators.id, id));
  }
}

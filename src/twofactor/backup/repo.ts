import { and, count, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { backupCodes } from '../../db/schema/index.ts';

/** BackupCodeRepo holds the hashes of a user's backup codes. */
export class BackupCodeRepo {
  constructor(private readonly db: Db) {}

  /** replace swaps the user's whole set for a new one in one transaction: the old codes stop working at once. */
  async replace(userId: string, hashes: string[], now = new Date()): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.delete(backupCodes).where(eq(backupCodes.userId, userId));
      await tx.insert(backupCodes).values(hashes.map((codeHash) => ({ userId, codeHash, createdAt: now })));
    });
  }

  /** use marks one unused code used; of two requests racing with one code, one wins. */
  async use(userId: string, codeHash: string, now = new Date()): Promise<boolean> {
    const rows = await this.db
      .update(backupCodes)
      .set({ usedAt: now })
      .where(and(eq(backupCodes.userId, userId), eq(backupCodes.codeHash, codeHash), isNull(backupCodes.usedAt)))
      .returning({ id: backupCodes.id });
    return rows.length === 1;
  }

  async remaining(userId: string): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(backupCodes).where(and(eq(backupCodes.userId, userId), isNull(backupCodes.usedAt)));
    return row?.n ?? 0;
  }

  async exists(userId: string): Promise<boolean> {
    const [row] = await this.db.select({ id: backupCodes.id }).from(backupCodes).where(eq(backupCodes.userId, userId)).limit(1);
    return !!row;
  }

  async deleteAll(userId: string): Promise<void> {
    await this.db.delete(backupCodes).where(eq(backupCodes.userId, userId));
  }
}

import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { recoveryEmails } from '../../db/schema/index.ts';

/** RecoveryEmails holds each user's verified recovery address. */
export class RecoveryEmails {
  constructor(private readonly db: Db) {}

  async load(userId: string): Promise<string | undefined> {
    const [row] = await this.db.select().from(recoveryEmails).where(eq(recoveryEmails.userId, userId)).limit(1);
    return row?.address;
  }

  async save(userId: string, address: string): Promise<void> {
    await this.db
      .insert(recoveryEmails)
      .values({ userId, address })
      .onConflictDoUpdate({ target: recoveryEmails.userId, set: { address, verifiedAt: new Date() } });
  }

  async delete(userId: string): Promise<void> {
    await this.db.delete(recoveryEmails).where(eq(recoveryEmails.userId, userId));
  }
}

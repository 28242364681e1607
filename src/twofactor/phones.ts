import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { smsPhones } from '../db/schema/index.ts';

/** Phones holds each user's bound number (E.164). */
export class Phones {
  constructor(private readonly db: Db) {}

  async load(userId: string): Promise<string | undefined> {
    const [row] = await this.db.select().from(smsPhones).where(eq(smsPhones.userId, userId)).limit(1);
    return row?.phone;
  }

  async save(userId: string, phone: string): Promise<void> {
    await this.db
      .insert(smsPhones)
      .values({ userId, phone })
      .onConflictDoUpdate({ target: smsPhones.userId, set: { phone, boundAt: new Date() } });
  }

  async delete(userId: string): Promise<void> {
    await this.db.delete(smsPhones).where(eq(smsPhones.userId, userId));
  }
}

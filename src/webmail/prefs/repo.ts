import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { mailPreferences } from '../../db/schema/index.ts';

/** StoredPreferences is a user's row of mail_preferences; a missing row means the defaults. */
export type StoredPreferences = typeof mailPreferences.$inferSelect;

/** PreferenceChange is what one request may change: one field or the other. */
export type PreferenceChange = { timeZone: string } | { readingPane: boolean } | { conversations: boolean };

/** PreferenceRepo holds the queries on mail_preferences. */
export class PreferenceRepo {
  constructor(private readonly db: Db) {}

  async load(userId: string): Promise<StoredPreferences | undefined> {
    const [row] = await this.db.select().from(mailPreferences).where(eq(mailPreferences.userId, userId)).limit(1);
    return row;
  }

  /** update writes one preference, creating the user's row with the defaults for the rest. */
  async update(userId: string, change: PreferenceChange): Promise<void> {
    const set = { ...change, updatedAt: new Date() };
    await this.db
      .insert(mailPreferences)
      .values({ userId, ...set })
      .onConflictDoUpdate({ target: mailPreferences.userId, set });
  }
}

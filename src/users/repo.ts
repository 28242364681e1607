import { asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { settings, smsPhones, users } from '../db/schema/index.ts';

export type User = typeof users.$inferSelect;

/** UserRepo holds the queries on accounts and site-wide policy. */
export class UserRepo {
  constructor(private readonly db: Db) {}

  async loadByEmail(email: string): Promise<User | undefined> {
    const [row] = await this.db
      .select()
      .from(users)
      .where(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`)
      .limit(1);
    return row;
  }

  async load(id: string): Promise<User | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id)).limit(1);
    return row;
  }

  async save(user: typeof users.$inferInsert): Promise<User> {
    const [row] = await this.db.insert(users).values({ ...user, email: user.email.trim().toLowerCase() }).returning();
    return row!;
  }

  async update(id: string, patch: Partial<typeof users.$inferInsert>): Promise<void> {
    await this.db.update(users).set(patch).where(eq(users.id, id));
  }

  async list(): Promise<Array<User & { phone: string | null }>> {
    const rows = await this.db
      .select({ user: users, phone: smsPhones.phone })
      .from(users)
      .leftJoin(smsPhones, eq(smsPhones.userId, users.id))
      .orderBy(asc(users.email));
    return rows.map((r) => ({ ...r.user, phone: r.phone }));
  }

  async loadSetting(key: string): Promise<string | undefined> {
    const [row] = await this.db.select().from(settings).where(eq(settings.key, key)).limit(1);
    return row?.value;
  }

  async saveSetting(key: string, value: string): Promise<void> {
    await this.db
      .insert(settings)
      .values({ key, value })
      .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
  }
}

import { asc, eq, inArray, sql } from 'drizzle-orm';
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

  /** saveMany inserts accounts in one transaction, all or none; returns how many. */
  async saveMany(rows: Array<typeof users.$inferInsert>): Promise<number> {
    if (!rows.length) return 0;
    return this.db.transaction(async (tx) => {
      let n = 0;
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500).map((r) => ({ ...r, email: r.email.trim().toLowerCase() }));
        n += (await tx.insert(users).values(chunk).returning({ id: users.id })).length;
      }
      return n;
    });
  }

  /** existing returns which of the addresses already have an account. */
  async existing(emails: string[]): Promise<string[]> {
    const out: string[] = [];
    const lower = [...new Set(emails.map((e) => e.trim().toLowerCase()))];
    for (let i = 0; i < lower.length; i += 1000) {
      const rows = await this.db.select({ email: users.email }).from(users).where(inArray(sql`lower(${users.email})`, lower.slice(i, i + 1000)));
      out.push(...rows.map((r) => r.email));
    }
    return out;
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

  /** loadSettings reads every site-wide setting in one query. */
  async loadSettings(): Promise<Map<string, string>> {
    const rows = await this.db.select({ key: settings.key, value: settings.value }).from(settings);
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  /** saveSettings writes several settings in one transaction. */
  async saveSettings(values: Record<string, string>): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const [key, value] of Object.entries(values)) {
        await tx.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
      }
    });
  }

  async saveSetting(key: string, value: string): Promise<void> {
    await this.db
      .insert(settings)
      .values({ key, value })
      .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
  }
}

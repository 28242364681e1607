import { and, asc, count, desc, eq, gt, gte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { appPasswordVerifiers, appPasswords, users } from '../db/schema/index.ts';
import type { User } from '../users/repo.ts';
import type { MailClient } from '../mailauth/imap-id.ts';

export type AppPassword = typeof appPasswords.$inferSelect;
export type Scope = 'imap' | 'smtp';

/** AppPasswordRepo holds the queries on client-specific passwords. */
export class AppPasswordRepo {
  constructor(private readonly db: Db) {}

  async list(userId: string): Promise<AppPassword[]> {
    return this.db.select().from(appPasswords).where(eq(appPasswords.userId, userId)).orderBy(asc(appPasswords.createdAt));
  }

  async count(userId: string): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(appPasswords).where(eq(appPasswords.userId, userId));
    return row?.n ?? 0;
  }

  async loadBySelector(userId: string, selector: string): Promise<AppPassword | undefined> {
    const [row] = await this.db
      .select()
      .from(appPasswords)
      .where(and(eq(appPasswords.userId, userId), eq(appPasswords.selector, selector)))
      .limit(1);
    return row;
  }

  /** loadWithUser reads a password and its owner in one query (the mail-login hot path). */
  async loadWithUser(id: string): Promise<{ row: AppPassword; user: User } | undefined> {
    const [found] = await this.db
      .select({ row: appPasswords, user: users })
      .from(appPasswords)
      .innerJoin(users, eq(users.id, appPasswords.userId))
      .where(eq(appPasswords.id, id))
      .limit(1);
    return found;
  }

  /** loadByVerifier finds the password and owner a stored verifier key stands for, while it lasts. */
  async loadByVerifier(key: string, now: Date): Promise<{ row: AppPassword; user: User } | undefined> {
    const [found] = await this.db
      .select({ row: appPasswords, user: users })
      .from(appPasswordVerifiers)
      .innerJoin(appPasswords, eq(appPasswords.id, appPasswordVerifiers.appPasswordId))
      .innerJoin(users, eq(users.id, appPasswords.userId))
      .where(and(eq(appPasswordVerifiers.key, key), gt(appPasswordVerifiers.expiresAt, now)))
      .limit(1);
    return found;
  }

  /** saveVerifier stores (or renews) a verifier key for a password. */
  async saveVerifier(key: string, appPasswordId: string, expiresAt: Date): Promise<void> {
    await this.db
      .insert(appPasswordVerifiers)
      .values({ key, appPasswordId, expiresAt })
      .onConflictDoUpdate({ target: appPasswordVerifiers.key, set: { expiresAt } });
  }

  async save(row: typeof appPasswords.$inferInsert): Promise<AppPassword> {
    const [saved] = await this.db.insert(appPasswords).values(row).returning();
    return saved!;
  }

  async delete(userId: string, id: string): Promise<AppPassword | undefined> {
    const [row] = await this.db
      .delete(appPasswords)
      .where(and(eq(appPasswords.userId, userId), eq(appPasswords.id, id)))
      .returning();
    return row;
  }

  async deleteAll(userId: string): Promise<number> {
    const rows = await this.db.delete(appPasswords).where(eq(appPasswords.userId, userId)).returning({ id: appPasswords.id });
    return rows.length;
  }

  /** updateLastUsed records a use, and with `client` the mail app that made it. */
  async updateLastUsed(id: string, at: Date, ip: string, protocol: string, client?: MailClient): Promise<void> {
    await this.db
      .update(appPasswords)
      .set({ lastUsedAt: at, lastUsedIp: ip, lastUsedProtocol: protocol, ...(client ? { clientName: client.name, clientVersion: client.version } : {}) })
      .where(eq(appPasswords.id, id));
  }

  /** loadLastUsedFrom finds the password of the account (its canonical address) used last from `ip`, if that was at `since` or later. */
  async loadLastUsedFrom(account: string, ip: string, since: Date): Promise<AppPassword | undefined> {
    const [found] = await this.db
      .select({ row: appPasswords })
      .from(appPasswords)
      .innerJoin(users, eq(users.id, appPasswords.userId))
      .where(and(sql`lower(${users.email}) = ${account.trim().toLowerCase()}`, eq(appPasswords.lastUsedIp, ip), gte(appPasswords.lastUsedAt, since)))
      .orderBy(desc(appPasswords.lastUsedAt))
      .limit(1);
    return found?.row;
  }

  /** updateClient records the mail app a password is used by. */
  async updateClient(id: string, client: MailClient): Promise<void> {
    await this.db.update(appPasswords).set({ clientName: client.name, clientVersion: client.version }).where(eq(appPasswords.id, id));
  }
}

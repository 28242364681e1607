import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { mailSignatures } from '../../db/schema/index.ts';

export type SignatureRow = typeof mailSignatures.$inferSelect;

/** SignatureRepo holds each user's signatures, one per mailbox address (lower-case). */
export class SignatureRepo {
  constructor(private readonly db: Db) {}

  async load(userId: string, mailbox: string): Promise<SignatureRow | undefined> {
    const [row] = await this.db
      .select()
      .from(mailSignatures)
      .where(and(eq(mailSignatures.userId, userId), eq(mailSignatures.mailbox, mailbox.toLowerCase())))
      .limit(1);
    return row;
  }

  async list(userId: string): Promise<SignatureRow[]> {
    return this.db.select().from(mailSignatures).where(eq(mailSignatures.userId, userId));
  }

  async save(userId: string, mailbox: string, html: string, text: string): Promise<void> {
    const now = new Date();
    await this.db
      .insert(mailSignatures)
      .values({ userId, mailbox: mailbox.toLowerCase(), html, text, updatedAt: now })
      .onConflictDoUpdate({ target: [mailSignatures.userId, mailSignatures.mailbox], set: { html, text, updatedAt: now } });
  }

  async delete(userId: string, mailbox: string): Promise<void> {
    await this.db.delete(mailSignatures).where(and(eq(mailSignatures.userId, userId), eq(mailSignatures.mailbox, mailbox.toLowerCase())));
  }
}

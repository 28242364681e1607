import { and, asc, eq, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { webauthnChallengesUsed, webauthnCredentials } from '../../db/schema/index.ts';

export type WebAuthnCredentialRow = typeof webauthnCredentials.$inferSelect;
export type NewWebAuthnCredential = typeof webauthnCredentials.$inferInsert;

/** How long an answered challenge is remembered: longer than a challenge lives (CHALLENGE_TTL_MS). */
const USED_KEEP_MS = 15 * 60_000;

/** WebAuthnRepo holds users' security keys and passkeys, and the challenges already answered. */
export class WebAuthnRepo {
  constructor(private readonly db: Db) {}

  list(userId: string): Promise<WebAuthnCredentialRow[]> {
    return this.db.select().from(webauthnCredentials).where(eq(webauthnCredentials.userId, userId)).orderBy(asc(webauthnCredentials.createdAt));
  }

  /** loadByCredentialId finds a key by the authenticator's credential id, whoever it belongs to. */
  async loadByCredentialId(credentialId: string): Promise<WebAuthnCredentialRow | undefined> {
    const [row] = await this.db.select().from(webauthnCredentials).where(eq(webauthnCredentials.credentialId, credentialId)).limit(1);
    return row;
  }

  /**
   * save stores a new key unless the user already has `max`: 'limit' then,
   * and undefined when its credential id is already stored (for this user or
   * another). The count and the insert hold the user's lock, so two adds at
   * once cannot both take the last place.
   */
  async save(row: NewWebAuthnCredential, max: number): Promise<WebAuthnCredentialRow | 'limit' | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`webauthn:${row.userId}`}))`);
      const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)::int` }).from(webauthnCredentials).where(eq(webauthnCredentials.userId, row.userId));
      if (n >= max) return 'limit';
      const [saved] = await tx.insert(webauthnCredentials).values(row).onConflictDoNothing({ target: webauthnCredentials.credentialId }).returning();
      return saved;
    });
  }

  /** count is how many keys the user has. */
  async count(userId: string): Promise<number> {
    const [{ n } = { n: 0 }] = await this.db.select({ n: sql<number>`count(*)::int` }).from(webauthnCredentials).where(eq(webauthnCredentials.userId, userId));
    return n;
  }

  /**
   * accept stores the counter a signature showed, only if it still moves on
   * from the stored one (or both are zero): of two requests racing with one
   * assertion, one wins.
   */
  async accept(id: string, counter: number, backedUp: boolean, now = new Date()): Promise<boolean> {
    const rows = await this.db
      .update(webauthnCredentials)
      .set({ counter, backedUp, lastUsedAt: now })
      .where(and(eq(webauthnCredentials.id, id), or(lt(webauthnCredentials.counter, counter), sql`(${webauthnCredentials.counter} = 0 and ${counter}::bigint = 0)`)))
      .returning({ id: webauthnCredentials.id });
    return rows.length === 1;
  }

  async rename(userId: string, id: string, name: string): Promise<WebAuthnCredentialRow | undefined> {
    const [row] = await this.db
      .update(webauthnCredentials)
      .set({ name })
      .where(and(eq(webauthnCredentials.id, id), eq(webauthnCredentials.userId, userId)))
      .returning();
    return row;
  }

  async delete(userId: string, id: string): Promise<WebAuthnCredentialRow | undefined> {
    const [row] = await this.db
      .delete(webauthnCredentials)
      .where(and(eq(webauthnCredentials.id, id), eq(webauthnCredentials.userId, userId)))
      .returning();
    return row;
  }

  /**
   * useChallenge marks a challenge answered; false when it was already
   * (a replay, or a second request racing the first). Old marks go as new
   * ones come.
   */
  async useChallenge(challenge: string, now = new Date()): Promise<boolean> {
    await this.db.delete(webauthnChallengesUsed).where(lt(webauthnChallengesUsed.usedAt, new Date(now.getTime() - USED_KEEP_MS)));
    const rows = await this.db.insert(webauthnChallengesUsed).values({ challenge, usedAt: now }).onConflictDoNothing().returning({ challenge: webauthnChallengesUsed.challenge });
    return rows.length === 1;
  }
}

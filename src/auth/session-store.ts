import { createHmac } from 'node:crypto';
import session from 'express-session';
import { and, eq, lt, ne } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sessions } from '../db/schema/index.ts';

const DEFAULT_TTL_MS = 60 * 60 * 1000;

/**
 * DbSessionStore keeps express-session data in the database, with the user
 * id beside it so every session of a user can be ended on the server
 * (logout elsewhere, account disabled, password changed). Rows are keyed by
 * an HMAC of the session id, so reading the table hands out no live session.
 */
export class DbSessionStore extends session.Store {
  private lastSweep = 0;

  /** `key` is the HMAC key for session ids, derived from the session secret. */
  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
  ) {
    super();
  }

  /** storedSid is what the table keeps in place of a session id: HMAC-SHA256, base64url. */
  storedSid(sid: string): string {
    return createHmac('sha256', this.key).update(sid).digest('base64url');
  }

  override get(sid: string, cb: (err: unknown, data?: session.SessionData | null) => void): void {
    this.db
      .select()
      .from(sessions)
      .where(eq(sessions.sid, this.storedSid(sid)))
      .limit(1)
      .then(([row]) => cb(null, row && row.expiresAt > new Date() ? (row.data as session.SessionData) : null), cb);
  }

  override set(sid: string, data: session.SessionData, cb?: (err?: unknown) => void): void {
    const expiresAt = expiryOf(data);
    const userId = data.auth?.userId ?? null;
    this.db
      .insert(sessions)
      .values({ sid: this.storedSid(sid), data, userId, expiresAt })
      .onConflictDoUpdate({ target: sessions.sid, set: { data, userId, expiresAt } })
      .then(() => this.sweep())
      .then(() => cb?.(), (err) => cb?.(err));
  }

  override touch(sid: string, data: session.SessionData, cb?: (err?: unknown) => void): void {
    this.db
      .update(sessions)
      .set({ expiresAt: expiryOf(data) })
      .where(eq(sessions.sid, this.storedSid(sid)))
      .then(() => cb?.(), (err) => cb?.(err));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.db
      .delete(sessions)
      .where(eq(sessions.sid, this.storedSid(sid)))
      .then(() => cb?.(), (err) => cb?.(err));
  }

  /** destroyForUser ends every session of a user, except `keepSid` when given. */
  async destroyForUser(userId: string, keepSid?: string): Promise<number> {
    const rows = await this.db
      .delete(sessions)
      .where(keepSid ? and(eq(sessions.userId, userId), ne(sessions.sid, this.storedSid(keepSid))) : eq(sessions.userId, userId))
      .returning({ sid: sessions.sid });
    return rows.length;
  }

  /** sweep drops expired rows, at most once a minute. */
  private async sweep(): Promise<void> {
    const now = Date.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    await this.db.delete(sessions).where(lt(sessions.expiresAt, new Date(now)));
  }
}

function expiryOf(data: session.SessionData): Date {
  const exp = data.cookie?.expires;
  return exp ? new Date(exp) : new Date(Date.now() + DEFAULT_TTL_MS);
}

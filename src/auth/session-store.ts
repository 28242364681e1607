import { createHmac } from 'node:crypto';
import type { Request } from 'express';
import session from 'express-session';
import { and, eq, lt, ne } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sessions } from '../db/schema/index.ts';

const DEFAULT_TTL_MS = 60 * 60 * 1000;
/** How far a touch must move a session's expiry to be written. */
const TOUCH_STEP_MS = 60_000;
/** Sessions whose expiry is remembered at once (a few hundred kilobytes). */
const MAX_REMEMBERED = 10_000;

/**
 * DbSessionStore keeps express-session data in the database, with the user
 * id beside it so every session of a user can be ended on the server
 * (logout elsewhere, account disabled, password changed). Rows are keyed by
 * an HMAC of the session id, so reading the table hands out no live session.
 */
export class DbSessionStore extends session.Store {
  private lastSweep = 0;
  /** The expiry each session was last read or written with here: a touch that would move it by less than TOUCH_STEP_MS is skipped. */
  private readonly expiries = new Map<string, number>();
  /** Requests whose session was read from the table. */
  private readonly loaded = new WeakSet<Request>();

  /** `key` is the HMAC key for session ids, derived from the session secret. */
  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
  ) {
    super();
  }

  /**
   * regenerate gives the request a new session id. The old session is
   * deleted only if it may be stored: loaded from the table, or written by
   * this node. A visitor's first session (the sign-in form keeps none) never
   * was, so signing in costs no delete.
   */
  override regenerate(req: Request, cb: (err?: unknown) => void): void {
    if (this.loaded.has(req) || this.expiries.has(this.storedSid(req.sessionID))) return super.regenerate(req, cb);
    (this as unknown as { generate(req: Request): void }).generate(req);
    cb();
  }

  override createSession(req: Request, data: session.SessionData): session.Session & session.SessionData {
    this.loaded.add(req);
    return super.createSession(req, data);
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
      .then(([row]) => {
        const live = row && row.expiresAt > new Date();
        if (live) this.remember(row.sid, row.expiresAt.getTime());
        cb(null, live ? (row.data as session.SessionData) : null);
      }, cb);
  }

  override set(sid: string, data: session.SessionData, cb?: (err?: unknown) => void): void {
    const expiresAt = expiryOf(data);
    const userId = data.auth?.userId ?? null;
    const stored = this.storedSid(sid);
    this.db
      .insert(sessions)
      .values({ sid: stored, data, userId, expiresAt })
      .onConflictDoUpdate({ target: sessions.sid, set: { data, userId, expiresAt } })
      .then(() => this.remember(stored, expiresAt.getTime()))
      .then(() => this.sweep())
      .then(() => cb?.(), (err) => cb?.(err));
  }

  /**
   * touch slides the idle expiry. A session used again within a minute of
   * its last write keeps the stored expiry (at most a minute short): a page
   * view costs no write. Another node's later write only moves it further.
   */
  override touch(sid: string, data: session.SessionData, cb?: (err?: unknown) => void): void {
    const stored = this.storedSid(sid);
    const expiresAt = expiryOf(data);
    const known = this.expiries.get(stored);
    if (known !== undefined && expiresAt.getTime() - known < TOUCH_STEP_MS) return cb?.();
    this.db
      .update(sessions)
      .set({ expiresAt })
      .where(eq(sessions.sid, stored))
      .then(() => this.remember(stored, expiresAt.getTime()))
      .then(() => cb?.(), (err) => cb?.(err));
  }

  /** remember notes a session's stored expiry; the notes are dropped wholesale when they grow past MAX_REMEMBERED. */
  private remember(stored: string, expiresAt: number): void {
    if (this.expiries.size >= MAX_REMEMBERED) this.expiries.clear();
    this.expiries.set(stored, expiresAt);
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    const stored = this.storedSid(sid);
    this.expiries.delete(stored);
    this.db
      .delete(sessions)
      .where(eq(sessions.sid, stored))
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

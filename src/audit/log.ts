import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { auditEvents } from '../db/schema/index.ts';

/** Where a request came from, as the audit log records it. */
export interface Origin {
  ip: string;
  userAgent: string;
}

export type AuditEventName =
  | 'login.password_ok'
  | 'login.password_failed'
  | 'login.throttled'
  | 'login.ok'
  | 'login.code_failed'
  | 'login.trusted_device'
  | 'logout'
  | 'sms.sent'
  | 'sms.failed'
  | 'sms.refused'
  | 'phone.bound'
  | 'phone.changed'
  | 'phone.unbound'
  | 'stepup.ok'
  | 'stepup.failed'
  | 'device.trusted'
  | 'device.revoked'
  | 'device.revoked_all'
  | 'password.changed'
  | 'policy.changed'
  | 'user.created'
  | 'apppassword.created'
  | 'apppassword.revoked'
  | 'apppassword.revoked_all'
  | 'mail.login_ok'
  | 'mail.login_failed'
  | 'mail.throttled'
  | 'share.granted'
  | 'share.changed'
  | 'share.revoked'
  | 'delegate.viewed'
  | 'delegate.sent'
  | 'delegate.flagged'
  | 'delegate.deleted'
  | 'delegate.moved';

export interface AuditEntry {
  event: AuditEventName;
  userId?: string | null;
  account?: string | null;
  origin?: Origin;
  details?: Record<string, unknown>;
}

/** AuditLog is the single place security events are written and read back. */
export class AuditLog {
  constructor(private readonly db: Db) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.db.insert(auditEvents).values({
      event: entry.event,
      userId: entry.userId ?? null,
      account: entry.account ?? null,
      ip: entry.origin?.ip ?? null,
      userAgent: entry.origin?.userAgent?.slice(0, 512) ?? null,
      details: entry.details ?? null,
    });
  }

  /** recentForUser lists a user's own events, newest first. */
  async recentForUser(userId: string, limit = 20) {
    return this.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.userId, userId))
      .orderBy(desc(auditEvents.id))
      .limit(limit);
  }
}

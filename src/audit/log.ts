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
  | 'email.sent'
  | 'email.failed'
  | 'email.refused'
  | 'factor.added'
  | 'factor.removed'
  | 'backup_code.used'
  | 'backup_codes.issued'
  | 'twofactor.disabled'
  | 'twofactor.protection_changed'
  | 'twofactor.preferred'
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
  | 'audit.exported'
  | 'user.created'
  | 'user.imported'
  | 'user.disabled'
  | 'user.enabled'
  | 'password.reset'
  | 'sessions.ended'
  | 'access_pass.issued'
  | 'access_pass.used'
  | 'access_pass.revoked'
  | 'factors.reset'
  | 'token.imported'
  | 'token.bound'
  | 'token.revoked'
  | 'webauthn.added'
  | 'webauthn.removed'
  | 'webauthn.renamed'
  | 'webauthn.cloned'
  | 'notice.retried'
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

/** RecordedEvent is an event as written: its row id and what was recorded. */
export interface RecordedEvent {
  id: number;
  entry: AuditEntry;
}

/** AuditSubscriber hears of each event written by record(); it may be async and is awaited. */
export type AuditSubscriber = (event: RecordedEvent) => unknown;

const FLUSH_EVERY_MS = 20;
const FLUSH_AT = 100;

function row(entry: AuditEntry, at = new Date()) {
  return {
    event: entry.event,
    userId: entry.userId ?? null,
    account: entry.account ?? null,
    ip: entry.origin?.ip ?? null,
    userAgent: entry.origin?.userAgent?.slice(0, 512) ?? null,
    details: entry.details ?? null,
    createdAt: at,
  };
}

/** AuditLog is the single place security events are written and read back. */
export class AuditLog {
  private queue: ReturnType<typeof row>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly subscribers: AuditSubscriber[] = [];

  constructor(
    private readonly db: Db,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /**
   * record writes one event and returns its row id, after handing it to the
   * subscribers: a subscriber's failure goes to the log, never to the action.
   */
  async record(entry: AuditEntry): Promise<number> {
    const [written] = await this.db.insert(auditEvents).values(row(entry)).returning({ id: auditEvents.id });
    const id = written!.id;
    for (const subscriber of this.subscribers) {
      try {
        await subscriber({ id, entry });
      } catch (err) {
        this.onError(err);
      }
    }
    return id;
  }

  /**
   * subscribe hears of every event record() writes (security notices are
   * derived here); recordSoon's high-rate sign-in lines are not announced.
   */
  subscribe(subscriber: AuditSubscriber): void {
    this.subscribers.push(subscriber);
  }

  /**
   * recordSoon queues an event and writes queued events together, within
   * 20 ms: for high-rate events (sign-ins, mail logins) where one insert per
   * event would cost more than the decision itself. A crash loses at most
   * those 20 ms of events.
   */
  recordSoon(entry: AuditEntry): void {
    this.queue.push(row(entry));
    if (this.queue.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
  }

  /** flush writes every queued event now (and is awaited at shutdown). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length) {
      this.flushing = this.flushing.then(() => this.db.insert(auditEvents).values(batch).then(() => undefined, this.onError));
    }
    return this.flushing;
  }

  /** recentForUser lists a user's own events, newest first. */
  async recentForUser(userId: string, limit = 20) {
    await this.flush();
    return this.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.userId, userId))
      .orderBy(desc(auditEvents.id))
      .limit(limit);
  }
}

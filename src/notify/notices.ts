import { and, desc, eq, gt, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type { AuditEntry, AuditLog, Origin, RecordedEvent } from '../audit/log.ts';
import type { Db } from '../db/client.ts';
import { notices } from '../db/schema/index.ts';
import { isLocale } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../log-redact.ts';
import type { RecoveryEmails } from '../twofactor/email/repo.ts';
import type { User, UserRepo } from '../users/repo.ts';
import type { Mailer } from './mailer.ts';
import { isNoticeKind, noticeDetails, RECOVERY_KINDS, renderNotice, type NoticeKind } from './templates.ts';

/** Notice is one security notice to one recipient, as the outbox keeps it. */
export type Notice = typeof notices.$inferSelect;

/** Waits after the 1st, 2nd, … failed attempt, in minutes; after those, every six hours. */
const RETRY_MINUTES = [1, 5, 15, 60, 180];
const RETRY_LATER_MINUTES = 360;
/** A notice the relay has not taken after this many attempts, or this long, is given up (status failed). */
export const MAX_ATTEMPTS = 8;
const GIVE_UP_AFTER_MS = 24 * 3600_000;
/**
 * A node claims a batch by moving its next attempt this far ahead: long
 * enough for the batch's sends (20 s relay timeout each), so no other node
 * takes them meanwhile, and a node that dies mid-batch only delays them.
 */
const CLAIM_MS = 10 * 60_000;
const BATCH = 10;
/** Batches one run sends at most, so a long queue does not hold the worker for ever. */
const MAX_BATCHES = 20;
const MAX_ERROR = 500;
/** How often the worker looks for due notices. */
export const WORKER_EVERY_MS = 5000;
const FAILING_SHOWN = 100;

/**
 * noticeKindOf says which notice an audit event makes, if any. Most events
 * are their own kind; a few are told as what the user would call them, and
 * a factor line that only repeats a token's own event makes none.
 */
export function noticeKindOf(entry: AuditEntry): NoticeKind | undefined {
  const d = entry.details ?? {};
  if (!isNoticeKind(entry.event)) return undefined;
  // A new number confirmed in place of the old one is recorded as a factor added.
  if (entry.event === 'factor.added' && d.factor === 'sms' && d.from !== undefined) return 'phone.changed';
  // Binding a token, and an administrator withdrawing one, are told by token.bound and token.revoked.
  if (entry.event === 'factor.added' && d.factor === 'hardware') return undefined;
  if (entry.event === 'factor.removed' && d.factor === 'hardware' && d.revokedBy !== undefined) return undefined;
  return entry.event;
}

/** retryDelayMs is the wait after a notice's `attempts`-th failed attempt. */
export function retryDelayMs(attempts: number): number {
  return (RETRY_MINUTES[attempts - 1] ?? RETRY_LATER_MINUTES) * 60_000;
}

export interface NoticeDeps {
  db: Db;
  audit: AuditLog;
  users: UserRepo;
  recoveryEmails: RecoveryEmails;
  mailer: Mailer;
  log: Logger;
  /** SERVICE_NAME and PUBLIC_URL, as the mails name and link them. */
  service: string;
  publicUrl?: string;
  now?: () => Date;
}

/** RunResult counts what one run of the worker did. */
export interface RunResult {
  sent: number;
  retrying: number;
  failed: number;
}

/** NoticeSummary is what the administrators' page shows. */
export interface NoticeSummary {
  queued: number;
  sent24h: number;
  failed: number;
  /** Notices given up, and those being retried after a failure, newest first. */
  failing: Notice[];
}

/**
 * Notices is the outbox of security notices: each audit event of a kind
 * users are told of becomes one row per recipient, queued with the action,
 * and a worker sends the rows through the relay, trying again with growing
 * waits. Queueing never fails the action, and sending never blocks it.
 */
export class Notices {
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  /** Runs happen one after another, whoever asks for them. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: NoticeDeps) {
    this.now = d.now ?? (() => new Date());
  }

  /**
   * enqueue turns a recorded audit event into notices: to the user's
   * mailbox (a disabled account only hears that it was disabled) and, for
   * the events of getting back into an account, to the recovery address too.
   * It never throws: a notice that cannot be queued is logged.
   */
  async enqueue({ id, entry }: RecordedEvent): Promise<void> {
    const kind = noticeKindOf(entry);
    if (!kind) return;
    try {
      const user = await this.concerned(kind, entry);
      if (!user) return;
      const recipients: string[] = [];
      if (!user.disabled || kind === 'user.disabled') recipients.push(user.email);
      if (RECOVERY_KINDS.has(kind)) {
        const recovery = await this.d.recoveryEmails.load(user.id);
        if (recovery && recovery.toLowerCase() !== user.email.toLowerCase()) recipients.push(recovery);
      }
      if (!recipients.length) return;
      const now = this.now();
      const details = noticeDetails(kind, { account: user.email, at: now, ip: entry.origin?.ip, userAgent: entry.origin?.userAgent, details: entry.details });
      const locale = isLocale(user.locale) ? user.locale : 'en';
      await this.d.db
        .insert(notices)
        .values(recipients.map((recipient) => ({ userId: user.id, auditEventId: id, recipient, kind, locale, details: { ...details }, nextAttemptAt: now, createdAt: now })));
      this.kick();
    } catch (err) {
      this.d.log.error('security notice not queued', { event: kind, auditEvent: id, error: describeError(err) });
    }
  }

  /** concerned is the account an event is about: its user (none for, say, a token nobody held). */
  private async concerned(_kind: NoticeKind, entry: AuditEntry): Promise<User | undefined> {
    return entry.userId ? this.d.users.load(entry.userId) : undefined;
  }

  /**
   * runOnce sends the notices due at `now`, a batch at a time: each batch is
   * claimed in one statement (`for update skip locked`), so nodes sharing the
   * database never send the same notice. Runs never overlap.
   */
  runOnce(now?: Date): Promise<RunResult> {
    const run = this.last.then(() => this.drain(now));
    this.last = run.catch(() => undefined);
    return run;
  }

  /** start runs the worker every `everyMs` (and now), without keeping the process alive for it. */
  start(everyMs = WORKER_EVERY_MS): void {
    if (this.timer) return;
    this.stopping = false;
    this.timer = setInterval(() => this.kick(), everyMs);
    this.timer.unref();
    this.kick();
  }

  /** stop ends the worker after the notice being sent; notices it had claimed but not sent are due again. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.loop;
    await this.last;
    this.stopping = false;
  }

  /** kick makes a started worker look for due notices now, or once more after the run in progress. */
  kick(): void {
    if (!this.timer) return;
    if (this.loop) {
      this.again = true;
      return;
    }
    this.loop = (async () => {
      do {
        this.again = false;
        try {
          await this.runOnce();
        } catch (err) {
          this.d.log.warn('security notice worker failed', { error: describeError(err) });
        }
      } while (this.again && this.timer);
    })().finally(() => {
      this.loop = undefined;
    });
  }

  /** summary counts the outbox for the administrators and lists the notices not delivered. */
  async summary(now = this.now()): Promise<NoticeSummary> {
    const since = new Date(now.getTime() - 24 * 3600_000);
    const [counts] = await this.d.db
      .select({
        queued: sql<number>`count(*) filter (where ${notices.status} = 'queued')::int`,
        sent24h: sql<number>`count(*) filter (where ${notices.status} = 'sent' and ${notices.sentAt} >= ${since.toISOString()}::timestamptz)::int`,
        failed: sql<number>`count(*) filter (where ${notices.status} = 'failed')::int`,
      })
      .from(notices);
    const failing = await this.d.db
      .select()
      .from(notices)
      .where(or(eq(notices.status, 'failed'), and(eq(notices.status, 'queued'), gt(notices.attempts, 0), isNotNull(notices.lastError))))
      .orderBy(desc(notices.id))
      .limit(FAILING_SHOWN);
    return { queued: Number(counts?.queued ?? 0), sent24h: Number(counts?.sent24h ?? 0), failed: Number(counts?.failed ?? 0), failing };
  }

  /**
   * retry queues a failed notice again for one attempt now (if that fails
   * too, it is failed again), on an administrator's word, which is audited.
   * Returns undefined when there is no failed notice with that id.
   */
  async retry(id: number, admin: { email: string }, origin: Origin): Promise<Notice | undefined> {
    const [row] = await this.d.db
      .update(notices)
      .set({ status: 'queued', nextAttemptAt: this.now() })
      .where(and(eq(notices.id, id), eq(notices.status, 'failed')))
      .returning();
    if (!row) return undefined;
    await this.markAudit(row.auditEventId);
    // Like the other actions of the console: the account it concerns, and the administrator in the details.
    const account = typeof row.details.account === 'string' ? row.details.account : null;
    await this.d.audit.record({ event: 'notice.retried', userId: row.userId, account, origin, details: { admin: admin.email, noticeId: row.id, kind: row.kind, recipient: row.recipient } });
    this.kick();
    return row;
  }

  private async drain(now?: Date): Promise<RunResult> {
    const result: RunResult = { sent: 0, retrying: 0, failed: 0 };
    for (let i = 0; i < MAX_BATCHES; i++) {
      const at = now ?? this.now();
      const batch = await this.claim(at);
      for (const [n, notice] of batch.entries()) {
        if (this.stopping) {
          await this.release(batch.slice(n), at);
          return result;
        }
        result[await this.deliver(notice, now ?? this.now())] += 1;
      }
      if (batch.length < BATCH) break;
    }
    return result;
  }

  /** claim takes up to a batch of due notices for this node, counting the attempt. */
  private async claim(now: Date): Promise<Notice[]> {
    const claimed = await this.d.db.execute(sql`
      with due as (
        select id from notices
        where status = 'queued' and next_attempt_at <= ${now.toISOString()}::timestamptz
        order by next_attempt_at, id
        limit ${BATCH}
        for update skip locked
      )
      update notices set attempts = notices.attempts + 1, next_attempt_at = ${new Date(now.getTime() + CLAIM_MS).toISOString()}::timestamptz
      from due where notices.id = due.id
      returning notices.id`);
    const ids = (claimed as unknown as { rows: Array<{ id: number | string }> }).rows.map((r) => Number(r.id));
    if (!ids.length) return [];
    return this.d.db.select().from(notices).where(inArray(notices.id, ids)).orderBy(notices.id);
  }

  /** release hands claimed notices back unsent, due at once and their attempt not counted. */
  private async release(batch: Notice[], now: Date): Promise<void> {
    if (!batch.length) return;
    await this.d.db
      .update(notices)
      .set({ attempts: sql`greatest(${notices.attempts} - 1, 0)`, nextAttemptAt: now })
      .where(and(inArray(notices.id, batch.map((n) => n.id)), eq(notices.status, 'queued')));
  }

  /** deliver sends one claimed notice and records how it went, on the notice and on its audit event. */
  private async deliver(notice: Notice, now: Date): Promise<keyof RunResult> {
    try {
      if (!isNoticeKind(notice.kind)) throw new Error(`unknown notice kind ${notice.kind}`);
      const mail = renderNotice(notice.kind, isLocale(notice.locale) ? notice.locale : 'en', notice.details, { service: this.d.service, publicUrl: this.d.publicUrl });
      await this.d.mailer.send({ to: notice.recipient, subject: mail.subject, text: mail.text });
    } catch (err) {
      const error = describeError(err).slice(0, MAX_ERROR);
      const giveUp = notice.attempts >= MAX_ATTEMPTS || now.getTime() - notice.createdAt.getTime() >= GIVE_UP_AFTER_MS;
      await this.d.db
        .update(notices)
        .set(giveUp ? { status: 'failed', lastError: error } : { lastError: error, nextAttemptAt: new Date(now.getTime() + retryDelayMs(notice.attempts)) })
        .where(eq(notices.id, notice.id));
      this.d.log.warn('security notice not delivered', { notice: notice.id, kind: notice.kind, attempts: notice.attempts, givenUp: giveUp, error });
      await this.markAudit(notice.auditEventId);
      return giveUp ? 'failed' : 'retrying';
    }
    await this.d.db.update(notices).set({ status: 'sent', sentAt: now, lastError: null }).where(eq(notices.id, notice.id));
    await this.markAudit(notice.auditEventId);
    return 'sent';
  }

  /**
   * markAudit writes on the audit event how its notices stand: 'failed' if
   * one was given up, else 'queued' while one waits, else 'sent'. A failure
   * here is logged: the notice itself is already recorded.
   */
  private async markAudit(auditEventId: number | null): Promise<void> {
    if (auditEventId === null) return;
    try {
      await this.d.db.execute(sql`
        update audit_events set details = coalesce(details, '{}'::jsonb) || jsonb_build_object('notice', (
          select case when bool_or(status = 'failed') then 'failed' when bool_or(status = 'queued') then 'queued' else 'sent' end
          from notices where audit_event_id = ${auditEventId}))
        where id = ${auditEventId}`);
    } catch (err) {
      this.d.log.warn('notice outcome not written to the audit log', { auditEvent: auditEventId, error: describeError(err) });
    }
  }
}

import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, count, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { smsChallenges } from '../../db/schema/index.ts';
import type { Config } from '../../config/schema.ts';
import type { SmsSender } from './sender.ts';

export type CodePurpose = 'login' | 'bind' | 'stepup';

export const CODE_TTL_SECONDS = 5 * 60;
export const CODE_MAX_FAILURES = 5;
export const RESEND_AFTER_SECONDS = 60;

export type SendResult =
  | { ok: true; challengeId: string }
  | { ok: false; reason: 'too_soon' | 'capped'; retryAfterSeconds: number }
  | { ok: false; reason: 'send_failed'; challengeId: string };

export type VerifyResult = { ok: true; phone: string } | { ok: false; reason: 'wrong' | 'expired' | 'locked' };

export interface SendRequest {
  userId: string;
  phone: string;
  purpose: CodePurpose;
  ip: string;
  /** text renders the localized message for a code. */
  text: (code: string) => string;
  /** The code this one replaces (a resend): it must be a minute old, and stops being valid. */
  replaces?: string;
}

/**
 * SmsCodes issues and checks one-time codes: six digits from a secure
 * generator, kept only as an HMAC, valid five minutes, single use, tied to the
 * login attempt or binding that asked for it, five wrong tries at most. Every
 * issue is counted against per-account, per-number, per-IP and site caps.
 */
export class SmsCodes {
  constructor(
    private readonly db: Db,
    private readonly sender: SmsSender,
    private readonly config: Config,
    private readonly key: Buffer,
  ) {}

  async send(req: SendRequest, now = new Date()): Promise<SendResult> {
    const id = randomUUID();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const refused = await this.reserve(req, id, code, now);
    if (refused) return refused;
    try {
      await this.sender.send(req.phone, req.text(code));
    } catch {
      // The provider may still have delivered it (it answered too late): the row keeps counting against
      // every cap and starts the resend wait; as 'failed' it can never be verified.
      await this.db.update(smsChallenges).set({ status: 'failed' }).where(eq(smsChallenges.id, id));
      return { ok: false, reason: 'send_failed', challengeId: id };
    }
    if (req.replaces) {
      // Only the newest code of an attempt is valid.
      await this.db
        .update(smsChallenges)
        .set({ status: 'superseded' })
        .where(and(eq(smsChallenges.id, req.replaces), eq(smsChallenges.userId, req.userId), eq(smsChallenges.status, 'sent')));
    }
    await this.db.update(smsChallenges).set({ status: 'sent' }).where(eq(smsChallenges.id, id));
    return { ok: true, challengeId: id };
  }

  /**
   * reserve checks the resend wait and every cap and writes the code's row in
   * one transaction, under a lock all sends share, so parallel requests
   * cannot all pass a cap that only one of them fits under. Every row counts,
   * whatever the provider later says.
   */
  private reserve(req: SendRequest, id: string, code: string, now: Date): Promise<Exclude<SendResult, { ok: true }> | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('postern:sms-send', 0))`);
      const wait = req.replaces ? await this.resendWait(req.replaces, now, tx) : 0;
      if (wait > 0) return { ok: false as const, reason: 'too_soon' as const, retryAfterSeconds: wait };
      const capped = await this.capWait(req, now, tx);
      if (capped > 0) return { ok: false as const, reason: 'capped' as const, retryAfterSeconds: capped };
      await tx.insert(smsChallenges).values({
        id,
        userId: req.userId,
        purpose: req.purpose,
        phone: req.phone,
        ip: req.ip,
        codeHash: this.hash(id, code),
        status: 'pending',
        createdAt: now,
        expiresAt: new Date(now.getTime() + CODE_TTL_SECONDS * 1000),
      });
      return undefined;
    });
  }

  /**
   * verify checks a code. Each check first takes one of the code's
   * CODE_MAX_FAILURES tries in a single update, so parallel guesses cannot
   * compare more often than that; the try that finds the right code marks it
   * used, once.
   */
  async verify(challengeId: string, userId: string, purpose: CodePurpose, code: string, now = new Date()): Promise<VerifyResult> {
    const [c] = await this.db.select().from(smsChallenges).where(eq(smsChallenges.id, challengeId)).limit(1);
    if (!c || c.userId !== userId || c.purpose !== purpose) return { ok: false, reason: 'wrong' };
    const [tried] = await this.db
      .update(smsChallenges)
      .set({
        failedAttempts: sql`${smsChallenges.failedAttempts} + 1`,
        status: sql`case when ${smsChallenges.failedAttempts} + 1 >= ${CODE_MAX_FAILURES} then 'locked' else ${smsChallenges.status} end`,
      })
      .where(and(eq(smsChallenges.id, c.id), eq(smsChallenges.status, 'sent'), lt(smsChallenges.failedAttempts, CODE_MAX_FAILURES), gt(smsChallenges.expiresAt, now)))
      .returning({ tries: smsChallenges.failedAttempts });
    if (!tried) {
      const [current] = await this.db.select({ status: smsChallenges.status }).from(smsChallenges).where(eq(smsChallenges.id, c.id)).limit(1);
      return { ok: false, reason: current?.status === 'locked' ? 'locked' : 'expired' };
    }

    const given = Buffer.from(this.hash(c.id, code.replace(/\s+/g, '')));
    if (!timingSafeEqual(given, Buffer.from(c.codeHash))) return { ok: false, reason: tried.tries >= CODE_MAX_FAILURES ? 'locked' : 'wrong' };
    // Single use even under concurrent submits: only one update finds it not yet used.
    const used = await this.db
      .update(smsChallenges)
      .set({ status: 'used', failedAttempts: sql`${smsChallenges.failedAttempts} - 1` })
      .where(and(eq(smsChallenges.id, c.id), inArray(smsChallenges.status, ['sent', 'locked'])))
      .returning({ id: smsChallenges.id });
    return used.length ? { ok: true, phone: c.phone } : { ok: false, reason: 'expired' };
  }

  /** state tells a page about the code it waits for: whether it reached the provider, and how long until a new one may be sent. */
  async state(challengeId: string | undefined, now = new Date()): Promise<{ sent: boolean; resendWait: number }> {
    if (!challengeId) return { sent: false, resendWait: 0 };
    const [row] = await this.db.select({ status: smsChallenges.status, at: smsChallenges.createdAt }).from(smsChallenges).where(eq(smsChallenges.id, challengeId)).limit(1);
    if (!row) return { sent: false, resendWait: 0 };
    return { sent: row.status !== 'failed' && row.status !== 'pending', resendWait: waitAfter(row.at, now) };
  }

  async resendWait(challengeId: string | undefined, now = new Date(), reader: Pick<Db, 'select'> = this.db): Promise<number> {
    if (!challengeId) return 0;
    const [last] = await reader
      .select({ at: smsChallenges.createdAt })
      .from(smsChallenges)
      .where(eq(smsChallenges.id, challengeId))
      .limit(1);
    return last ? waitAfter(last.at, now) : 0;
  }

  private async capWait(req: SendRequest, now: Date, reader: Pick<Db, 'select'>): Promise<number> {
    const c = this.config;
    const hour = new Date(now.getTime() - 3600_000);
    const day = new Date(now.getTime() - 86400_000);
    const checks: Array<[SQL | undefined, Date, number, number]> = [
      [eq(smsChallenges.userId, req.userId), hour, c.SMS_MAX_PER_ACCOUNT_HOUR, 3600],
      [eq(smsChallenges.userId, req.userId), day, c.SMS_MAX_PER_ACCOUNT_DAY, 86400],
      [eq(smsChallenges.phone, req.phone), hour, c.SMS_MAX_PER_NUMBER_HOUR, 3600],
      [eq(smsChallenges.phone, req.phone), day, c.SMS_MAX_PER_NUMBER_DAY, 86400],
      [eq(smsChallenges.ip, req.ip), hour, c.SMS_MAX_PER_IP_HOUR, 3600],
      [eq(smsChallenges.ip, req.ip), day, c.SMS_MAX_PER_IP_DAY, 86400],
      [undefined, day, c.SMS_DAILY_BUDGET, 86400],
    ];
    const counts = await Promise.all(
      checks.map(([who, since]) =>
        reader
          .select({ n: count() })
          .from(smsChallenges)
          .where(and(who, gt(smsChallenges.createdAt, since))),
      ),
    );
    let wait = 0;
    checks.forEach(([, , max, window], i) => {
      if ((counts[i]![0]?.n ?? 0) >= max) wait = Math.max(wait, window === 3600 ? 3600 : 86400);
    });
    return wait;
  }

  private hash(id: string, code: string): string {
    return createHmac('sha256', this.key).update(`${id}:${code}`).digest('base64url');
  }
}

/** waitAfter is how many seconds remain, at `now`, before a code sent at `sentAt` may be replaced. */
function waitAfter(sentAt: Date, now: Date): number {
  return Math.max(0, Math.ceil((sentAt.getTime() + RESEND_AFTER_SECONDS * 1000 - now.getTime()) / 1000));
}

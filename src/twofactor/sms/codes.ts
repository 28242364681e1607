import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, count, eq, gt, ne, sql, type SQL } from 'drizzle-orm';
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
  | { ok: false; reason: 'send_failed' };

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
    const wait = req.replaces ? await this.resendWait(req.replaces, now) : 0;
    if (wait > 0) return { ok: false, reason: 'too_soon', retryAfterSeconds: wait };
    const capped = await this.capWait(req, now);
    if (capped > 0) return { ok: false, reason: 'capped', retryAfterSeconds: capped };

    const id = randomUUID();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.db.insert(smsChallenges).values({
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
    try {
      await this.sender.send(req.phone, req.text(code));
    } catch {
      // Nothing reached the phone: the row stays as 'failed', which no cap counts.
      await this.db.update(smsChallenges).set({ status: 'failed' }).where(eq(smsChallenges.id, id));
      return { ok: false, reason: 'send_failed' };
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

  async verify(challengeId: string, userId: string, purpose: CodePurpose, code: string, now = new Date()): Promise<VerifyResult> {
    const [c] = await this.db.select().from(smsChallenges).where(eq(smsChallenges.id, challengeId)).limit(1);
    if (!c || c.userId !== userId || c.purpose !== purpose) return { ok: false, reason: 'wrong' };
    if (c.status === 'locked' || c.failedAttempts >= CODE_MAX_FAILURES) return { ok: false, reason: 'locked' };
    if (c.status !== 'sent' || c.expiresAt <= now) return { ok: false, reason: 'expired' };

    const given = Buffer.from(this.hash(c.id, code.replace(/\s+/g, '')));
    if (!timingSafeEqual(given, Buffer.from(c.codeHash))) {
      const [row] = await this.db
        .update(smsChallenges)
        .set({
          failedAttempts: sql`${smsChallenges.failedAttempts} + 1`,
          status: sql`case when ${smsChallenges.failedAttempts} + 1 >= ${CODE_MAX_FAILURES} then 'locked' else ${smsChallenges.status} end`,
        })
        .where(eq(smsChallenges.id, c.id))
        .returning({ status: smsChallenges.status });
      return { ok: false, reason: row?.status === 'locked' ? 'locked' : 'wrong' };
    }
    // Single use even under concurrent submits: only one update finds it still 'sent'.
    const used = await this.db
      .update(smsChallenges)
      .set({ status: 'used' })
      .where(and(eq(smsChallenges.id, c.id), eq(smsChallenges.status, 'sent')))
      .returning({ id: smsChallenges.id });
    return used.length ? { ok: true, phone: c.phone } : { ok: false, reason: 'expired' };
  }

  /** resendWait is how many seconds remain before the code `challengeId` may be replaced by a new one. */
  async resendWait(challengeId: string | undefined, now = new Date()): Promise<number> {
    if (!challengeId) return 0;
    const [last] = await this.db
      .select({ at: smsChallenges.createdAt })
      .from(smsChallenges)
      .where(eq(smsChallenges.id, challengeId))
      .limit(1);
    if (!last) return 0;
    return Math.max(0, Math.ceil((last.at.getTime() + RESEND_AFTER_SECONDS * 1000 - now.getTime()) / 1000));
  }

  private async capWait(req: SendRequest, now: Date): Promise<number> {
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
        this.db
          .select({ n: count() })
          .from(smsChallenges)
          .where(and(who, gt(smsChallenges.createdAt, since), ne(smsChallenges.status, 'failed'))),
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

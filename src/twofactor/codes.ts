import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, count, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { oneTimeCodes } from '../db/schema/index.ts';
import type { Config } from '../config/schema.ts';

export type CodePurpose = 'login' | 'bind' | 'stepup';
/** How a code travels: a text to a phone, or an email to a recovery address. */
export type Channel = 'sms' | 'email';

/** A texted code lives five minutes; an email may sit in a queue, so ten. */
export const CODE_TTL_SECONDS: Record<Channel, number> = { sms: 5 * 60, email: 10 * 60 };
export const CODE_MAX_FAILURES = 5;
export const RESEND_AFTER_SECONDS = 60;

export type SendResult =
  | { ok: true; challengeId: string }
  | { ok: false; reason: 'too_soon' | 'capped'; retryAfterSeconds: number }
  | { ok: false; reason: 'send_failed'; challengeId: string };

/** `locked`: the code's tries are used up; `triesLeft` counts what a wrong code left. */
export type VerifyResult = { ok: true; destination: string } | { ok: false; reason: 'wrong'; triesLeft: number } | { ok: false; reason: 'expired' | 'locked' };

export interface SendRequest {
  userId: string;
  channel: Channel;
  /** The phone number (E.164) or email address. */
  destination: string;
  purpose: CodePurpose;
  ip: string;
  /** deliver hands the code to the provider or relay; it throws when they refuse. */
  deliver: (code: string) => Promise<void>;
  /** The code this one replaces (a resend): it must be a minute old, and stops being valid. */
  replaces?: string;
}

export interface CodeState {
  /** The code reached the provider or relay. */
  sent: boolean;
  /** Seconds before a new code may replace it. */
  resendWait: number;
  /** Tries left on it; 0 once used up. */
  triesLeft: number;
  /** Its tries are used up: only a new code helps. */
  usedUp: boolean;
}

/**
 * OneTimeCodes issues and checks the codes Postern sends by text or email:
 * six digits from a secure generator, kept only as an HMAC, valid five
 * minutes (ten by email), single use, tied to the login attempt, binding or
 * step-up that asked for it, five wrong tries at most. Every issue is counted
 * against per-account, per-destination and per-IP caps of its channel, and
 * texts against the site's daily budget.
 */
export class OneTimeCodes {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly key: Buffer,
  ) {}

  async send(req: SendRequest, now = new Date()): Promise<SendResult> {
    const id = randomUUID();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const refused = await this.reserve(req, id, code, now);
    if (refused) return refused;
    try {
      await req.deliver(code);
    } catch {
      // The provider may still have delivered it (it answered too late): the row keeps counting against
      // every cap and starts the resend wait; as 'failed' it can never be verified.
      await this.db.update(oneTimeCodes).set({ status: 'failed' }).where(eq(oneTimeCodes.id, id));
      return { ok: false, reason: 'send_failed', challengeId: id };
    }
    if (req.replaces) {
      // Only the newest code of an attempt is valid.
      await this.db
        .update(oneTimeCodes)
        .set({ status: 'superseded' })
        .where(and(eq(oneTimeCodes.id, req.replaces), eq(oneTimeCodes.userId, req.userId), eq(oneTimeCodes.status, 'sent')));
    }
    await this.db.update(oneTimeCodes).set({ status: 'sent' }).where(eq(oneTimeCodes.id, id));
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
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${'postern:code-send:' + req.channel}, 0))`);
      const wait = req.replaces ? await this.resendWait(req.replaces, now, tx) : 0;
      if (wait > 0) return { ok: false as const, reason: 'too_soon' as const, retryAfterSeconds: wait };
      const capped = await this.capWait(req, now, tx);
      if (capped > 0) return { ok: false as const, reason: 'capped' as const, retryAfterSeconds: capped };
      await tx.insert(oneTimeCodes).values({
        id,
        userId: req.userId,
        purpose: req.purpose,
        channel: req.channel,
        destination: req.destination,
        ip: req.ip,
        codeHash: this.hash(id, code),
        status: 'pending',
        createdAt: now,
        expiresAt: new Date(now.getTime() + CODE_TTL_SECONDS[req.channel] * 1000),
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
  async verify(challengeId: string, userId: string, channel: Channel, purpose: CodePurpose, code: string, now = new Date()): Promise<VerifyResult> {
    const [c] = await this.db.select().from(oneTimeCodes).where(eq(oneTimeCodes.id, challengeId)).limit(1);
    if (!c || c.userId !== userId || c.purpose !== purpose || c.channel !== channel) return { ok: false, reason: 'expired' };
    const [tried] = await this.db
      .update(oneTimeCodes)
      .set({
        failedAttempts: sql`${oneTimeCodes.failedAttempts} + 1`,
        status: sql`case when ${oneTimeCodes.failedAttempts} + 1 >= ${CODE_MAX_FAILURES} then 'locked' else ${oneTimeCodes.status} end`,
      })
      .where(and(eq(oneTimeCodes.id, c.id), eq(oneTimeCodes.status, 'sent'), lt(oneTimeCodes.failedAttempts, CODE_MAX_FAILURES), gt(oneTimeCodes.expiresAt, now)))
      .returning({ tries: oneTimeCodes.failedAttempts });
    if (!tried) {
      const [current] = await this.db.select({ status: oneTimeCodes.status }).from(oneTimeCodes).where(eq(oneTimeCodes.id, c.id)).limit(1);
      return { ok: false, reason: current?.status === 'locked' ? 'locked' : 'expired' };
    }

    const given = Buffer.from(this.hash(c.id, code.replace(/\s+/g, '')));
    if (!timingSafeEqual(given, Buffer.from(c.codeHash))) {
      return tried.tries >= CODE_MAX_FAILURES ? { ok: false, reason: 'locked' } : { ok: false, reason: 'wrong', triesLeft: CODE_MAX_FAILURES - tried.tries };
    }
    // Single use even under concurrent submits: only one update finds it not yet used.
    const used = await this.db
      .update(oneTimeCodes)
      .set({ status: 'used', failedAttempts: sql`${oneTimeCodes.failedAttempts} - 1` })
      .where(and(eq(oneTimeCodes.id, c.id), inArray(oneTimeCodes.status, ['sent', 'locked'])))
      .returning({ id: oneTimeCodes.id });
    return used.length ? { ok: true, destination: c.destination } : { ok: false, reason: 'expired' };
  }

  /** state tells a page about the code it waits for: whether it reached the provider, its tries left, and how long until a new one may be sent. */
  async state(challengeId: string | undefined, now = new Date()): Promise<CodeState> {
    const none = { sent: false, resendWait: 0, triesLeft: 0, usedUp: false };
    if (!challengeId) return none;
    const [row] = await this.db
      .select({ status: oneTimeCodes.status, at: oneTimeCodes.createdAt, tries: oneTimeCodes.failedAttempts })
      .from(oneTimeCodes)
      .where(eq(oneTimeCodes.id, challengeId))
      .limit(1);
    if (!row) return none;
    return {
      sent: row.status !== 'failed' && row.status !== 'pending',
      resendWait: waitAfter(row.at, now),
      triesLeft: Math.max(0, CODE_MAX_FAILURES - row.tries),
      usedUp: row.status === 'locked',
    };
  }

  async resendWait(challengeId: string | undefined, now = new Date(), reader: Pick<Db, 'select'> = this.db): Promise<number> {
    if (!challengeId) return 0;
    const [last] = await reader
      .select({ at: oneTimeCodes.createdAt })
      .from(oneTimeCodes)
      .where(eq(oneTimeCodes.id, challengeId))
      .limit(1);
    return last ? waitAfter(last.at, now) : 0;
  }

  private async capWait(req: SendRequest, now: Date, reader: Pick<Db, 'select'>): Promise<number> {
    const c = this.config;
    const hour = new Date(now.getTime() - 3600_000);
    const day = new Date(now.getTime() - 86400_000);
    // Email codes have the same caps as texts (they cost no money, so no site budget), counted apart.
    const checks: Array<[SQL | undefined, Date, number, number]> = [
      [eq(oneTimeCodes.userId, req.userId), hour, c.SMS_MAX_PER_ACCOUNT_HOUR, 3600],
      [eq(oneTimeCodes.userId, req.userId), day, c.SMS_MAX_PER_ACCOUNT_DAY, 86400],
      [eq(oneTimeCodes.destination, req.destination), hour, c.SMS_MAX_PER_NUMBER_HOUR, 3600],
      [eq(oneTimeCodes.destination, req.destination), day, c.SMS_MAX_PER_NUMBER_DAY, 86400],
      [eq(oneTimeCodes.ip, req.ip), hour, c.SMS_MAX_PER_IP_HOUR, 3600],
      [eq(oneTimeCodes.ip, req.ip), day, c.SMS_MAX_PER_IP_DAY, 86400],
      ...(req.channel === 'sms' ? [[undefined, day, c.SMS_DAILY_BUDGET, 86400] as [undefined, Date, number, number]] : []),
    ];
    const counts = await Promise.all(
      checks.map(([who, since]) =>
        reader
          .select({ n: count() })
          .from(oneTimeCodes)
          .where(and(eq(oneTimeCodes.channel, req.channel), who, gt(oneTimeCodes.createdAt, since))),
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

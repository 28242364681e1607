import { and, count, desc, eq, gt } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { authAttempts } from '../db/schema/index.ts';

/** The things Postern throttles separately: each authenticator has its own count. */
export type AttemptKind = 'password' | 'code' | 'stepup' | 'mail';

export interface RegulationRules {
  /** Consecutive failures per account allowed before waits begin. */
  freeFailures: number;
  /** First wait once freeFailures is used up; doubles with each further failure. */
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  /** Consecutive failures per account after which the account is locked for lockSeconds. */
  lockAfter: number;
  lockSeconds: number;
  /** Failures per client IP within ipWindowSeconds before that IP waits out the window. */
  ipMaxFailures: number;
  ipWindowSeconds: number;
}

export const DEFAULT_RULES: RegulationRules = {
  freeFailures: 5,
  baseDelaySeconds: 2,
  maxDelaySeconds: 15 * 60,
  lockAfter: 100,
  lockSeconds: 24 * 3600,
  ipMaxFailures: 50,
  ipWindowSeconds: 15 * 60,
};

export type Verdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Regulator is brute-force protection: it records every attempt and, before
 * a secret is checked, says whether the account or the client IP must wait.
 * Counts live in the database, so they hold across sessions, new codes,
 * resends and several Postern nodes.
 */
export class Regulator {
  constructor(
    private readonly db: Db,
    private readonly rules: RegulationRules = DEFAULT_RULES,
  ) {}

  async check(kind: AttemptKind, account: string, ip: string, now = new Date()): Promise<Verdict> {
    const waits = await Promise.all([this.accountWait(kind, account.toLowerCase(), now), this.ipWait(kind, ip, now)]);
    const wait = Math.max(...waits);
    return wait > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(wait) } : { allowed: true };
  }

  async record(kind: AttemptKind, account: string, ip: string, success: boolean): Promise<void> {
    await this.db.insert(authAttempts).values({ kind, account: account.toLowerCase(), ip, success });
  }

  /** consecutiveFailures counts failures since the account's last success (within the lock window). */
  async consecutiveFailures(kind: AttemptKind, account: string, now = new Date()): Promise<{ n: number; last?: Date }> {
    const since = new Date(now.getTime() - this.rules.lockSeconds * 1000);
    const rows = await this.db
      .select({ success: authAttempts.success, at: authAttempts.createdAt })
      .from(authAttempts)
      .where(and(eq(authAttempts.kind, kind), eq(authAttempts.account, account), gt(authAttempts.createdAt, since)))
      .orderBy(desc(authAttempts.id))
      .limit(this.rules.lockAfter + 1);
    let n = 0;
    while (n < rows.length && !rows[n]!.success) n++;
    return { n, last: rows[0]?.at };
  }

  private async accountWait(kind: AttemptKind, account: string, now: Date): Promise<number> {
    const { n, last } = await this.consecutiveFailures(kind, account, now);
    if (!last || n < this.rules.freeFailures) return 0;
    const delay =
      n >= this.rules.lockAfter
        ? this.rules.lockSeconds
        : Math.min(this.rules.baseDelaySeconds * 2 ** (n - this.rules.freeFailures), this.rules.maxDelaySeconds);
    return (last.getTime() + delay * 1000 - now.getTime()) / 1000;
  }

  private async ipWait(kind: AttemptKind, ip: string, now: Date): Promise<number> {
    const since = new Date(now.getTime() - this.rules.ipWindowSeconds * 1000);
    const [row] = await this.db
      .select({ n: count() })
      .from(authAttempts)
      .where(and(eq(authAttempts.kind, kind), eq(authAttempts.ip, ip), eq(authAttempts.success, false), gt(authAttempts.createdAt, since)));
    return (row?.n ?? 0) >= this.rules.ipMaxFailures ? this.rules.ipWindowSeconds : 0;
  }
}

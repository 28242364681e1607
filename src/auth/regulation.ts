import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { authAttempts } from '../db/schema/index.ts';
import type { FactorKind } from '../twofactor/factor.ts';

/** The things Postern throttles separately: each authenticator, and each kind of second factor, has its own count. */
export type AttemptKind = 'password' | 'stepup' | 'mail' | 'pass' | FactorKind;

export interface RegulationRules {
  /** Consecutive failures per account (or per known device) allowed before waits begin. */
  freeFailures: number;
  /** First wait once freeFailures is used up; doubles with each further failure. */
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  /** Consecutive failures per account after which the account is locked for lockSeconds (untrusted clients only). */
  lockAfter: number;
  lockSeconds: number;
  /** Failures per client IP within ipWindowSeconds before that IP waits out the window (untrusted clients only). */
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

/** A mail client's address counts as known for an account this long after it last signed in from there. */
export const KNOWN_IP_DAYS = 30;

/** Attempt is one try at a secret: what, for which account, from where. */
export interface Attempt {
  kind: AttemptKind;
  account: string;
  ip: string;
  /**
   * A client that proved itself for this account before: a browser with a
   * signed device cookie, or a mail client's known address. It keeps its own
   * count; account-wide waits, the lock and the per-IP limit apply to
   * untrusted clients only, so strangers cannot lock the owner out.
   */
  device?: string;
  /** Without a device: treat the client address as one when it signed in to the account within KNOWN_IP_DAYS (mail clients). */
  knownIp?: boolean;
}

export type Verdict = { allowed: true } | { allowed: false; retryAfterSeconds: number; device?: string };

/** The outcome of a regulated attempt; `device` is the device it was counted on, if any (a known address, say). */
export type Regulated<R> = { allowed: true; result: R; device?: string } | { allowed: false; retryAfterSeconds: number; device?: string };

/**
 * Regulator is brute-force protection and the only way a secret is checked:
 * `regulated()` reserves the attempt atomically (an advisory lock on the
 * account, and on the client IP for untrusted clients, held while the counts
 * are read and the attempt is written as a failure, all in one statement of
 * the database function postern_attempt), then verifies, then turns the
 * reservation into a success if the secret was right. Parallel
 * guesses therefore queue on the lock and each sees the ones before it.
 * Counts live in the database, so they hold across sessions, new codes,
 * resends and several Postern nodes.
 */
export class Regulator {
  /** Reservations that turned out right, waiting to be marked as successes in one statement. */
  private succeeded: number[] = [];
  /** The counts those successes belong to (kind and account): a later attempt on one of them marks them first. */
  private readonly succeededCounts = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** The counts of successes being written now. */
  private readonly writing = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly rules: RegulationRules = DEFAULT_RULES,
  ) {}

  /**
   * regulated runs `verify` only if the attempt may be made now, and records
   * its outcome. A verifier that throws (the store is down) leaves no attempt behind.
   */
  async regulated<R extends { ok: boolean }>(attempt: Attempt, verify: () => Promise<R>, now = new Date()): Promise<Regulated<R>> {
    const reservation = await this.decide(normalize(attempt), now, true);
    const device = reservation.device ?? undefined;
    if (reservation.id === null) return { allowed: false, retryAfterSeconds: Math.ceil(reservation.wait), device };
    let result: R;
    try {
      result = await verify();
    } catch (err) {
      await this.db.delete(authAttempts).where(eq(authAttempts.id, reservation.id)).catch(() => {});
      throw err;
    }
    if (result.ok) this.succeed(reservation.id, attempt);
    return { allowed: true, result, device };
  }

  /**
   * succeed marks a reservation as a success within SUCCESS_BATCH_MS, in
   * one statement with the others of that moment, rather than one write per
   * sign-in. Until then the attempt counts as a failure: the next attempt on
   * the same count from this node marks it first (see decide), and one on
   * another node within those milliseconds at worst sees one failure too many.
   * A mark lost to a crash errs the same, safe, way.
   */
  private succeed(id: number, attempt: Attempt): void {
    this.succeeded.push(id);
    this.succeededCounts.add(countKey(normalize(attempt)));
    this.flushTimer ??= setTimeout(() => void this.flush(), SUCCESS_BATCH_MS).unref();
  }

  /** flush writes the successes waiting in succeed; called by the timer, before a decision on one of their counts, and at shutdown. */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const ids = this.succeeded;
    if (!ids.length) return this.flushing;
    const counts = [...this.succeededCounts];
    this.succeeded = [];
    this.succeededCounts.clear();
    for (const c of counts) this.writing.add(c);
    const write = this.db
      .update(authAttempts)
      .set({ success: true })
      .where(inArray(authAttempts.id, ids))
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        for (const c of counts) this.writing.delete(c);
      });
    this.flushing = Promise.all([this.flushing, write]).then(() => {});
    return this.flushing;
  }

  /** settled waits for the successes of this count to be written before it is read. */
  private async settled(a: Attempt): Promise<void> {
    const key = countKey(a);
    if (this.succeededCounts.has(key)) await this.flush();
    else if (this.writing.has(key)) await this.flushing;
  }

  /** freeFailures is how many failures in a row a client may make before waits begin. */
  get freeFailures(): number {
    return this.rules.freeFailures;
  }

  /** check tells, without reserving anything, whether an attempt would be allowed now (for pages that show it). */
  async check(attempt: Attempt, now = new Date()): Promise<Verdict> {
    const { wait, device } = await this.decide(normalize(attempt), now, false);
    return wait > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(wait), device: device ?? undefined } : { allowed: true };
  }

  /** consecutiveFailures counts an untrusted account's (or one device's) failures since its last success, within the lock window. */
  async consecutiveFailures(attempt: Attempt, now = new Date()): Promise<{ n: number; last?: Date }> {
    const a = normalize(attempt);
    await this.settled(a);
    const since = new Date(now.getTime() - this.rules.lockSeconds * 1000);
    const rows = await this.db
      .select({ success: authAttempts.success, at: authAttempts.createdAt })
      .from(authAttempts)
      .where(
        and(
          eq(authAttempts.kind, a.kind),
          eq(authAttempts.account, a.account),
          a.device ? eq(authAttempts.device, a.device) : isNull(authAttempts.device),
          gt(authAttempts.createdAt, since),
        ),
      )
      .orderBy(desc(authAttempts.id))
      .limit(this.rules.lockAfter + 1);
    let n = 0;
    while (n < rows.length && !rows[n]!.success) n++;
    return { n, last: rows[0]?.at };
  }

  /**
   * decide asks the database function postern_attempt (migration 0006) for
   * the wait, and with `reserve` for the reservation too: locks, counts and
   * insert in one statement, so one round trip.
   */
  private async decide(a: Attempt, now: Date, reserve: boolean): Promise<{ wait: number; id: number | null; device: string | null }> {
    await this.settled(a);
    const r = this.rules;
    const result = await this.db.execute(
      sql`select wait_seconds, attempt_id, device from postern_attempt(${a.kind}, ${a.account}, ${a.ip}, ${a.device ?? null}, ${now.toISOString()}::timestamptz, ${reserve},
        ${r.freeFailures}, ${r.baseDelaySeconds}, ${r.maxDelaySeconds}, ${r.lockAfter}, ${r.lockSeconds}, ${r.ipMaxFailures}, ${r.ipWindowSeconds},
        ${a.knownIp ? KNOWN_IP_DAYS : null}::integer)`,
    );
    const [row] = (result as unknown as { rows: Array<{ wait_seconds: number | string; attempt_id: number | string | null; device: string | null }> }).rows;
    return { wait: Number(row!.wait_seconds), id: row!.attempt_id === null ? null : Number(row!.attempt_id), device: row!.device };
  }
}

/** How long a success may wait to be written with others. */
const SUCCESS_BATCH_MS = 100;

function countKey(a: Attempt): string {
  return `${a.kind}\0${a.account}`;
}

function normalize(a: Attempt): Attempt {
  return { ...a, account: a.account.trim().toLowerCase().slice(0, 320) };
}

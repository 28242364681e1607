/**
 * HashQueue keeps mail logins from waiting longer than the proxy will.
 *
 * A login that is not in the cache costs one argon2 verification, and a
 * machine finishes only so many per second (about 37 on two cores). After
 * a restart hundreds of clients reconnect at once; verified one after the
 * other, the last ones would wait far longer than nginx's auth_http_timeout
 * (5 s), and nginx would drop them without a reply. Instead, a login that
 * would finish too late is turned away at once with a temporary failure and
 * a wait: the client retries then, when the queue has moved on.
 *
 * The expected wait is the work ahead of a new login (those in flight) times
 * the average time a verification took, over the verifications that run in
 * parallel. The average follows what is measured, so a slower or busier
 * machine admits fewer at a time.
 */
export class HashQueue {
  private inFlight = 0;
  private avgMs: number;

  constructor(
    /** Longest a login may expect to wait for its verification (keep it under the proxy's timeout). */
    private readonly budgetMs = 3000,
    /** Verifications that run side by side (libuv's thread pool, at most the cores). */
    private readonly parallel = 2,
    /** A first guess at one verification's time, until some were measured. */
    initialMs = 50,
  ) {
    this.avgMs = initialMs;
  }

  /** expectedWaitMs is how long a login arriving now would wait for its own verification to finish. */
  expectedWaitMs(): number {
    return ((this.inFlight + 1) * this.avgMs) / this.parallel;
  }

  /**
   * enter takes a place in the queue, or says how many seconds to come back
   * after: long enough for the work ahead to drain, spread a little so the
   * turned-away clients do not all return in the same second.
   */
  enter(now = performance.now()): { ok: true; ticket: Ticket } | { ok: false; retryAfterSeconds: number } {
    if (this.inFlight > 0 && this.expectedWaitMs() > this.budgetMs) {
      const drainSeconds = (this.inFlight * this.avgMs) / this.parallel / 1000;
      const spread = 1 + Math.random();
      return { ok: false, retryAfterSeconds: Math.min(30, Math.max(1, Math.ceil(drainSeconds * spread))) };
    }
    const ticket = { ahead: this.inFlight, startedAt: now };
    this.inFlight += 1;
    return { ok: true, ticket };
  }

  /**
   * leave gives the place back. `hashed` says whether the login ran a
   * verification: only those teach the average. A login that had others
   * ahead of it also waited for them, so its time is shared out: with
   * `ahead` in front on `parallel` threads, it took about (ahead + 1) /
   * parallel verifications' time.
   */
  leave(ticket: Ticket, hashed: boolean, now = performance.now()): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (!hashed) return;
    const took = Math.min(now - ticket.startedAt, 10_000);
    const share = Math.max(1, (ticket.ahead + 1) / this.parallel);
    this.avgMs = this.avgMs * 0.8 + (took / share) * 0.2;
  }

  /** waiting is the number of verifications admitted and not yet finished. */
  get waiting(): number {
    return this.inFlight;
  }

  /** averageMs is the current estimate of one verification's time. */
  get averageMs(): number {
    return this.avgMs;
  }
}

/** Ticket is a place in the queue: how many were ahead, and when it was taken. */
export interface Ticket {
  ahead: number;
  startedAt: number;
}

/**
 * HashQueue keeps mail logins from waiting longer than the proxy will.
 *
 * A login that is not in the cache costs store queries and one argon2
 * verification, and a machine finishes only so many per second (about 37 on
 * two cores). After a restart hundreds of clients reconnect at once. Run all
 * at once, they would crowd the store and the cores together, every one of
 * them late, and nginx would drop them without a reply after its
 * auth_http_timeout (5 s). Instead, a few run at a time (`slots`) and the
 * others wait their turn in order; a login that would finish too late is
 * turned away at once with a temporary failure and a wait, and the client
 * retries then, when the queue has moved on.
 *
 * A login's expected time is the work ahead of it (those running and those
 * waiting, plus itself) times the time one login holds a slot, over the
 * slots. That time is learned from what is measured, slot by slot, so a
 * slower or busier machine admits fewer.
 */
export class HashQueue {
  private running = 0;
  /** Admitted, waiting for a slot. */
  private pending = 0;
  /** Those waiting that asked for their turn, in order. */
  private readonly queued: Array<() => void> = [];
  private avgMs: number;

  constructor(
    /** Longest a login may expect to wait for its verification (keep it under the proxy's timeout). */
    private readonly budgetMs = 3000,
    /** Logins that run side by side: enough to keep the hashing threads busy while others query the store. */
    private readonly slots = 4,
    /** A first guess at the time one login holds a slot, until some were measured: on the slow side, so a cold start admits few. */
    initialMs = 100,
  ) {
    this.avgMs = initialMs;
  }

  /** expectedWaitMs is how long a login arriving now would take to be done, queue and its own work together. */
  expectedWaitMs(): number {
    return Math.ceil((this.running + this.pending + 1) / this.slots) * this.avgMs;
  }

  /**
   * enter takes a place in the queue, or says how many seconds to come back
   * after: long enough for the work ahead to drain, spread a little so the
   * turned-away clients do not all return in the same second. The first
   * login is always admitted. Then `await turn(ticket)` before the work.
   */
  enter(now = performance.now()): { ok: true; ticket: Ticket } | { ok: false; retryAfterSeconds: number } {
    const ahead = this.running + this.pending;
    if (ahead > 0 && this.expectedWaitMs() > this.budgetMs) {
      const drainSeconds = (ahead * this.avgMs) / this.slots / 1000;
      const spread = 1 + Math.random();
      return { ok: false, retryAfterSeconds: Math.min(30, Math.max(1, Math.ceil(drainSeconds * spread))) };
    }
    const ticket: Ticket = { startedAt: undefined };
    if (this.running < this.slots && this.pending === 0) this.start(ticket, now);
    else this.pending += 1;
    return { ok: true, ticket };
  }

  /** turn resolves when the ticket holds a slot: at once, or when one ahead of it leaves. */
  turn(ticket: Ticket): Promise<void> {
    if (ticket.startedAt !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.queued.push(() => {
        this.pending -= 1;
        this.start(ticket, performance.now());
        resolve();
      });
      // A slot may have come free before this login asked for its turn.
      if (this.running < this.slots && this.queued.length === 1) this.queued.shift()!();
    });
  }

  /**
   * leave gives the slot to the next in line. `hashed` says whether the
   * login ran a verification: only those teach the estimate, with the time
   * they held their slot (a refusal before the hash took next to none).
   */
  leave(ticket: Ticket, hashed: boolean, now = performance.now()): void {
    if (ticket.startedAt === undefined) return;
    this.running -= 1;
    if (hashed) this.avgMs = this.avgMs * 0.8 + Math.min(now - ticket.startedAt, 10_000) * 0.2;
    this.queued.shift()?.();
  }

  private start(ticket: Ticket, now: number): void {
    this.running += 1;
    ticket.startedAt = now;
  }

  /** waiting is the number of logins admitted and not yet done, running or in line. */
  get waiting(): number {
    return this.running + this.pending;
  }

  /** averageMs is the current estimate of the time one login holds a slot. */
  get averageMs(): number {
    return this.avgMs;
  }
}

/** Ticket is a place in the queue: when it got its slot, once it has. */
export interface Ticket {
  startedAt: number | undefined;
}

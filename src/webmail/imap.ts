import { ImapFlow } from 'imapflow';
import type { BackendTls } from './backend-tls.ts';
import type { Logger } from '../log.ts';

/**
 * Opening an IMAP session costs 14–24 ms (connect, master login, select)
 * while a fetch on an open one costs 1–3 ms, so mailboxes keep a few
 * connections open between requests and close them once idle.
 */
export interface PoolOptions {
  host: string;
  port: number;
  /** TLS from the first byte or STARTTLS required (see backend-tls.ts); unset: STARTTLS when the backend offers it. */
  tls?: BackendTls;
  masterUser?: string;
  masterPassword?: string;
  /** Open connections per mailbox at most; further requests wait their turn. */
  perMailbox?: number;
  /** Close a connection nobody used for this long. */
  idleMs?: number;
  /** Give up on connect + greeting + login after this long: the backend is down or slow. */
  connectTimeoutMs?: number;
  /** Give up waiting for a free connection of a busy mailbox after this long. */
  waitTimeoutMs?: number;
  /** A command with no answer for this long ends the connection. */
  socketTimeoutMs?: number;
}

/** BackendError means the mail backend could not be reached, refused the login or timed out. */
export class BackendError extends Error {
  constructor(
    readonly reason: 'unconfigured' | 'unavailable' | 'busy',
    cause?: unknown,
  ) {
    super(`mail backend ${reason}${cause ? `: ${(cause as Error)?.message ?? cause}` : ''}`);
  }
}

interface Lease {
  client: ImapFlow;
  timer?: NodeJS.Timeout;
}

interface Slot {
  idle: Lease[];
  busy: number;
  waiting: Array<{ resolve: (l: Lease | null) => void; timer: NodeJS.Timeout }>;
}

/** ImapPool keeps a bounded set of master-user IMAP sessions per mailbox. */
export class ImapPool {
  private readonly slots = new Map<string, Slot>();
  private closed = false;
  private readonly o: Required<Omit<PoolOptions, 'masterUser' | 'masterPassword' | 'tls'>> & Pick<PoolOptions, 'masterUser' | 'masterPassword' | 'tls'>;

  constructor(
    opts: PoolOptions,
    private readonly log: Logger,
  ) {
    this.o = { perMailbox: 3, idleMs: 60_000, connectTimeoutMs: 5_000, waitTimeoutMs: 10_000, socketTimeoutMs: 30_000, ...opts };
  }

  get configured(): boolean {
    return !!(this.o.masterUser && this.o.masterPassword);
  }

  /**
   * use lends an open session on a mailbox to `fn`, logged in as the master
   * user on behalf of `owner`. A session that broke while lent is dropped;
   * the others go back to the pool.
   */
  async use<T>(owner: string, fn: (client: ImapFlow) => Promise<T>): Promise<T> {
    if (!this.configured) throw new BackendError('unconfigured');
    if (this.closed) throw new BackendError('unavailable');
    const key = owner.toLowerCase();
    const lease = await this.acquire(key);
    try {
      return await fn(lease.client);
    } finally {
      this.release(key, lease);
    }
  }

  /** open counts the connections a mailbox holds right now (for tests and the benchmark). */
  open(owner: string): number {
    const slot = this.slots.get(owner.toLowerCase());
    return slot ? slot.idle.length + slot.busy : 0;
  }

  /** close logs every idle session out and refuses new work; used on shutdown. */
  async close(): Promise<void> {
    this.closed = true;
    const all: Lease[] = [];
    for (const slot of this.slots.values()) {
      for (const w of slot.waiting) {
        clearTimeout(w.timer);
        w.resolve(null);
      }
      all.push(...slot.idle.splice(0));
    }
    await Promise.all(all.map((l) => this.retire(l)));
  }

  private slot(key: string): Slot {
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { idle: [], busy: 0, waiting: [] }));
    return slot;
  }

  private async acquire(key: string): Promise<Lease> {
    const slot = this.slot(key);
    while (slot.idle.length) {
      const lease = slot.idle.pop()!;
      clearTimeout(lease.timer);
      if (lease.client.usable) {
        slot.busy += 1;
        return lease;
      }
      void this.retire(lease);
    }
    if (slot.busy < this.o.perMailbox) {
      slot.busy += 1;
      try {
        return { client: await this.connect(key) };
      } catch (err) {
        slot.busy -= 1;
        this.forget(key, slot);
        throw err;
      }
    }
    const lease = await new Promise<Lease | null>((resolve) => {
      const timer = setTimeout(() => {
        slot.waiting = slot.waiting.filter((w) => w.resolve !== resolve);
        resolve(null);
      }, this.o.waitTimeoutMs);
      slot.waiting.push({ resolve, timer });
    });
    if (!lease) throw new BackendError(this.closed ? 'unavailable' : 'busy');
    return lease;
  }

  private release(key: string, lease: Lease): void {
    const slot = this.slot(key);
    if (!lease.client.usable || this.closed) {
      slot.busy -= 1;
      void this.retire(lease);
      // A waiter may open a fresh connection in the freed place.
      const next = slot.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        slot.busy += 1;
        this.connect(key).then(
          (client) => next.resolve({ client }),
          () => {
            slot.busy -= 1;
            next.resolve(null);
          },
        );
      }
      this.forget(key, slot);
      return;
    }
    const next = slot.waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve(lease);
      return;
    }
    slot.busy -= 1;
    lease.timer = setTimeout(() => {
      slot.idle = slot.idle.filter((l) => l !== lease);
      void this.retire(lease);
      this.forget(key, slot);
    }, this.o.idleMs);
    lease.timer.unref();
    slot.idle.push(lease);
  }

  private forget(key: string, slot: Slot): void {
    if (!slot.idle.length && !slot.busy && !slot.waiting.length) this.slots.delete(key);
  }

  private async connect(owner: string): Promise<ImapFlow> {
    const client = new ImapFlow({
      host: this.o.host,
      port: this.o.port,
      secure: this.o.tls?.secure ?? false,
      // true: no STARTTLS, no login (an attacker may strip it); undefined: STARTTLS when offered.
      doSTARTTLS: this.o.tls?.requireStarttls ? true : undefined,
      tls: this.o.tls?.tls,
      logger: false,
      auth: { user: this.o.masterUser!, pass: this.o.masterPassword!, authzid: owner },
      connectionTimeout: this.o.connectTimeoutMs,
      greetingTimeout: this.o.connectTimeoutMs,
      socketTimeout: this.o.socketTimeoutMs,
      // The pool, not IDLE, keeps sessions fresh; IDLE would cost a round trip per request.
      disableAutoIdle: true,
      clientInfo: { name: 'Postern webmail' },
    });
    // A dropped connection emits 'error'; unhandled, it would end the process.
    client.on('error', (err: Error) => this.log.debug('imap connection error', { owner, error: err.message }));
    // imapflow's own timeouts cover connect and greeting; this one also covers a login the server sits on.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('login timed out')), this.o.connectTimeoutMs);
    });
    try {
      await Promise.race([client.connect(), deadline]);
      return client;
    } catch (err) {
      client.close();
      this.log.warn('could not open the mailbox on the IMAP backend', { owner, host: this.o.host, port: this.o.port, error: (err as Error)?.message });
      throw new BackendError('unavailable', err);
    } finally {
      clearTimeout(timer);
    }
  }

  private async retire(lease: Lease): Promise<void> {
    clearTimeout(lease.timer);
    try {
      if (lease.client.usable) await Promise.race([lease.client.logout(), new Promise((r) => setTimeout(r, 1000).unref())]);
    } catch {
      // Already gone.
    } finally {
      lease.client.close();
    }
  }
}

import { createHash } from 'node:crypto';

export interface CachedLogin {
  userId: string;
  email: string;
  appPasswordId?: string;
  /** For client-specific passwords: what it may open, and until when. */
  scopes?: string[];
  passwordExpiresAt?: number | null;
  /** For main-password logins: the password's change time when it was verified. */
  passwordChangedAt?: number;
  /** The generation the credentials were read under (see LoginCache.generation). */
  generation: number;
  expiresAt: number;
}

/**
 * LoginCache remembers recently verified credentials so a client that
 * reconnects (mail clients do, often) costs no hash. Keys are SHA-256 of the
 * credentials, never the credentials; the cache is bounded and entries expire.
 *
 * Every change to a user's credentials starts a new generation for that user
 * (forgetUser), every site-wide change one for everyone (clear). A login
 * takes the generation before it reads the database and stores it with the
 * entry; an entry whose user changed since that moment is never stored nor
 * served, so a revoke that lands while a login is between its read and its
 * write still stops the password at once.
 */
export class LoginCache {
  private readonly entries = new Map<string, CachedLogin>();
  private readonly byUser = new Map<string, Set<string>>();
  /**
   * One counter stamps every change. A login does not know whose credentials
   * it reads until it has read them, so its stamp must cover every user:
   * an entry is current when it was read at or after both its user's last
   * change and the last change for everyone.
   */
  private counter = 0;
  private everyoneChangedAt = 0;
  private readonly userChangedAt = new Map<string, number>();
  /** Who holds copies of entries (the mail-login front's thread): told of every change, in order. */
  private readonly watchers = new Set<(userId: string) => void>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly max = 10_000,
  ) {}

  /**
   * key names one login: who, with what, over which protocol, from where. The
   * address is part of it so that a cached login answers only the client
   * that proved it; anyone else is verified, and throttled, afresh.
   */
  static key(user: string, secret: string, protocol: string, clientIp: string): string {
    return createHash('sha256').update(`${user}\0${secret}\0${protocol}\0${clientIp}`).digest('base64url');
  }

  /** generation is the stamp a login takes before it reads credentials from the database. */
  generation(): number {
    return this.counter;
  }

  get(key: string, now = Date.now()): CachedLogin | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= now || !this.current(hit.userId, hit.generation)) {
      this.delete(key);
      return undefined;
    }
    return hit;
  }

  /** set stores a verified login read under `value.generation`, unless the user's credentials changed since. */
  set(key: string, value: Omit<CachedLogin, 'expiresAt'>, now = Date.now()): void {
    if (this.ttlMs <= 0 || !this.current(value.userId, value.generation)) return;
    this.delete(key);
    if (this.entries.size >= this.max) this.delete(this.entries.keys().next().value!);
    this.entries.set(key, { ...value, expiresAt: now + this.ttlMs });
    let keys = this.byUser.get(value.userId);
    if (!keys) this.byUser.set(value.userId, (keys = new Set()));
    keys.add(key);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const keys = this.byUser.get(entry.userId);
    keys?.delete(key);
    if (keys?.size === 0) this.byUser.delete(entry.userId);
  }

  /** onChange calls `watcher` with a user id, or '*' for everyone, whenever what is cached about them becomes void; returns the way to stop. */
  onChange(watcher: (userId: string) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** forgetUser starts a new generation for one user: what is cached, or being read, about them is void. */
  forgetUser(userId: string): void {
    // Remembering every user who ever changed would grow without bound; a change for everyone is the safe summary.
    if (this.userChangedAt.size >= this.max) return this.clear();
    this.userChangedAt.set(userId, ++this.counter);
    for (const w of this.watchers) w(userId);
    for (const key of this.byUser.get(userId) ?? []) this.entries.delete(key);
    this.byUser.delete(userId);
  }

  /** clear starts a new generation for everyone. */
  clear(): void {
    this.everyoneChangedAt = ++this.counter;
    for (const w of this.watchers) w('*');
    this.userChangedAt.clear();
    this.entries.clear();
    this.byUser.clear();
  }

  private current(userId: string, generation: number): boolean {
    return generation >= this.everyoneChangedAt && generation >= (this.userChangedAt.get(userId) ?? 0);
  }
}

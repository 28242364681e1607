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
  expiresAt: number;
}

/**
 * LoginCache remembers recently verified credentials so a client that
 * reconnects (mail clients do, often) costs no hash. Keys are SHA-256 of the
 * credentials, never the credentials; the cache is bounded and entries expire.
 * Entries of a user are forgotten as soon as anything about the user's
 * credentials changes (see forgetUser), so a revoked password stops working
 * at once.
 */
export class LoginCache {
  private readonly entries = new Map<string, CachedLogin>();
  private readonly byUser = new Map<string, Set<string>>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly max = 10_000,
  ) {}

  static key(user: string, secret: string, protocol: string): string {
    return createHash('sha256').update(`${user}\0${secret}\0${protocol}`).digest('base64url');
  }

  get(key: string, now = Date.now()): CachedLogin | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    return hit;
  }

  set(key: string, value: Omit<CachedLogin, 'expiresAt'>, now = Date.now()): void {
    if (this.ttlMs <= 0) return;
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

  /** forgetUser drops every entry of one user. */
  forgetUser(userId: string): void {
    for (const key of this.byUser.get(userId) ?? []) this.entries.delete(key);
    this.byUser.delete(userId);
  }

  clear(): void {
    this.entries.clear();
    this.byUser.clear();
  }
}

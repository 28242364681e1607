import { createHash } from 'node:crypto';

export interface CachedLogin {
  userId: string;
  appPasswordId?: string;
  /** For main-password logins: the password's change time when it was verified. */
  passwordChangedAt?: number;
  expiresAt: number;
}

/**
 * LoginCache remembers recently verified credentials so a client that
 * reconnects (mail clients do, often) costs no hash. Keys are SHA-256 of the
 * credentials, never the credentials; the cache is bounded and entries expire.
 * It only saves the hash: every hit is re-checked against the database, so a
 * revoked password stops working at once.
 */
export class LoginCache {
  private readonly entries = new Map<string, CachedLogin>();

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
      this.entries.delete(key);
      return undefined;
    }
    return hit;
  }

  set(key: string, value: Omit<CachedLogin, 'expiresAt'>, now = Date.now()): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { ...value, expiresAt: now + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

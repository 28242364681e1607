import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, gt, lt, or, isNull } from 'drizzle-orm';
import UAParser from 'ua-parser-js';
import type { Db } from '../db/client.ts';
import { trustedDevices } from '../db/schema/index.ts';

export type TrustedDevice = typeof trustedDevices.$inferSelect;

const LAST_USED_EVERY_MS = 60_000;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** deviceName reads "Chrome on Windows" out of a user agent. */
export function deviceName(userAgent: string): string {
  const ua = new UAParser(userAgent).getResult();
  const browser = ua.browser.name ?? 'Browser';
  const os = ua.os.name;
  return (os ? `${browser} on ${os}` : browser).slice(0, 80);
}

/**
 * TrustedDevices remembers browsers that may skip the second factor. The
 * cookie holds a random 256-bit token; only its hash is stored, with the user
 * it belongs to and an expiry fixed when it was trusted (not sliding).
 */
export class TrustedDevices {
  /** `days` is how long a browser stays trusted: a number, or the policy's current one. */
  constructor(
    private readonly db: Db,
    private readonly days: number | (() => Promise<number>),
  ) {}

  async trust(userId: string, userAgent: string, ip: string, now = new Date()): Promise<{ token: string; device: TrustedDevice }> {
    const token = randomBytes(32).toString('base64url');
    const days = typeof this.days === 'number' ? this.days : await this.days();
    const [device] = await this.db
      .insert(trustedDevices)
      .values({
        userId,
        tokenHash: hashToken(token),
        name: deviceName(userAgent),
        ip,
        createdAt: now,
        expiresAt: new Date(now.getTime() + days * 86400_000),
      })
      .returning();
    return { token, device: device! };
  }

  /** recognise returns the device when the token is this user's and unexpired, and notes its use. */
  async recognise(userId: string, token: string | undefined, now = new Date()): Promise<TrustedDevice | undefined> {
    if (!token || token.length > 100) return undefined;
    const [device] = await this.db
      .select()
      .from(trustedDevices)
      .where(and(eq(trustedDevices.tokenHash, hashToken(token)), eq(trustedDevices.userId, userId), gt(trustedDevices.expiresAt, now)))
      .limit(1);
    if (!device) return undefined;
    await this.db
      .update(trustedDevices)
      .set({ lastUsedAt: now })
      .where(
        and(
          eq(trustedDevices.id, device.id),
          or(isNull(trustedDevices.lastUsedAt), lt(trustedDevices.lastUsedAt, new Date(now.getTime() - LAST_USED_EVERY_MS))),
        ),
      );
    return device;
  }

  async list(userId: string, now = new Date()): Promise<TrustedDevice[]> {
    return this.db
      .select()
      .from(trustedDevices)
      .where(and(eq(trustedDevices.userId, userId), gt(trustedDevices.expiresAt, now)))
      .orderBy(desc(trustedDevices.createdAt));
  }

  /** revoke removes one of the user's devices; returns false when it was not theirs. */
  async revoke(userId: string, deviceId: string): Promise<TrustedDevice | undefined> {
    const [row] = await this.db
      .delete(trustedDevices)
      .where(and(eq(trustedDevices.id, deviceId), eq(trustedDevices.userId, userId)))
      .returning();
    return row;
  }

  async revokeAll(userId: string): Promise<number> {
    const rows = await this.db.delete(trustedDevices).where(eq(trustedDevices.userId, userId)).returning({ id: trustedDevices.id });
    return rows.length;
  }
}

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a browser stays known to an account after its last successful sign-in. */
export const DEVICE_COOKIE_DAYS = 180;

/**
 * DeviceCookies implements OWASP's "device cookies" against lock-out by
 * strangers: a browser where an account signed in successfully carries a
 * value signed for that account, and its later attempts are counted on their
 * own instead of against the account-wide count that strangers drive up.
 * The value is `<nonce>.<HMAC(account, nonce)>`; the device key it yields is
 * a hash of the nonce, so the attempts table holds nothing replayable.
 */
export class DeviceCookies {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('postern device cookies').digest();
  }

  /** issue returns a new cookie value for a browser that just signed in to `account`. */
  issue(account: string): string {
    const nonce = randomBytes(18).toString('base64url');
    return `${nonce}.${this.sign(account, nonce)}`;
  }

  /** deviceFor returns the device key when `value` was issued for `account`, else undefined. */
  deviceFor(account: string, value: string | undefined): string | undefined {
    if (!value || value.length > 200) return undefined;
    const dot = value.indexOf('.');
    if (dot <= 0) return undefined;
    const nonce = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const want = Buffer.from(this.sign(account, nonce));
    if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
    return `web:${createHash('sha256').update(nonce).digest('base64url').slice(0, 22)}`;
  }

  private sign(account: string, nonce: string): string {
    return createHmac('sha256', this.key).update(`${account.trim().toLowerCase()}\0${nonce}`).digest('base64url');
  }
}

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { isHttps } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { readCookie } from './context.ts';

/**
 * LoginCsrf protects the sign-in form without a server-side session, so
 * that merely visiting the login page stores nothing (no session row per
 * anonymous visitor). The browser keeps a random value in an HttpOnly cookie;
 * the form carries its HMAC under the server's secret (signed double submit).
 * Another site can neither read that cookie nor forge the HMAC.
 */
export class LoginCsrf {
  private readonly key: Buffer;
  readonly cookieName: string;

  constructor(
    secret: string,
    private readonly config: Config,
  ) {
    this.key = createHmac('sha256', secret).update('postern login form').digest();
    this.cookieName = isHttps(config) ? '__Host-postern_login' : 'postern_login';
  }

  /** token returns the form value for this browser, giving it a cookie first when it has none. */
  token(req: Request, res: Response): string {
    let nonce = readCookie(req, this.cookieName);
    if (!nonce || !/^[\w-]{43}$/.test(nonce)) {
      nonce = randomBytes(32).toString('base64url');
      res.cookie(this.cookieName, nonce, { httpOnly: true, sameSite: 'lax', secure: isHttps(this.config), path: '/' });
    }
    return this.sign(nonce);
  }

  /** verify checks the submitted form value against this browser's cookie. */
  verify(req: Request): boolean {
    const nonce = readCookie(req, this.cookieName);
    const given = typeof req.body?._csrf === 'string' ? req.body._csrf : '';
    if (!nonce || !given) return false;
    const want = Buffer.from(this.sign(nonce));
    const got = Buffer.from(given);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private sign(nonce: string): string {
    return createHmac('sha256', this.key).update(nonce).digest('base64url');
  }
}

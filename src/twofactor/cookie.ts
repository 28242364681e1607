import type { Request, Response } from 'express';
import { isHttps } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { readCookie } from '../http/context.ts';

/** The trusted-browser cookie: `__Host-` prefixed over https so no subdomain can plant one. */
export function trustCookieName(config: Config): string {
  return isHttps(config) ? '__Host-postern_trust' : 'postern_trust';
}

export function readTrustCookie(req: Request, config: Config): string | undefined {
  return readCookie(req, trustCookieName(config));
}

export function setTrustCookie(res: Response, config: Config, token: string, expires: Date): void {
  res.cookie(trustCookieName(config), token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: isHttps(config),
    path: '/',
    expires,
  });
}

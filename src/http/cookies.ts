import type { Request, Response } from 'express';
import { isHttps } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { DEVICE_COOKIE_DAYS, type DeviceCookies } from '../auth/device-cookie.ts';
import { readCookie } from './context.ts';

/**
 * The long-lived cookies Postern sets besides the session: the trusted-browser
 * token (skips the second factor) and the device cookie (its own throttling
 * count). Both are `__Host-` prefixed over https so no subdomain can plant one.
 */
const name = (config: Config, base: string) => (isHttps(config) ? `__Host-${base}` : base);

function set(res: Response, config: Config, cookie: string, value: string, expires: Date): void {
  res.cookie(name(config, cookie), value, { httpOnly: true, sameSite: 'lax', secure: isHttps(config), path: '/', expires });
}

export const trustCookieName = (config: Config) => name(config, 'postern_trust');

export function readTrustCookie(req: Request, config: Config): string | undefined {
  return readCookie(req, trustCookieName(config));
}

export function setTrustCookie(res: Response, config: Config, token: string, expires: Date): void {
  set(res, config, 'postern_trust', token, expires);
}

export function readDeviceCookie(req: Request, config: Config): string | undefined {
  return readCookie(req, name(config, 'postern_device'));
}

export function setDeviceCookie(res: Response, config: Config, value: string): void {
  set(res, config, 'postern_device', value, new Date(Date.now() + DEVICE_COOKIE_DAYS * 86400_000));
}

/** knownDevice is the regulator's device key for the signed-in user's browser, when its device cookie was issued to them. */
export function knownDevice(req: Request, config: Config, devices: DeviceCookies): string | undefined {
  return req.user ? devices.deviceFor(req.user.email, readDeviceCookie(req, config)) : undefined;
}

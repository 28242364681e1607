import type { User } from './repo.ts';

/** The second-factor kinds an administrator may allow or not; backup codes always go with the others. */
export const POLICY_FACTORS = ['webauthn', 'totp', 'hardware', 'sms', 'email'] as const;
export type PolicyFactor = (typeof POLICY_FACTORS)[number];

/**
 * Policy is the site-wide security policy an administrator sets in the
 * console (and the command line): who must use two-step verification, with
 * how long to set it up, which factor kinds may be added, whether mail apps
 * may use the main password, and how long a trusted browser stays trusted.
 */
export interface Policy {
  /** Two-step for nobody (users may still choose it), everyone, or the accounts of some domains. */
  require2fa: 'off' | 'everyone' | 'domains';
  domains: string[];
  /** Days a newly forced user may skip enrolment; 0: none. */
  graceDays: number;
  /** When forcing started (ms): grace counts from this, or from the account's creation if later. */
  since: number | null;
  allowedFactors: PolicyFactor[];
  mailMainPassword: boolean;
  trustedDeviceDays: number;
}

/** The keys of the settings table the policy is kept under. */
const KEYS = {
  require2fa: 'require_2fa',
  domains: 'require_2fa_domains',
  graceDays: 'require_2fa_grace_days',
  since: 'require_2fa_since',
  allowedFactors: 'allowed_factors',
  mailMainPassword: 'mail_main_password',
  trustedDeviceDays: 'trusted_device_days',
} as const;

export const MAX_GRACE_DAYS = 90;
export const MAX_TRUSTED_DAYS = 90;

const int = (v: string | undefined, fallback: number, max: number) => {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= max ? n : fallback;
};

/** readPolicy reads the policy from the settings rows; anything missing or unreadable takes its default. */
export function readPolicy(settings: ReadonlyMap<string, string>, defaults: { trustedDeviceDays: number }): Policy {
  const require = settings.get(KEYS.require2fa);
  const since = Date.parse(settings.get(KEYS.since) ?? '');
  const allowed = settings.get(KEYS.allowedFactors);
  return {
    // 'on' is how the command line wrote "everyone" before domains existed.
    require2fa: require === 'on' || require === 'everyone' ? 'everyone' : require === 'domains' ? 'domains' : 'off',
    domains: (settings.get(KEYS.domains) ?? '').split(',').map((d) => d.trim().toLowerCase()).filter(Boolean),
    graceDays: int(settings.get(KEYS.graceDays), 0, MAX_GRACE_DAYS),
    since: Number.isFinite(since) ? since : null,
    allowedFactors: allowed === undefined ? [...POLICY_FACTORS] : POLICY_FACTORS.filter((k) => allowed.split(',').includes(k)),
    mailMainPassword: settings.get(KEYS.mailMainPassword) !== 'off',
    trustedDeviceDays: int(settings.get(KEYS.trustedDeviceDays), defaults.trustedDeviceDays, MAX_TRUSTED_DAYS) || defaults.trustedDeviceDays,
  };
}

/** policySettings writes a policy as settings rows. */
export function policySettings(p: Policy): Record<string, string> {
  return {
    [KEYS.require2fa]: p.require2fa,
    [KEYS.domains]: p.domains.join(','),
    [KEYS.graceDays]: String(p.graceDays),
    [KEYS.since]: p.since === null ? '' : new Date(p.since).toISOString(),
    [KEYS.allowedFactors]: p.allowedFactors.join(','),
    [KEYS.mailMainPassword]: p.mailMainPassword ? 'on' : 'off',
    [KEYS.trustedDeviceDays]: String(p.trustedDeviceDays),
  };
}

/** forcedBySite tells whether the site policy (not the user's own setting) makes this account use two-step. */
function forcedBySite(user: Pick<User, 'email'>, p: Policy): boolean {
  if (p.require2fa === 'everyone') return true;
  if (p.require2fa !== 'domains') return false;
  const domain = user.email.slice(user.email.lastIndexOf('@') + 1).toLowerCase();
  return p.domains.includes(domain);
}

/**
 * enrolmentFor tells whether the account must use two-step verification and,
 * when the site policy forces it with a grace period, until when it may
 * still skip enrolment. An administrator's setting for the one user wins
 * over the site's, and has no grace.
 */
export function enrolmentFor(user: Pick<User, 'email' | 'require2fa' | 'createdAt'>, p: Policy, now = Date.now()): { forced: boolean; graceUntil?: number } {
  if (user.require2fa !== null) return { forced: user.require2fa };
  if (!forcedBySite(user, p)) return { forced: false };
  if (!p.graceDays) return { forced: true };
  const from = Math.max(p.since ?? 0, user.createdAt.getTime());
  const until = from + p.graceDays * 86400_000;
  return until > now ? { forced: true, graceUntil: until } : { forced: true };
}

/** domainsOf reads the domains an administrator typed (comma, space or line separated), refusing anything not a domain. */
export function domainsOf(text: string): string[] | null {
  const parts = text.toLowerCase().split(/[\s,]+/).filter(Boolean);
  if (parts.length > 100) return null;
  const ok = parts.every((d) => d.length <= 253 && /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d) && !d.split('.').some((l) => !l || l.length > 63));
  return ok ? [...new Set(parts)] : null;
}

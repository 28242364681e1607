import type { AuditLog, Origin } from '../audit/log.ts';
import type { User } from '../users/repo.ts';
import type { SignInSummary } from '../twofactor/factors.ts';
import type { DeviceCookies } from './device-cookie.ts';
import { verifyPassword } from './password.ts';
import type { Regulator } from './regulation.ts';

export type PasswordResult =
  | { kind: 'ok'; user: User; summary: SignInSummary; deviceCookie: string }
  | { kind: 'failed' }
  | { kind: 'throttled'; retryAfterSeconds: number };

/** SignInLookup loads an account with what the step after the password needs to know, in one query. */
export type SignInLookup = (email: string) => Promise<{ user: User; summary: SignInSummary } | undefined>;

/** Longest password Postern will hash at login; anything longer cannot be a valid one. */
const LOGIN_PASSWORD_MAX = 1024;

/**
 * PasswordLogin is the first factor. Unknown user, wrong password and
 * disabled account all cost one argon2 verification and give the same
 * answer; only the audit log tells them apart. A browser that signed in to
 * the account before (its device cookie) is throttled on its own count.
 */
export class PasswordLogin {
  constructor(
    private readonly lookup: SignInLookup,
    private readonly regulator: Regulator,
    private readonly audit: AuditLog,
    private readonly devices: DeviceCookies,
  ) {}

  async attempt(email: string, password: string, origin: Origin, deviceCookie?: string): Promise<PasswordResult> {
    const account = email.trim().toLowerCase();
    const device = this.devices.deviceFor(account, deviceCookie);
    const outcome = await this.regulator.regulated({ kind: 'password', account, ip: origin.ip, device }, async () => {
      const found = await this.lookup(account);
      const matches = await verifyPassword(found?.user.passwordHash, password.slice(0, LOGIN_PASSWORD_MAX));
      return { ok: matches && !!found && !found.user.disabled, user: found?.user, summary: found?.summary };
    });
    if (!outcome.allowed) {
      this.audit.recordSoon({ event: 'login.throttled', account, origin, details: { step: 'password', knownDevice: !!device } });
      return { kind: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
    }
    const { ok, user, summary } = outcome.result;
    if (!ok || !user || !summary) {
      const reason = !user ? 'unknown_user' : user.disabled ? 'disabled' : 'wrong_password';
      this.audit.recordSoon({ event: 'login.password_failed', userId: user?.id, account, origin, details: { reason, knownDevice: !!device } });
      return { kind: 'failed' };
    }
    this.audit.recordSoon({ event: 'login.password_ok', userId: user.id, account, origin, details: { knownDevice: !!device } });
    return { kind: 'ok', user, summary, deviceCookie: device ? deviceCookie! : this.devices.issue(account) };
  }
}

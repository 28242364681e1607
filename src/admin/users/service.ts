import { randomInt } from 'node:crypto';
import type { AuditEventName, AuditLog, Origin } from '../../audit/log.ts';
import type { AccessPasses } from '../../auth/access-pass.ts';
import { hashPassword } from '../../auth/password.ts';
import type { DbSessionStore } from '../../auth/session-store.ts';
import type { AppPasswords } from '../../apppasswords/service.ts';
import type { Factors } from '../../twofactor/factors.ts';
import type { TrustedDevices } from '../../twofactor/trusted.ts';
import type { User, UserRepo } from '../../users/repo.ts';
import type { UserService } from '../../users/service.ts';
import type { ImportedUser } from './csv.ts';

/** Who acts in the console, and from where: every action's audit line names them. */
export interface Actor {
  admin: User;
  origin: Origin;
}

export class AdminError extends Error {
  constructor(readonly key: 'admin.self' | 'admin.no_user' | 'admin.import_exists') {
    super(key);
  }
}

// 16 characters of an alphabet without look-alikes (about 90 bits), in groups of four for reading out.
const TEMP_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';

/** temporaryPassword makes a password for an administrator to hand over once; the user must change it at their next sign-in. */
export function temporaryPassword(): string {
  let out = '';
  for (let i = 0; i < 16; i++) out += (i && i % 4 === 0 ? '-' : '') + TEMP_ALPHABET[randomInt(TEMP_ALPHABET.length)];
  return out;
}

export interface AdminUserDeps {
  users: UserRepo;
  userService: UserService;
  sessions: DbSessionStore;
  trusted: TrustedDevices;
  appPasswords: AppPasswords;
  factors: Factors;
  passes: AccessPasses;
  audit: AuditLog;
}

/**
 * AdminUsers holds what an administrator may do to accounts: create and
 * import them, disable and enable, reset a password, end sessions, revoke
 * trusted browsers or client-specific passwords, and recover a lost second
 * factor with a temporary access pass. Nobody recovers or resets their own
 * account here, and every action is audited with the administrator, the
 * account and, for recoveries, the reason typed.
 */
export class AdminUsers {
  constructor(private readonly d: AdminUserDeps) {}

  /** target loads the account an action is about; the administrator's own is refused. */
  async target(actor: Actor, userId: string): Promise<User> {
    const user = await this.d.users.load(userId);
    if (!user) throw new AdminError('admin.no_user');
    if (user.id === actor.admin.id) throw new AdminError('admin.self');
    return user;
  }

  /** create makes an account with a temporary password, returned to be shown once. */
  async create(actor: Actor, input: { email: string; displayName?: string; isAdmin: boolean }): Promise<{ user: User; password: string }> {
    const password = temporaryPassword();
    const user = await this.d.userService.create({ ...input, password }, actor.origin, { actor: actor.admin.email, mustChangePassword: true });
    return { user, password };
  }

  /**
   * import creates every account of a checked file, all or none: one address
   * already taken refuses the whole file. Returns each new account with its
   * temporary password, to be shown once.
   */
  async import(actor: Actor, rows: ImportedUser[]): Promise<Array<{ email: string; password: string }>> {
    const taken = await this.d.users.existing(rows.map((r) => r.email));
    if (taken.length) throw Object.assign(new AdminError('admin.import_exists'), { emails: taken });
    const out: Array<{ email: string; password: string; hash: string; row: ImportedUser }> = [];
    // Hashing is the cost of an import: a few at a time on the thread pool.
    for (let i = 0; i < rows.length; i += 4) {
      const batch = rows.slice(i, i + 4);
      out.push(...(await Promise.all(batch.map(async (row) => {
        const password = temporaryPassword();
        return { email: row.email, password, hash: await hashPassword(password), row };
      }))));
    }
    const created = await this.d.users.saveMany(out.map((o) => ({ email: o.email, displayName: o.row.name || o.email.split('@')[0]!, passwordHash: o.hash, isAdmin: o.row.admin, mustChangePassword: true })));
    await this.d.audit.record({ event: 'user.imported', account: actor.admin.email, origin: actor.origin, details: { admin: actor.admin.email, count: created } });
    return out.map(({ email, password }) => ({ email, password }));
  }

  async setDisabled(actor: Actor, userId: string, disabled: boolean, reason: string): Promise<User> {
    const user = await this.target(actor, userId);
    if (user.disabled === disabled) return user;
    await this.d.users.update(user.id, { disabled });
    // Web sessions end now; mail logins are refused from the next one (the change notifies every node's cache).
    const ended = disabled ? await this.d.sessions.destroyForUser(user.id) : 0;
    await this.audit(actor, user, disabled ? 'user.disabled' : 'user.enabled', { reason, sessionsEnded: ended });
    return user;
  }

  /** resetPassword gives the account a temporary password (returned, shown once) that must be changed at the next sign-in; sessions and trusted browsers end. */
  async resetPassword(actor: Actor, userId: string, reason: string): Promise<{ user: User; password: string }> {
    const user = await this.target(actor, userId);
    const password = temporaryPassword();
    await this.d.users.update(user.id, { passwordHash: await hashPassword(password), passwordChangedAt: new Date(), mustChangePassword: true });
    const ended = await this.d.sessions.destroyForUser(user.id);
    const revoked = await this.d.trusted.revokeAll(user.id);
    await this.audit(actor, user, 'password.reset', { reason, sessionsEnded: ended, trustedDevicesRevoked: revoked });
    return { user, password };
  }

  async endSessions(actor: Actor, userId: string, reason: string): Promise<number> {
    const user = await this.target(actor, userId);
    const ended = await this.d.sessions.destroyForUser(user.id);
    await this.audit(actor, user, 'sessions.ended', { reason, sessionsEnded: ended });
    return ended;
  }

  async revokeTrusted(actor: Actor, userId: string, reason: string): Promise<number> {
    const user = await this.target(actor, userId);
    const n = await this.d.trusted.revokeAll(user.id);
    await this.audit(actor, user, 'device.revoked_all', { reason, count: n });
    return n;
  }

  async revokeAppPasswords(actor: Actor, userId: string, reason: string): Promise<number> {
    const user = await this.target(actor, userId);
    return this.d.appPasswords.revokeAll(user, actor.origin, `admin:${actor.admin.email}: ${reason}`);
  }

  /**
   * issuePass recovers a lost second factor: a temporary access pass for one
   * sign-in, which must enrol a new factor at once; the old factors go only
   * then (or by removeFactors). Returned to be shown once to the administrator.
   */
  async issuePass(actor: Actor, userId: string, reason: string, minutes: number): Promise<{ user: User; code: string; expiresAt: Date }> {
    const user = await this.target(actor, userId);
    const { code, expiresAt } = await this.d.passes.issue(user.id, { issuedBy: actor.admin.id, reason, minutes });
    await this.audit(actor, user, 'access_pass.issued', { reason, expires: expiresAt.toISOString() });
    return { user, code, expiresAt };
  }

  async revokePass(actor: Actor, userId: string, reason: string): Promise<boolean> {
    const user = await this.target(actor, userId);
    const revoked = await this.d.passes.revoke(user.id);
    if (revoked) await this.audit(actor, user, 'access_pass.revoked', { reason });
    return revoked;
  }

  /** removeFactors takes every second factor and backup code away, explicitly: under forced two-step the user enrols again at the next sign-in. */
  async removeFactors(actor: Actor, userId: string, reason: string): Promise<number> {
    const user = await this.target(actor, userId);
    const removed = await this.d.factors.removeAll(user.id);
    const revoked = await this.d.trusted.revokeAll(user.id);
    await this.d.users.update(user.id, { factorsChangedAt: null, preferredFactor: null, lastFactor: null });
    await this.audit(actor, user, 'factors.reset', { reason, factorsRemoved: removed, trustedDevicesRevoked: revoked });
    return removed;
  }

  private async audit(actor: Actor, user: User, event: AuditEventName, details: Record<string, unknown>): Promise<void> {
    await this.d.audit.record({ event, userId: user.id, account: user.email, origin: actor.origin, details: { admin: actor.admin.email, ...details } });
  }
}

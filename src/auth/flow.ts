import type { AuditLog } from '../audit/log.ts';
import type { Config } from '../config/schema.ts';
import type { UserRepo, User } from '../users/repo.ts';
import type { UserService } from '../users/service.ts';
import type { TrustedDevices } from '../twofactor/trusted.ts';
import type { Factors, SignInSummary } from '../twofactor/factors.ts';
import type { BackupCodeFactor } from '../twofactor/backup/factor.ts';
import type { CodePurpose, OneTimeCodes, SendResult } from '../twofactor/codes.ts';
import { isFactorKind, type FactorContext, type FactorInfo, type FactorKind } from '../twofactor/factor.ts';
import type { Regulator } from './regulation.ts';
import type { AccessPasses } from './access-pass.ts';
import { verifyPassword } from './password.ts';
import { ELEVATED_TTL_MS, type AuthState, type Proof } from './levels.ts';

/** Where a sign-in goes once the password was right. */
export type AfterPassword =
  | { state: AuthState; via: 'password' | 'trusted_device'; device?: string }
  | { state: AuthState; via: 'second_step'; factor: FactorKind; pass: boolean }
  | { state: AuthState; via: 'enroll' };

/** The outcome of one check of a second factor (or the password at step-up). */
export type ProofResult =
  | { ok: true }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number }
  | { ok: false; reason: 'wrong'; triesLeft?: number }
  | { ok: false; reason: 'expired' | 'locked' | 'unavailable' };

/**
 * What an action asks for. `factors`: adding, changing or removing a second
 * factor, the protection switches, turning two-step off. `sensitive`: the
 * other guarded actions (client-specific passwords, sharing, password change).
 */
export type Need = 'factors' | 'sensitive';

/** The context of a check: the factor context plus the browser's device key, if it signed in before. */
export interface ProofContext extends FactorContext {
  device?: string;
}

export interface FlowDeps {
  config: Config;
  users: UserRepo;
  userService: UserService;
  factors: Factors;
  backup: BackupCodeFactor;
  regulator: Regulator;
  codes: OneTimeCodes;
  trusted: TrustedDevices;
  audit: AuditLog;
  passes: AccessPasses;
}

/**
 * SignInFlow owns every move of a session between the states in levels.ts:
 * the password leads to signed in, to the second step, or to enrolment; a
 * factor proven signs in; a step-up elevates; a factor added or removed
 * changes what the next sign-in asks for. Handlers validate, call it,
 * regenerate the session id and store the state it returns, and redirect.
 *
 * Its one rule for factors: adding, replacing or removing one needs a fresh
 * proof of an existing factor (the password while there is none), or the
 * enrolment the policy holds a new user in. Binding never elevates.
 */
export class SignInFlow {
  constructor(private readonly d: FlowDeps) {}

  /** factorsOf lists what the user can prove themselves with, strongest first. */
  factorsOf(user: User): Promise<FactorInfo[]> {
    return this.d.factors.list(user);
  }

  /** hasFactor tells whether the user has a second factor (backup codes alone do not count). */
  hasFactor(user: User): Promise<boolean> {
    return this.d.factors.hasAny(user.id);
  }

  /**
   * afterPassword decides what a right password leads to. With a factor and
   * login protection on (or the policy forcing it), the second step, unless
   * the browser is trusted; with none and the policy forcing one, enrolment;
   * otherwise signed in.
   */
  async afterPassword(user: User, opts: { trustToken?: string; next?: string; now?: number; summary?: SignInSummary }): Promise<AfterPassword> {
    const now = opts.now ?? Date.now();
    // The password step read the summary with the account; read it here only when called without one.
    const [{ kinds, pass }, enrolment] = await Promise.all([opts.summary ?? this.d.factors.atSignIn(user.id, new Date(now)), this.d.userService.enrolment(user, now)]);
    const forced = enrolment.forced;
    const usable = kinds.filter((k) => k !== 'backup');
    if (usable.length && (user.loginProtection || forced)) {
      // A pass means the factors are lost: a browser trusted under them is not asked about.
      const device = pass ? undefined : await this.d.trusted.recognise(user.id, opts.trustToken);
      if (device) return { state: { userId: user.id, level: 'full', since: now, authAt: now }, via: 'trusted_device', device: device.name };
      const factor = this.firstFactor(user, kinds.map((kind) => ({ kind })));
      const state: AuthState = { userId: user.id, level: 'pending2fa', since: now, authAt: now, factor, next: opts.next, ...(pass ? { passOffered: true } : {}) };
      return { state, via: 'second_step', factor, pass: !!pass };
    }
    if (!usable.length && forced) return { state: { userId: user.id, level: 'enroll', since: now, authAt: now, ...(enrolment.graceUntil ? { graceUntil: enrolment.graceUntil } : {}) }, via: 'enroll' };
    return { state: { userId: user.id, level: 'full', since: now, authAt: now }, via: 'password' };
  }

  /** postponed is the state of a user who put enrolment off during the policy's grace period, or undefined once it is over. */
  postponed(state: AuthState, now = Date.now()): AuthState | undefined {
    if (state.level !== 'enroll' || !state.graceUntil || state.graceUntil <= now || state.replacing) return undefined;
    return { userId: state.userId, level: 'full', since: now, authAt: state.authAt, graceUntil: state.graceUntil, next: state.next };
  }

  /** firstFactor is what the second step asks for first: the preferred factor, else a security key, else the last one that worked, else the strongest. */
  firstFactor(user: User, infos: ReadonlyArray<{ kind: FactorKind }>): FactorKind {
    const has = (k: string | null): k is FactorKind => isFactorKind(k) && k !== 'backup' && infos.some((i) => i.kind === k);
    if (has(user.preferredFactor)) return user.preferredFactor;
    // A security key is one touch and cannot be phished: with one, it comes before whatever was used last.
    if (has('webauthn')) return 'webauthn';
    if (has(user.lastFactor)) return user.lastFactor;
    return infos.find((i) => i.kind !== 'backup')?.kind ?? 'backup';
  }

  /** send sends a code by the factor (text or email) for a sign-in or step-up, replacing this attempt's earlier one. */
  async send(ctx: FactorContext, kind: FactorKind, purpose: CodePurpose, replaces?: string): Promise<SendResult | undefined> {
    const factor = this.d.factors.get(kind);
    if (!factor.send || !(await factor.describe(ctx.user))) return undefined;
    return factor.send(ctx, purpose, replaces);
  }

  /**
   * prove checks a second factor the user has, through the regulator, under
   * the factor's own count. A texted or emailed code is counted on that code
   * alone (its own five tries, and the send caps, bound the guessing): a new
   * code works at once after a resend. A backup code that works is used up,
   * audited and ends every trusted browser.
   */
  async prove(ctx: ProofContext, kind: FactorKind, input: { code: string; challengeId?: string; purpose: CodePurpose }): Promise<ProofResult> {
    const factor = this.d.factors.get(kind);
    if (factor.channel) {
      // A code sent to a phone or address removed since proves nothing; an app or backup code the user no longer has fails by itself.
      if (!(await factor.describe(ctx.user))) return { ok: false, reason: 'unavailable' };
      // A code whose tries are used up says so, rather than "wait": only a new code helps.
      if ((await this.d.codes.state(input.challengeId)).usedUp) return { ok: false, reason: 'locked' };
    }
    const device = factor.channel ? `code:${input.challengeId ?? 'none'}` : ctx.device;
    const outcome = await this.d.regulator.regulated({ kind, account: ctx.user.email, ip: ctx.origin.ip, device }, () => factor.verify(ctx, input));
    if (!outcome.allowed) {
      await this.d.audit.record({ event: 'login.throttled', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { step: kind, purpose: input.purpose } });
      return { ok: false, reason: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
    }
    const check = outcome.result;
    if (!check.ok) {
      await this.d.audit.record({ event: input.purpose === 'stepup' ? 'stepup.failed' : 'login.code_failed', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { factor: kind, reason: check.reason } });
      if (check.reason !== 'wrong' || check.triesLeft !== undefined) return check;
      return { ok: false, reason: 'wrong', triesLeft: await this.triesLeft(ctx, kind) };
    }
    if (input.purpose === 'stepup') await this.d.audit.record({ event: 'stepup.ok', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { method: kind } });
    if (kind === 'backup') await this.backupUsed(ctx);
    else if (ctx.user.lastFactor !== kind) await this.d.users.update(ctx.user.id, { lastFactor: kind });
    return { ok: true };
  }

  /**
   * provePass checks an administrator's access pass at the second step,
   * through the regulator under its own count. A right one is used up and
   * holds the session for enrolment: the user sets up a new factor before
   * anything else, and the factors from before the pass go once it is in.
   */
  async provePass(ctx: ProofContext, state: AuthState, code: string, now = Date.now()): Promise<{ ok: true; state: AuthState } | Exclude<ProofResult, { ok: true }>> {
    const outcome = await this.d.regulator.regulated({ kind: 'pass', account: ctx.user.email, ip: ctx.origin.ip, device: ctx.device }, async () => ({
      ok: await this.d.passes.use(ctx.user.id, code, new Date(now)),
    }));
    if (!outcome.allowed) {
      await this.d.audit.record({ event: 'login.throttled', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { step: 'pass' } });
      return { ok: false, reason: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
    }
    if (!outcome.result.ok) {
      await this.d.audit.record({ event: 'login.code_failed', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { factor: 'pass', reason: 'wrong' } });
      return { ok: false, reason: 'wrong', triesLeft: Math.max(0, this.d.regulator.freeFailures - (await this.d.regulator.consecutiveFailures({ kind: 'pass', account: ctx.user.email, ip: ctx.origin.ip, device: ctx.device })).n) };
    }
    await this.d.audit.record({ event: 'access_pass.used', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin });
    return { ok: true, state: { userId: state.userId, level: 'enroll', since: now, authAt: state.authAt, replacing: now, next: state.next } };
  }

  /** triesLeft is how many wrong codes of this kind the client may still make before waits begin (authenticator, backup codes). */
  async triesLeft(ctx: ProofContext, kind: FactorKind): Promise<number> {
    const { n } = await this.d.regulator.consecutiveFailures({ kind, account: ctx.user.email, ip: ctx.origin.ip, device: ctx.device });
    return Math.max(0, this.d.regulator.freeFailures - n);
  }

  /** proveNew checks the code sent to a phone or address being bound, under the factor's count; it returns the destination proven. */
  async proveNew(ctx: FactorContext, kind: FactorKind, challengeId: string, code: string): Promise<ProofResult & { destination?: string }> {
    const factor = this.d.factors.get(kind);
    if ((await this.d.codes.state(challengeId)).usedUp) return { ok: false, reason: 'locked' };
    const outcome = await this.d.regulator.regulated({ kind, account: ctx.user.email, ip: ctx.origin.ip, device: `code:${challengeId}` }, () =>
      factor.verify(ctx, { code, challengeId, purpose: 'bind' }),
    );
    if (!outcome.allowed) return { ok: false, reason: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
    const r = outcome.result;
    return r.ok ? { ok: true, destination: r.destination } : r;
  }

  /** stepUpWithPassword checks the password on the verify page (users without a factor, or operation protection off). */
  async stepUpWithPassword(ctx: ProofContext, password: string): Promise<ProofResult> {
    const outcome = await this.d.regulator.regulated({ kind: 'stepup', account: ctx.user.email, ip: ctx.origin.ip, device: ctx.device }, async () => ({
      ok: await verifyPassword(ctx.user.passwordHash, password.slice(0, 1024)),
    }));
    if (!outcome.allowed) return { ok: false, reason: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
    await this.d.audit.record({ event: outcome.result.ok ? 'stepup.ok' : 'stepup.failed', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { method: 'password' } });
    return outcome.result.ok ? { ok: true } : { ok: false, reason: 'wrong' };
  }

  /** signedIn is the state after the second step (or a password alone): full, and elevated when a factor was just proven. */
  signedIn(state: AuthState, proof: Proof | 'trusted_device', now = Date.now()): AuthState {
    const factor = proof !== 'password' && proof !== 'trusted_device' ? proof : undefined;
    return { userId: state.userId, level: 'full', since: now, authAt: state.authAt, ...(factor ? { elevatedAt: now, elevatedWith: factor } : {}) };
  }

  /** elevated is the state after a fresh check on the verify page. */
  elevated(state: AuthState, proof: Proof, now = Date.now()): AuthState {
    return { ...state, elevatedAt: now, elevatedWith: proof, challengeId: undefined };
  }

  /**
   * proofNeeded tells what fresh check an action needs from this user: a
   * second factor when they have one (for sensitive actions only while
   * operation protection is on), else the password.
   */
  async proofNeeded(user: User, need: Need): Promise<'factor' | 'password'> {
    if (need === 'sensitive' && !user.operationProtection) return 'password';
    return (await this.hasFactor(user)) ? 'factor' : 'password';
  }

  /** isFresh tells whether the session's last check is recent enough, and strong enough, for what is needed. */
  isFresh(state: AuthState | undefined, needed: 'factor' | 'password', now = Date.now()): boolean {
    if (!state?.elevatedAt || now - state.elevatedAt >= ELEVATED_TTL_MS) return false;
    return needed === 'password' || (state.elevatedWith !== undefined && state.elevatedWith !== 'password');
  }

  /** mayChangeFactors holds the rule for factors: enrolment, or a fresh proof of an existing factor (the password while there is none). */
  async mayChangeFactors(user: User, state: AuthState | undefined): Promise<boolean> {
    if (state?.level === 'enroll') return true;
    return this.isFresh(state, await this.proofNeeded(user, 'factors'));
  }

  /**
   * factorAdded records a factor just set up. The first one brings backup
   * codes (returned, to be shown once); enrolment ends in a plain signed-in
   * state. Nothing here elevates: proving a new phone proves only the phone.
   */
  async factorAdded(ctx: FactorContext, state: AuthState, kind: FactorKind, details: Record<string, unknown>, now = Date.now()): Promise<{ state: AuthState; backupCodes?: string[] }> {
    const user = ctx.user;
    await this.d.users.update(user.id, { factorsChangedAt: new Date(now) });
    if (state.level === 'enroll' && state.replacing) await this.replaced(ctx, new Date(state.replacing));
    const backupCodes = (await this.d.backup.exists(user.id)) ? undefined : await this.d.backup.issue(user.id);
    await this.d.audit.record({ event: 'factor.added', userId: user.id, account: user.email, origin: ctx.origin, details: { factor: kind, ...details, backupCodesIssued: !!backupCodes } });
    const next: AuthState = state.level === 'enroll' ? { userId: user.id, level: 'full', since: now, authAt: state.authAt } : { ...state, challengeId: undefined, graceUntil: undefined };
    return { state: next, backupCodes };
  }

  /** mayRemove tells whether removing one factor would leave the user without one while the policy forces two-step. */
  async mayRemove(user: User, kind: FactorKind): Promise<boolean> {
    if (!(await this.d.userService.requires2fa(user))) return true;
    return (await this.d.factors.kinds(user.id)).some((k) => k !== kind && k !== 'backup');
  }

  /**
   * factorRemoved records a factor removed or replaced: trusted browsers end
   * (they were trusted under the old factors), and with the last factor gone
   * the backup codes go too. Returns how many browsers were revoked.
   */
  async factorRemoved(ctx: FactorContext, kind: FactorKind, details: Record<string, unknown>): Promise<number> {
    const user = ctx.user;
    const revoked = await this.d.trusted.revokeAll(user.id);
    const left = await this.hasFactor(user);
    if (!left) await this.d.backup.deleteAll(user.id);
    await this.d.users.update(user.id, { factorsChangedAt: left ? new Date() : null, ...(user.preferredFactor === kind ? { preferredFactor: null } : {}) });
    await this.d.audit.record({ event: 'factor.removed', userId: user.id, account: user.email, origin: ctx.origin, details: { factor: kind, ...details, trustedDevicesRevoked: revoked, factorsLeft: left } });
    return revoked;
  }

  /**
   * disable turns two-step verification off for a user the policy does not
   * force (the caller checks): every factor and backup code goes, and every
   * trusted browser. Returns how many factors were removed.
   */
  async disable(ctx: FactorContext): Promise<number> {
    const user = ctx.user;
    const removed = await this.d.factors.removeAll(user.id);
    const revoked = await this.d.trusted.revokeAll(user.id);
    await this.d.users.update(user.id, { factorsChangedAt: null, preferredFactor: null, lastFactor: null });
    await this.d.audit.record({ event: 'twofactor.disabled', userId: user.id, account: user.email, origin: ctx.origin, details: { factorsRemoved: removed, trustedDevicesRevoked: revoked } });
    return removed;
  }

  /** factorRenewed notes a factor re-keyed or a new set of backup codes: the two-step status is current again. */
  async factorRenewed(user: User): Promise<void> {
    await this.d.users.update(user.id, { factorsChangedAt: new Date() });
  }

  /** status is the user's two-step status: off, on, or expired (on, but no factor changed for TWOFACTOR_EXPIRY_DAYS). */
  async status(user: User, now = Date.now()): Promise<'off' | 'on' | 'expired'> {
    if (!(await this.hasFactor(user))) return 'off';
    const changed = user.factorsChangedAt?.getTime();
    return changed !== undefined && now - changed > this.d.config.TWOFACTOR_EXPIRY_DAYS * 86400_000 ? 'expired' : 'on';
  }

  /** replaced removes what a sign-in with an access pass stood in for: the older factors, backup codes and trusted browsers. */
  private async replaced(ctx: FactorContext, before: Date): Promise<void> {
    const removed = await this.d.factors.removeBefore(ctx.user.id, before);
    const revoked = await this.d.trusted.revokeAll(ctx.user.id);
    await this.d.audit.record({ event: 'factors.reset', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { reason: 'access_pass', factorsRemoved: removed, trustedDevicesRevoked: revoked } });
  }

  /**
   * backupUsed: a backup code stands in for a lost factor, so every trusted
   * browser ends (the lost phone may be in someone's hands), and the user
   * hears of it: an audit line that the next pages show as a banner.
   */
  private async backupUsed(ctx: FactorContext): Promise<void> {
    const revoked = await this.d.trusted.revokeAll(ctx.user.id);
    const left = await this.d.backup.remaining(ctx.user.id);
    await this.d.audit.record({ event: 'backup_code.used', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { left, trustedDevicesRevoked: revoked } });
  }
}

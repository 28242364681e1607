import type { AuditLog, Origin } from '../../audit/log.ts';
import type { ProofContext, SignInFlow } from '../../auth/flow.ts';
import type { Regulator } from '../../auth/regulation.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { Locale } from '../../i18n/index.ts';
import type { UserRepo } from '../../users/repo.ts';
import type { FactorContext } from '../factor.ts';
import { isSerial, parseTokenCsv, type RowError } from './csv.ts';
import { matchToken } from './factor.ts';
import { statusOf, type HardwareToken, type HardwareTokenRepo, type InventoryItem, type TokenStatus } from './repo.ts';

/** The outcome of an import: how many tokens went in, or every problem found (and nothing went in). */
export type ImportResult = { ok: true; count: number } | { ok: false; errors: RowError[] };

/** The outcome of binding a token: one kind of failure only, whatever was wrong, so serial numbers cannot be probed. */
export type BindResult = { ok: true; token: HardwareToken } | { ok: false; reason: 'wrong' } | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

/** The outcome of an administrator's revocation. */
export type RevokeResult = { ok: true; token: HardwareToken; owner: string | null } | { ok: false; reason: 'not_found' | 'already_revoked' };

/** Who changes the inventory: an administrator at the console, or the command line (no user, account 'cli'). */
export interface Actor {
  userId?: string;
  account: string;
  origin?: Origin;
  locale?: Locale;
}

/** INVENTORY_PAGE is how many tokens one page of the inventory lists. */
export const INVENTORY_PAGE = 50;

// Checked against when the serial fits no token a user may bind, so such an attempt costs what a real one does.
const DECOY_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

export interface HardwareTokenDeps {
  repo: HardwareTokenRepo;
  secrets: SecretBox;
  users: UserRepo;
  regulator: Regulator;
  audit: AuditLog;
  flow: SignInFlow;
}

/**
 * HardwareTokens holds the rules of hardware tokens: administrators import
 * them (secrets sealed at once and never shown again) and withdraw them; a
 * user binds one by serial number and the code it shows, and may remove it.
 * A token's life: available (no user) → assigned (a user, not bound) →
 * activated (bound, a second factor) → revoked.
 */
export class HardwareTokens {
  constructor(private readonly d: HardwareTokenDeps) {}

  /**
   * import reads a token file and adds every token in it, or, when any row is
   * wrong (bad field, unknown user, serial number twice in the file or
   * already in the inventory), none, and returns every problem by row.
   */
  async import(text: string, actor: Actor): Promise<ImportResult> {
    const { rows, errors } = parseTokenCsv(text);
    if (errors.some((e) => e.problem === 'empty' || e.problem === 'header' || e.problem === 'too_large' || e.problem === 'too_many_rows')) return { ok: false, errors };
    const [ids, taken] = await Promise.all([this.d.repo.userIds(rows.filter((r) => r.upn).map((r) => r.upn)), this.d.repo.existing(rows.map((r) => r.serial))]);
    const takenLower = new Set(taken.map((s) => s.toLowerCase()));
    for (const r of rows) {
      if (r.upn && !ids.has(r.upn)) errors.push({ row: r.row, problem: 'upn_unknown', params: { upn: r.upn } });
      if (takenLower.has(r.serial.toLowerCase())) errors.push({ row: r.row, problem: 'exists', params: { serial: r.serial } });
    }
    if (errors.length) return { ok: false, errors: errors.sort((a, b) => a.row - b.row) };
    const saved = await this.d.repo.saveAll(
      rows.map((r) => ({
        serial: r.serial,
        secretSealed: this.d.secrets.seal(r.secret),
        period: r.period,
        manufacturer: r.manufacturer,
        model: r.model,
        userId: r.upn ? ids.get(r.upn)! : null,
      })),
    );
    if (!saved) {
      // Another import took some of these serial numbers a moment ago: say which, as for any taken one.
      const now = new Set((await this.d.repo.existing(rows.map((r) => r.serial))).map((s) => s.toLowerCase()));
      return { ok: false, errors: rows.filter((r) => now.has(r.serial.toLowerCase())).map((r) => ({ row: r.row, problem: 'exists' as const, params: { serial: r.serial } })) };
    }
    const assigned = rows.filter((r) => r.upn).length;
    await this.d.audit.record({ event: 'token.imported', userId: actor.userId ?? null, account: actor.account, origin: actor.origin, details: { count: rows.length, assigned } });
    return { ok: true, count: rows.length };
  }

  /** inventory lists one page of tokens, filtered by status and by a piece of serial number or owner address. */
  inventory(opts: { status?: TokenStatus; search?: string; page?: number; pageSize?: number }): Promise<{ items: InventoryItem[]; total: number }> {
    const size = opts.pageSize ?? INVENTORY_PAGE;
    return this.d.repo.list({ status: opts.status, search: opts.search, limit: size, offset: Math.max(0, (opts.page ?? 1) - 1) * size });
  }

  /** activeFor lists the tokens a user has bound: their second factors of this kind. */
  activeFor(userId: string): Promise<HardwareToken[]> {
    return this.d.repo.listActive(userId);
  }

  /**
   * bind binds a token to the user: the serial number must name a token in
   * stock or handed to this user (neither bound nor revoked), and the code
   * must be the one it shows (one step either side). Every attempt goes
   * through the regulator under the hardware count, so guessing pairs of
   * serial number and code is throttled like guessing sign-in codes. An
   * unknown serial, another user's token and a wrong code fail alike.
   */
  async bind(ctx: ProofContext, serialInput: string, code: string, now = new Date()): Promise<BindResult> {
    const user = ctx.user;
    const serial = typedSerial(serialInput);
    const outcome = await this.d.regulator.regulated({ kind: 'hardware', account: user.email, ip: ctx.origin.ip, device: ctx.device }, async () => {
      const token = serial ? await this.d.repo.loadBySerial(serial) : undefined;
      const usable = token && !token.revokedAt && !token.activatedAt && (token.userId === null || token.userId === user.id) ? token : undefined;
      const match = matchToken({
        secret: usable ? this.d.secrets.openText(usable.secretSealed) : DECOY_SECRET,
        code,
        period: usable?.period ?? 30,
        driftSteps: 0,
        lastStep: usable?.lastStep ?? null,
        now,
      });
      const bound = usable && match ? await this.d.repo.activate(usable.id, user.id, match.step, match.driftSteps, now) : undefined;
      return { ok: !!bound, bound };
    });
    if (!outcome.allowed) {
      await this.d.audit.record({ event: 'login.throttled', userId: user.id, account: user.email, origin: ctx.origin, details: { step: 'hardware', purpose: 'bind' } });
      return { ok: false, reason: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
    }
    const token = outcome.result.bound;
    if (!token) {
      // The serial typed goes to the log for the administrators; the user hears only that it did not work.
      await this.d.audit.record({ event: 'login.code_failed', userId: user.id, account: user.email, origin: ctx.origin, details: { factor: 'hardware', purpose: 'bind', serial: serial ?? '' } });
      return { ok: false, reason: 'wrong' };
    }
    await this.d.audit.record({ event: 'token.bound', userId: user.id, account: user.email, origin: ctx.origin, details: { serial: token.serial, driftSteps: token.driftSteps } });
    return { ok: true, token };
  }

  /** remove withdraws one of the user's own bound tokens and records the factor as removed; undefined when it is not theirs. */
  async remove(ctx: FactorContext, id: string): Promise<HardwareToken | undefined> {
    const token = await this.d.repo.revoke(id, ctx.user.id);
    if (token) await this.d.flow.factorRemoved(ctx, 'hardware', { serial: token.serial });
    return token;
  }

  /**
   * revoke withdraws a token for good. A bound one stops being its owner's
   * second factor at once, as if they had removed it: their trusted browsers
   * end, and with their last factor gone, their backup codes.
   */
  async revoke(id: string, reason: string, actor: Actor): Promise<RevokeResult> {
    const before = await this.d.repo.load(id);
    if (!before) return { ok: false, reason: 'not_found' };
    const token = await this.d.repo.revoke(id);
    if (!token) return { ok: false, reason: 'already_revoked' };
    const owner = token.userId ? await this.d.users.load(token.userId) : undefined;
    // Recorded on the account that held the token, as every administrator action is; the administrator is in the details.
    await this.d.audit.record({
      event: 'token.revoked',
      userId: owner?.id ?? null,
      account: owner?.email ?? null,
      origin: actor.origin,
      details: { admin: actor.account, serial: token.serial, status: statusOf(before), reason },
    });
    if (owner && before.activatedAt) {
      await this.d.flow.factorRemoved({ user: owner, origin: actor.origin ?? { ip: '', userAgent: '' }, locale: actor.locale ?? 'en' }, 'hardware', { serial: token.serial, revokedBy: actor.account });
    }
    return { ok: true, token, owner: owner?.email ?? null };
  }
}

/** typedSerial reads a serial number as typed: surrounding and inner spaces dropped (serials have none); null when it cannot be one. */
export function typedSerial(input: string): string | null {
  if (typeof input !== 'string' || input.length > 200) return null;
  const serial = input.split(' ').join('').trim();
  return isSerial(serial) ? serial : null;
}

import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import type { User } from '../users/repo.ts';
import { users } from '../db/schema/index.ts';
import { FACTOR_KINDS, type Factor, type FactorInfo, type FactorKind } from './factor.ts';

/** What the step after the password needs to know: the user's kinds of factor, strongest first, and whether an access pass waits. */
export interface SignInSummary {
  kinds: FactorKind[];
  pass: boolean;
}

type SummaryRow = Record<FactorKind | 'pass', boolean>;

/** summaryColumns are the columns of a sign-in summary, by name, for the user `userId` names (a value or a column). */
function summaryColumns(userId: SQL, now: Date): Record<FactorKind | 'pass', SQL<boolean>> {
  return {
    webauthn: sql<boolean>`exists(select 1 from webauthn_credentials where user_id = ${userId})`,
    totp: sql<boolean>`exists(select 1 from totp_authenticators where user_id = ${userId})`,
    hardware: sql<boolean>`exists(select 1 from hardware_tokens where user_id = ${userId} and activated_at is not null and revoked_at is null)`,
    sms: sql<boolean>`exists(select 1 from sms_phones where user_id = ${userId})`,
    email: sql<boolean>`exists(select 1 from recovery_emails where user_id = ${userId})`,
    backup: sql<boolean>`exists(select 1 from backup_codes where user_id = ${userId} and used_at is null)`,
    pass: sql<boolean>`exists(select 1 from access_passes where user_id = ${userId} and used_at is null and expires_at > ${now})`,
  };
}

/**
 * Factors is the set of second-factor kinds Postern offers. Pages and the
 * sign-in flow ask it which factors a user has; a new kind is one more
 * Factor in the list given at start.
 */
export class Factors {
  private readonly byKind: Map<FactorKind, Factor>;

  constructor(
    private readonly db: Db,
    factors: Factor[],
  ) {
    this.byKind = new Map(factors.map((f) => [f.kind, f]));
  }

  get(kind: FactorKind): Factor {
    const f = this.byKind.get(kind);
    if (!f) throw new Error(`no factor ${kind}`);
    return f;
  }

  /** list returns the factors the user has set up, strongest first. */
  async list(user: User): Promise<FactorInfo[]> {
    // One query says which kinds the user has; only those are described.
    const kinds = await this.kinds(user.id);
    const infos = await Promise.all(kinds.map((k) => this.byKind.get(k)!.describe(user)));
    return infos.filter((i): i is FactorInfo => i !== null);
  }

  /** kinds tells, in one query, which kinds of factor the user has (backup codes: any left), strongest first. */
  async kinds(userId: string): Promise<FactorKind[]> {
    return (await this.atSignIn(userId)).kinds;
  }

  /**
   * atSignIn is what the step after the password needs, in one query: the
   * kinds of factor the user has, and whether an administrator's access
   * pass waits to stand in for them.
   */
  async atSignIn(userId: string, now = new Date()): Promise<SignInSummary> {
    const columns = Object.entries(summaryColumns(sql`${userId}::uuid`, now)).map(([name, column]) => sql`${column} as ${sql.identifier(name)}`);
    const result = await this.db.execute(sql`select ${sql.join(columns, sql`, `)}`);
    return this.summary((result as unknown as { rows: Array<SummaryRow> }).rows[0]);
  }

  /**
   * withSummary loads an account by address together with its atSignIn
   * summary, in one query: all a password sign-in reads besides the
   * regulator's step. Undefined when there is no such account.
   */
  async withSummary(email: string, now = new Date()): Promise<{ user: User; summary: SignInSummary } | undefined> {
    const [row] = await this.db
      .select({ user: users, summary: summaryColumns(sql`${users.id}`, now) })
      .from(users)
      .where(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`)
      .limit(1);
    return row && { user: row.user, summary: this.summary(row.summary) };
  }

  private summary(row: SummaryRow | undefined): SignInSummary {
    return { kinds: FACTOR_KINDS.filter((k) => this.byKind.has(k) && row?.[k]), pass: row?.pass === true };
  }

  /** hasAny tells whether the user has a factor that proves them on its own; backup codes only stand in for those. */
  async hasAny(userId: string): Promise<boolean> {
    return (await this.kinds(userId)).some((k) => k !== 'backup');
  }

  /**
   * removeBefore deletes the factors the user set up before `before` and
   * every backup code, in one transaction: what a sign-in with an access pass
   * leaves behind once the new factor is in place. Returns how many went.
   */
  async removeBefore(userId: string, before: Date): Promise<number> {
    return this.db.transaction(async (tx) => {
      const gone = async (q: ReturnType<typeof sql>) => ((await tx.execute(q)) as unknown as { rows: unknown[] }).rows.length;
      let n = await gone(sql`delete from totp_authenticators where user_id = ${userId} and created_at < ${before} returning 1`);
      n += await gone(sql`delete from sms_phones where user_id = ${userId} and bound_at < ${before} returning 1`);
      n += await gone(sql`delete from webauthn_credentials where user_id = ${userId} and created_at < ${before} returning 1`);
      n += await gone(sql`delete from recovery_emails where user_id = ${userId} and verified_at < ${before} returning 1`);
      n += await gone(sql`update hardware_tokens set revoked_at = now() where user_id = ${userId} and activated_at < ${before} and revoked_at is null returning 1`);
      await tx.execute(sql`delete from backup_codes where user_id = ${userId}`);
      return n;
    });
  }

  /** removeAll deletes every factor of the user and their backup codes, in one transaction; returns how many factors there were. */
  async removeAll(userId: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      let n = 0;
      for (const table of ['totp_authenticators', 'sms_phones', 'recovery_emails', 'webauthn_credentials']) {
        const result = await tx.execute(sql`delete from ${sql.identifier(table)} where user_id = ${userId} returning 1`);
        n += (result as unknown as { rows: unknown[] }).rows.length;
      }
      // A bound hardware token is withdrawn rather than deleted: the inventory keeps it, revoked.
      const tokens = await tx.execute(sql`update hardware_tokens set revoked_at = now() where user_id = ${userId} and activated_at is not null and revoked_at is null returning 1`);
      n += (tokens as unknown as { rows: unknown[] }).rows.length;
      await tx.execute(sql`delete from backup_codes where user_id = ${userId}`);
      return n;
    });
  }
}

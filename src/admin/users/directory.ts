import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';

/** One row of the administrators' users page: the account and the state of its credentials. */
export interface DirectoryRow {
  id: string;
  email: string;
  displayName: string;
  isAdmin: boolean;
  disabled: boolean;
  mustChangePassword: boolean;
  /** The account's own two-step requirement; null follows the policy. */
  require2fa: boolean | null;
  lastSignInAt: Date | null;
  factorsChangedAt: Date | null;
  /** The second factors the account has (backup codes not counted), strongest first. */
  factors: string[];
  backupCodesLeft: number;
  appPasswords: number;
  trustedBrowsers: number;
  accessPassUntil: Date | null;
}

export interface DirectoryPage {
  rows: DirectoryRow[];
  total: number;
  page: number;
  pages: number;
}

export const PAGE_SIZE = 50;

/**
 * UserDirectory answers the users page: accounts matching a search by
 * address or name, a page at a time, with their credential counts. The
 * counts are read for the page's rows only, so the cost of a page does not
 * grow with the number of accounts beyond one scan for the count and the ids.
 */
export class UserDirectory {
  constructor(private readonly db: Db) {}

  async page(opts: { q?: string; page: number; now?: Date }): Promise<DirectoryPage> {
    const now = opts.now ?? new Date();
    const q = opts.q?.trim().toLowerCase();
    // The search is a substring of the address or the name; % and _ typed by the admin are taken literally.
    const like = q ? `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
    const where = like ? sql`where lower(u.email) like ${like} or lower(u.display_name) like ${like}` : sql``;
    // One pass over the matching accounts gives both the count and the page's ids; the page's details follow for those ids.
    // Without a search, the count is an index-only count and the page an index range: no pass over the table.
    const matching = like ? sql`(select u.id, lower(u.email) as k from users u ${where})` : sql`(select u.id, lower(u.email) as k from users u)`;
    const find = async (page: number) => {
      const result = await this.db.execute(sql`with m as ${like ? sql`materialized ` : sql`not materialized `}${matching}
        select (select count(*)::int from m) as total,
          coalesce((select json_agg(p.id order by p.k) from (select id, k from m order by k limit ${PAGE_SIZE} offset ${(page - 1) * PAGE_SIZE}) p), '[]'::json) as ids`);
      const row = (result as unknown as { rows: Array<{ total: number; ids: string[] | string }> }).rows[0]!;
      return { total: row.total, ids: (typeof row.ids === 'string' ? JSON.parse(row.ids) : row.ids) as string[] };
    };
    let page = Math.max(1, opts.page);
    let found = await find(page);
    const pages = Math.max(1, Math.ceil(found.total / PAGE_SIZE));
    // Past the last page (the list shrank, or the number was typed): the last page.
    if (page > pages) found = await find((page = pages));
    const total = found.total;
    const rows = found.ids.length ? await this.rows(sql`(select * from users u where u.id in (${sql.join(found.ids.map((id) => sql`${id}`), sql`, `)}))`, now) : [];
    return { rows, total, page, pages };
  }

  /** one is the row of one account, for its page. */
  async one(userId: string, now = new Date()): Promise<DirectoryRow | undefined> {
    return (await this.rows(sql`(select * from users u where u.id = ${userId})`, now))[0];
  }

  private async rows(accounts: SQL, now: Date): Promise<DirectoryRow[]> {
    const result = await this.db.execute(sql`
      select u.id, u.email, u.display_name, u.is_admin, u.disabled, u.must_change_password, u.require_2fa, u.factors_changed_at,
        (select max(l.created_at) from audit_events l where l.user_id = u.id and l.event = 'login.ok') as last_sign_in_at,
        exists(select 1 from webauthn_credentials w where w.user_id = u.id) as webauthn,
        exists(select 1 from totp_authenticators t where t.user_id = u.id) as totp,
        exists(select 1 from hardware_tokens h where h.user_id = u.id and h.activated_at is not null and h.revoked_at is null) as hardware,
        exists(select 1 from sms_phones p where p.user_id = u.id) as sms,
        exists(select 1 from recovery_emails e where e.user_id = u.id) as email_factor,
        (select count(*)::int from backup_codes b where b.user_id = u.id and b.used_at is null) as backup_left,
        (select count(*)::int from app_passwords a where a.user_id = u.id and (a.expires_at is null or a.expires_at > ${now})) as app_passwords,
        (select count(*)::int from trusted_devices d where d.user_id = u.id and d.expires_at > ${now}) as trusted,
        (select x.expires_at from access_passes x where x.user_id = u.id and x.used_at is null and x.expires_at > ${now}) as pass_until
      from ${accounts} u
      order by lower(u.email)`);
    return (result as unknown as { rows: Array<Record<string, unknown>> }).rows.map(toRow);
  }
}

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

function toRow(r: Record<string, unknown>): DirectoryRow {
  const factors = (['webauthn', 'totp', 'hardware', 'sms', 'email_factor'] as const).filter((k) => r[k] === true).map((k) => (k === 'email_factor' ? 'email' : k));
  return {
    id: String(r.id),
    email: String(r.email),
    displayName: String(r.display_name),
    isAdmin: r.is_admin === true,
    disabled: r.disabled === true,
    mustChangePassword: r.must_change_password === true,
    require2fa: r.require_2fa === null || r.require_2fa === undefined ? null : r.require_2fa === true,
    lastSignInAt: date(r.last_sign_in_at),
    factorsChangedAt: date(r.factors_changed_at),
    factors,
    backupCodesLeft: Number(r.backup_left ?? 0),
    appPasswords: Number(r.app_passwords ?? 0),
    trustedBrowsers: Number(r.trusted ?? 0),
    accessPassUntil: date(r.pass_until),
  };
}

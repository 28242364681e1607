import type { Services } from '../../src/services.ts';
import type { User } from '../../src/users/repo.ts';

let n = 0;

export const PASSWORD = 'correct horse battery staple';

/** buildUser creates an account with a unique address and the shared test password. */
export async function buildUser(s: Services, opts: { phone?: string; admin?: boolean; require2fa?: boolean; disabled?: boolean } = {}): Promise<User> {
  n += 1;
  const user = await s.userService.create({ email: `user${n}-${process.pid}@example.test`, password: PASSWORD, isAdmin: opts.admin });
  if (opts.phone) await s.phones.save(user.id, opts.phone);
  if (opts.require2fa !== undefined) await s.users.update(user.id, { require2fa: opts.require2fa });
  if (opts.disabled) await s.users.update(user.id, { disabled: true });
  return (await s.users.load(user.id))!;
}

/** eventsOf lists audit events (oldest first), for one user or for everyone. */
export async function eventsOf(s: Services, userId?: string) {
  await s.audit.flush();
  const { auditEvents } = await import('../../src/db/schema/index.ts');
  const { asc, eq } = await import('drizzle-orm');
  const q = s.db.select().from(auditEvents);
  return (userId ? q.where(eq(auditEvents.userId, userId)) : q).orderBy(asc(auditEvents.id));
}

/**
 * soon retries an assertion for up to `ms`: PostgreSQL delivers change
 * notifications on another connection, a moment after the write returns.
 */
export async function soon(assertion: () => Promise<void>, ms = 1000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await assertion();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * ageSessions moves every stored session of a user back in time by `ms`, as
 * if that much time had passed since each of its steps.
 */
export async function ageSessions(s: Services, userId: string, ms: number): Promise<void> {
  const { sessions } = await import('../../src/db/schema/index.ts');
  const { eq, sql } = await import('drizzle-orm');
  const shift = (field: string) => sql`case when ${sessions.data} #> ${`{auth,${field}}`}::text[] is null then ${sessions.data} else jsonb_set(${sessions.data}, ${`{auth,${field}}`}::text[], to_jsonb((${sessions.data} #>> ${`{auth,${field}}`}::text[])::bigint - ${ms})) end`;
  for (const field of ['since', 'authAt', 'elevatedAt']) await s.db.update(sessions).set({ data: shift(field) }).where(eq(sessions.userId, userId));
}

/**
 * addAuthenticator gives a user an authenticator app, as if they had set it
 * up, with no step used yet, and returns its base32 secret (for totpCode or
 * oathtool). Written directly: the repository's save always records the
 * step its confirming code used.
 */
export async function addAuthenticator(s: Services, userId: string, name = 'Phone'): Promise<string> {
  const { totpAuthenticators } = await import('../../src/db/schema/index.ts');
  const { newTotpSecret } = await import('../../src/twofactor/totp/totp.ts');
  const secret = newTotpSecret();
  await s.db.insert(totpAuthenticators).values({ userId, name, secretSealed: s.secrets.seal(secret), lastStep: null });
  return secret;
}

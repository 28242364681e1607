import { sql } from 'drizzle-orm';
import { bigserial, boolean, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** authAttempts records every authentication attempt; regulation counts them. */
export const authAttempts = pgTable(
  'auth_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // What was tried: password | sms | stepup | …
    kind: text('kind').notNull(),
    // The account name as typed (lower-cased), so unknown users are counted too.
    account: text('account').notNull(),
    ip: text('ip').notNull(),
    // A client known to the account (signed device cookie, a mail client's known address); null for untrusted ones.
    device: text('device'),
    success: boolean('success').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('auth_attempts_account').on(t.kind, t.account, t.createdAt),
    // Only failures count per IP: a busy address (a campus NAT) must not slow every check down.
    index('auth_attempts_ip_failed')
      .on(t.kind, t.ip, t.createdAt)
      .where(sql`${t.success} = false`),
  ],
);

/** auditEvents is the one log of security events, shown to users and administrators. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: uuid('user_id'),
    account: text('account'),
    event: text('event').notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    details: jsonb('details').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('audit_events_user').on(t.userId, t.createdAt),
    index('audit_events_created').on(t.createdAt),
    // The administrators' filters: by event kind and by address, newest first.
    index('audit_events_event').on(t.event, t.createdAt),
    index('audit_events_ip').on(t.ip, t.createdAt),
    // Attempts typed with an address that has no account are found by the name typed.
    index('audit_events_account').on(t.account, t.createdAt),
  ],
);

import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.ts';

/**
 * appPasswords are client-specific passwords for IMAP/SMTP clients. Only an
 * argon2id hash is kept; `selector` (a short SHA-256 prefix of the password)
 * finds the one row to verify without trying every hash of the user.
 */
export const appPasswords = pgTable(
  'app_passwords',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    selector: text('selector').notNull(),
    hash: text('hash').notNull(),
    // Protocols it opens: imap, smtp.
    scopes: text('scopes').array().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    lastUsedIp: text('last_used_ip'),
    lastUsedProtocol: text('last_used_protocol'),
    // The mail app as it named itself with IMAP ID (cleaned, at most 64 characters each); unverified.
    clientName: text('client_name'),
    clientVersion: text('client_version'),
  },
  (t) => [index('app_passwords_user_selector').on(t.userId, t.selector)],
);

/**
 * appPasswordVerifiers let any node admit again, without a password hash,
 * a mail client that proved its client-specific password lately from the
 * same address (after a restart hundreds reconnect at once). The key is an
 * HMAC, under a key kept outside the database, of the user, the password
 * and the address: it neither reveals nor helps guess the password, and it
 * goes with the password (cascade) when that is revoked.
 */
export const appPasswordVerifiers = pgTable(
  'app_password_verifiers',
  {
    key: text('key').primaryKey(),
    appPasswordId: uuid('app_password_id')
      .notNull()
      .references(() => appPasswords.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('app_password_verifiers_password').on(t.appPasswordId), index('app_password_verifiers_expires').on(t.expiresAt)],
);

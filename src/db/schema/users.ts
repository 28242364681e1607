import { boolean, index, pgTable, text, timestamp, uuid, uniqueIndex } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // The mailbox address, stored lower-case; it is also the IMAP user name.
    email: text('email').notNull(),
    displayName: text('display_name').notNull().default(''),
    passwordHash: text('password_hash').notNull(),
    isAdmin: boolean('is_admin').notNull().default(false),
    disabled: boolean('disabled').notNull().default(false),
    // Per-user two-step policy: null follows the global policy.
    require2fa: boolean('require_2fa'),
    locale: text('locale'),
    // Two-step scopes: a second factor at sign-in, and a fresh one before sensitive actions.
    loginProtection: boolean('login_protection').notNull().default(true),
    operationProtection: boolean('operation_protection').notNull().default(true),
    // The factor the user marked preferred, and the one that last worked; the sign-in page asks for one of them first.
    preferredFactor: text('preferred_factor'),
    lastFactor: text('last_factor'),
    // When a factor was last added, replaced or renewed: two-step status turns "expired" this long after.
    factorsChangedAt: timestamp('factors_changed_at', { withTimezone: true }),
    passwordChangedAt: timestamp('password_changed_at', { withTimezone: true }).notNull().defaultNow(),
    // Set by an administrator's reset: the next sign-in must choose a new password before anything else.
    mustChangePassword: boolean('must_change_password').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_email_lower').on(sql`lower(${t.email})`), index('users_display_name').on(t.displayName)],
);

/** settings holds site-wide policy as key/value pairs (for example `require_2fa`). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

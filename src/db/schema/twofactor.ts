import { bigint, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.ts';

/** smsPhones holds the bound phone of a user; several users may bind one number. */
export const smsPhones = pgTable('sms_phones', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  phone: text('phone').notNull(), // E.164
  boundAt: timestamp('bound_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * oneTimeCodes is one code sent by text or email: its hash, what it is for,
 * and how often it was guessed. Rows double as the send log that the
 * pumping caps count, per channel.
 */
export const oneTimeCodes = pgTable(
  'one_time_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose').notNull(), // login | bind | stepup
    channel: text('channel').notNull().default('sms'), // sms | email
    destination: text('destination').notNull(), // E.164 number or email address
    codeHash: text('code_hash').notNull(),
    ip: text('ip').notNull(),
    failedAttempts: integer('failed_attempts').notNull().default(0),
    status: text('status').notNull().default('pending'), // pending | sent | failed | used | locked | superseded
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('one_time_codes_user_created').on(t.userId, t.createdAt),
    index('one_time_codes_destination_created').on(t.destination, t.createdAt),
    index('one_time_codes_ip_created').on(t.ip, t.createdAt),
    index('one_time_codes_created').on(t.createdAt),
  ],
);

/**
 * totpAuthenticators are a user's authenticator apps: the RFC 6238 secret,
 * sealed with the secrets key (it must be read back to compute codes), and
 * the last time step accepted, so no code is taken twice.
 */
export const totpAuthenticators = pgTable(
  'totp_authenticators',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    secretSealed: text('secret_sealed').notNull(),
    lastStep: bigint('last_step', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [index('totp_authenticators_user').on(t.userId)],
);

/** backupCodes are single-use codes for when no other factor is at hand; only their HMAC is kept. */
export const backupCodes = pgTable(
  'backup_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('backup_codes_user_hash').on(t.userId, t.codeHash)],
);

/** recoveryEmails holds a user's verified address outside this mail system, for email codes. */
export const recoveryEmails = pgTable('recovery_emails', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  address: text('address').notNull(),
  verifiedAt: timestamp('verified_at', { withTimezone: true }).notNull().defaultNow(),
});

/** trustedDevices are browsers that skip the second factor until expiresAt. */
export const trustedDevices = pgTable(
  'trusted_devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    name: text('name').notNull(),
    ip: text('ip').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('trusted_devices_user').on(t.userId)],
);

import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
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
 * smsChallenges is one sent code: its hash, what it is for, and how often it
 * was guessed. Rows double as the SMS send log that the pumping caps count.
 */
export const smsChallenges = pgTable(
  'sms_challenges',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose').notNull(), // login | bind | stepup
    phone: text('phone').notNull(),
    codeHash: text('code_hash').notNull(),
    ip: text('ip').notNull(),
    failedAttempts: integer('failed_attempts').notNull().default(0),
    status: text('status').notNull().default('pending'), // pending | sent | failed | used | locked | superseded
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('sms_challenges_user_created').on(t.userId, t.createdAt),
    index('sms_challenges_phone_created').on(t.phone, t.createdAt),
    index('sms_challenges_ip_created').on(t.ip, t.createdAt),
    index('sms_challenges_created').on(t.createdAt),
  ],
);

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

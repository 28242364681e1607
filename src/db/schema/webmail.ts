import { boolean, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.ts';

/** mailPreferences are one user's webmail choices; a missing row means the defaults. */
export const mailPreferences = pgTable('mail_preferences', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  // An IANA zone the browser reported (e.g. Asia/Shanghai); null: the server's TZ.
  timeZone: text('time_zone'),
  // Desktop: the list on the left, the open message on the right.
  readingPane: boolean('reading_pane').notNull().default(false),
  // Group the list into conversations (by References / In-Reply-To).
  conversations: boolean('conversations').notNull().default(false),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * mailSignatures are signatures per user and mailbox: the own one under the
 * user's address, one per shared mailbox the user sends from. The HTML is
 * stored sanitized; the text is derived from it.
 */
export const mailSignatures = pgTable(
  'mail_signatures',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // The mailbox address (lower-case) the signature is for.
    mailbox: text('mailbox').notNull(),
    html: text('html').notNull(),
    text: text('text').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.mailbox] })],
);

/** mailContacts are the addresses a user has written to, for autocomplete. */
export const mailContacts = pgTable(
  'mail_contacts',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // Lower-case address; the name as last written.
    address: text('address').notNull(),
    name: text('name').notNull().default(''),
    uses: integer('uses').notNull().default(1),
    lastUsed: timestamp('last_used', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.address] }), index('mail_contacts_recent').on(t.userId, t.lastUsed)],
);

import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.ts';

/**
 * mailboxGrants are shared mailboxes: the owner lets one other user into
 * their mailbox at one permission level. A user holds at most one grant per
 * mailbox; removing the row revokes access on the next request.
 */
export const mailboxGrants = pgTable(
  'mailbox_grants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    granteeId: uuid('grantee_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // read | send_on_behalf | send_as
    permission: text('permission').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('mailbox_grants_owner_grantee').on(t.ownerId, t.granteeId), index('mailbox_grants_grantee').on(t.granteeId)],
);

import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { users } from './users.ts';

/**
 * accessPasses are temporary access passes issued by an administrator to a
 * user who lost their second factor: one sign-in, then a new factor at once.
 * Only the code's HMAC is kept; issuing a new pass replaces the old one.
 */
export const accessPasses = pgTable('access_passes', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  codeHash: text('code_hash').notNull(),
  issuedBy: uuid('issued_by'),
  reason: text('reason').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
});

/**
 * hardwareTokens are OATH TOTP tokens handed out by the administrators,
 * imported with their sealed secret and bound by a user with the serial
 * number and the code the token shows. Status: available (no user),
 * assigned (a user, not yet bound), activated (bound), revoked.
 */
export const hardwareTokens = pgTable(
  'hardware_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    serial: text('serial').notNull(),
    secretSealed: text('secret_sealed').notNull(),
    period: integer('period').notNull().default(30),
    manufacturer: text('manufacturer').notNull().default(''),
    model: text('model').notNull().default(''),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    // The offset in time steps this token's clock was last seen at, so a drifting token keeps working.
    driftSteps: integer('drift_steps').notNull().default(0),
    lastStep: bigint('last_step', { mode: 'number' }),
    importedAt: timestamp('imported_at', { withTimezone: true }).notNull().defaultNow(),
    activatedAt: timestamp('activated_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('hardware_tokens_serial').on(sql`lower(${t.serial})`), index('hardware_tokens_user').on(t.userId)],
);

/**
 * notices are security notices to users, queued with the action that caused
 * them and sent by the notice worker with back-off; a row is never deleted
 * before it is sent or given up, so a restart loses none.
 */
export const notices = pgTable(
  'notices',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    auditEventId: bigint('audit_event_id', { mode: 'number' }),
    recipient: text('recipient').notNull(),
    kind: text('kind').notNull(),
    locale: text('locale').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    status: text('status').notNull().default('queued'), // queued | sent | failed
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [
    index('notices_due').on(t.nextAttemptAt).where(sql`${t.status} = 'queued'`),
    index('notices_audit').on(t.auditEventId),
    index('notices_created').on(t.createdAt),
  ],
);

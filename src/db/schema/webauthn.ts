import { bigint, boolean, customType, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.ts';

/** bytea stores raw bytes; node-postgres hands back a Buffer, PGlite a Uint8Array, both read as a Uint8Array. */
const bytea = customType<{ data: Uint8Array<ArrayBuffer>; driverData: Uint8Array | string }>({
  dataType: () => 'bytea',
  toDriver: (value) => Buffer.from(value),
  fromDriver: (value) => (typeof value === 'string' ? new Uint8Array(Buffer.from(value.startsWith('\\x') ? value.slice(2) : value, 'hex')) : new Uint8Array(value)),
});

/**
 * webauthnCredentials are a user's security keys and passkeys: the public
 * key the authenticator made (nothing secret is stored), its signature
 * counter, and what the list shows. The credential id is the
 * authenticator's own (base64url), unique across all users.
 */
export const webauthnCredentials = pgTable(
  'webauthn_credentials',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    credentialId: text('credential_id').notNull().unique(),
    publicKey: bytea('public_key').notNull(),
    counter: bigint('counter', { mode: 'number' }).notNull().default(0),
    // usb, nfc, ble, hybrid, internal, smart-card: as the browser reported them at registration.
    transports: text('transports').array().notNull().default([]),
    name: text('name').notNull(),
    // A passkey the authenticator keeps (resident key), which can sign in without the password; null when the browser did not say.
    discoverable: boolean('discoverable'),
    backedUp: boolean('backed_up').notNull().default(false),
    // singleDevice | multiDevice
    deviceType: text('device_type').notNull(),
    aaguid: text('aaguid').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [index('webauthn_credentials_user').on(t.userId)],
);

/**
 * webauthnChallengesUsed holds the challenges answered in the last few
 * minutes: a challenge lives in one session, and taking it here too makes
 * it single use even when two requests of that session race with it.
 */
export const webauthnChallengesUsed = pgTable(
  'webauthn_challenges_used',
  {
    challenge: text('challenge').primaryKey(),
    usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webauthn_challenges_used_at').on(t.usedAt)],
);

import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { auditEvents, mailboxGrants, users } from '../db/schema/index.ts';
import type { Permission } from './policy.ts';

export type Grant = typeof mailboxGrants.$inferSelect;

/** GrantView is a grant with the other party's address, for lists. */
export interface GrantView {
  id: string;
  permission: Permission;
  createdAt: Date;
  updatedAt: Date;
  email: string;
  displayName: string;
}

/** GrantRepo holds the queries on shared-mailbox grants. */
export class GrantRepo {
  constructor(private readonly db: Db) {}

  /** listByOwner: who the owner shares with, by address. */
  async listByOwner(ownerId: string): Promise<GrantView[]> {
    const rows = await this.db
      .select({ g: mailboxGrants, email: users.email, displayName: users.displayName })
      .from(mailboxGrants)
      .innerJoin(users, eq(users.id, mailboxGrants.granteeId))
      .where(eq(mailboxGrants.ownerId, ownerId))
      .orderBy(asc(users.email));
    return rows.map((r) => view(r.g, r.email, r.displayName));
  }

  /** listByGrantee: mailboxes shared with a user, by owner address; disabled owners are left out. */
  async listByGrantee(granteeId: string): Promise<GrantView[]> {
    const rows = await this.db
      .select({ g: mailboxGrants, email: users.email, displayName: users.displayName })
      .from(mailboxGrants)
      .innerJoin(users, and(eq(users.id, mailboxGrants.ownerId), eq(users.disabled, false)))
      .where(eq(mailboxGrants.granteeId, granteeId))
      .orderBy(asc(users.email));
    return rows.map((r) => view(r.g, r.email, r.displayName));
  }

  async load(ownerId: string, granteeId: string): Promise<Grant | undefined> {
    const [row] = await this.db
      .select()
      .from(mailboxGrants)
      .where(and(eq(mailboxGrants.ownerId, ownerId), eq(mailboxGrants.granteeId, granteeId)))
      .limit(1);
    return row;
  }

  async loadById(ownerId: string, id: string): Promise<Grant | undefined> {
    const [row] = await this.db
      .select()
      .from(mailboxGrants)
      .where(and(eq(mailboxGrants.ownerId, ownerId), eq(mailboxGrants.id, id)))
      .limit(1);
    return row;
  }

  async save(ownerId: string, granteeId: string, permission: Permission): Promise<Grant> {
    const [row] = await this.db.insert(mailboxGrants).values({ ownerId, granteeId, permission }).returning();
    return row!;
  }

  async update(id: string, permission: Permission): Promise<void> {
    await this.db.update(mailboxGrants).set({ permission, updatedAt: new Date() }).where(eq(mailboxGrants.id, id));
  }

  async delete(ownerId: string, id: string): Promise<Grant | undefined> {
    const [row] = await this.db
      .delete(mailboxGrants)
      .where(and(eq(mailboxGrants.ownerId, ownerId), eq(mailboxGrants.id, id)))
      .returning();
    return row;
  }

  /** activity lists what delegates did in an owner's mailbox and changes to its grants, newest first. */
  async activity(ownerId: string, events: string[], limit = 50) {
    return this.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, ownerId), inArray(auditEvents.event, events)))
      .orderBy(desc(auditEvents.id))
      .limit(limit);
  }
}

function view(g: Grant, email: string, displayName: string): GrantView {
  return { id: g.id, permission: g.permission as Permission, createdAt: g.createdAt, updatedAt: g.updatedAt, email, displayName };
}

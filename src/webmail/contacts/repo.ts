import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { mailContacts, users } from '../../db/schema/index.ts';

/** Suggestion is one address offered while typing a recipient. */
export interface Suggestion {
  name: string;
  address: string;
}

/** likePrefix turns typed text into a LIKE pattern matching it literally at the start: % _ and \ are escaped. */
export function likePrefix(typed: string): string {
  return `${typed.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** ContactRepo holds the addresses each user has written to, and the directory search over Postern's users. */
export class ContactRepo {
  constructor(private readonly db: Db) {}

  /**
   * save records one send to each address: a new row, or one more use and a
   * fresh last use (and the name as written now, when one was given). Then
   * the user's list is cut back to `keep` rows, the least recently used
   * going first; both in one transaction.
   */
  async save(userId: string, people: Suggestion[], keep: number): Promise<void> {
    if (!people.length) return;
    const now = new Date();
    await this.db.transaction(async (tx) => {
      for (const p of people) {
        await tx
          .insert(mailContacts)
          .values({ userId, address: p.address, name: p.name, uses: 1, lastUsed: now })
          .onConflictDoUpdate({
            target: [mailContacts.userId, mailContacts.address],
            // A name typed this time replaces the one kept; a bare address keeps it.
            set: { uses: sql`${mailContacts.uses} + 1`, lastUsed: now, ...(p.name ? { name: p.name } : {}) },
          });
      }
      await tx.execute(sql`
        delete from ${mailContacts} where ${mailContacts.userId} = ${userId} and ${mailContacts.address} not in (
          select ${mailContacts.address} from ${mailContacts} where ${mailContacts.userId} = ${userId}
          order by ${mailContacts.lastUsed} desc, ${mailContacts.address} limit ${keep})`);
    });
  }

  /** load finds the user's own contacts whose address, name or a word of the name starts with `typed`. */
  async load(userId: string, typed: string, limit: number): Promise<Suggestion[]> {
    const prefix = likePrefix(typed);
    const word = `% ${prefix}`;
    return this.db
      .select({ name: mailContacts.name, address: mailContacts.address })
      .from(mailContacts)
      .where(
        and(
          eq(mailContacts.userId, userId),
          sql`(${mailContacts.address} like ${prefix} escape '\\' or lower(${mailContacts.name}) like ${prefix} escape '\\' or lower(${mailContacts.name}) like ${word} escape '\\')`,
        ),
      )
      .orderBy(desc(mailContacts.uses), desc(mailContacts.lastUsed), asc(mailContacts.address))
      .limit(limit);
  }

  /** loadUsers finds enabled Postern accounts by the start of their address or name (or of a word of it). */
  async loadUsers(typed: string, limit: number): Promise<Suggestion[]> {
    const prefix = likePrefix(typed);
    const word = `% ${prefix}`;
    return this.db
      .select({ name: users.displayName, address: users.email })
      .from(users)
      .where(
        and(
          eq(users.disabled, false),
          sql`(lower(${users.email}) like ${prefix} escape '\\' or lower(${users.displayName}) like ${prefix} escape '\\' or lower(${users.displayName}) like ${word} escape '\\')`,
        ),
      )
      .orderBy(asc(users.email))
      .limit(limit);
  }

  /** count is how many contacts a user has (for tests of the cap). */
  async count(userId: string): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)::int` }).from(mailContacts).where(eq(mailContacts.userId, userId));
    return row?.n ?? 0;
  }
}

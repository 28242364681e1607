import { and, asc, desc, eq, inArray, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { hardwareTokens, users } from '../../db/schema/index.ts';

export type HardwareToken = typeof hardwareTokens.$inferSelect;

/** Where a token stands: in stock, handed to a user, bound by them, or withdrawn. */
export const TOKEN_STATUSES = ['available', 'assigned', 'activated', 'revoked'] as const;
export type TokenStatus = (typeof TOKEN_STATUSES)[number];

/** statusOf reads a token's status from its dates and owner. */
export function statusOf(t: Pick<HardwareToken, 'userId' | 'activatedAt' | 'revokedAt'>): TokenStatus {
  if (t.revokedAt) return 'revoked';
  if (t.activatedAt) return 'activated';
  return t.userId ? 'assigned' : 'available';
}

/** InventoryItem is a token as the inventory lists it: everything but its secret, with its owner's address. */
export interface InventoryItem {
  id: string;
  serial: string;
  period: number;
  manufacturer: string;
  model: string;
  userId: string | null;
  email: string | null;
  status: TokenStatus;
  importedAt: Date;
  activatedAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** NewToken is one token to import, its secret already sealed. */
export interface NewToken {
  serial: string;
  secretSealed: string;
  period: number;
  manufacturer: string;
  model: string;
  userId: string | null;
}

const INSERT_CHUNK = 500;
const LOOKUP_CHUNK = 1000;

/** The SQL condition for each status, kept beside statusOf so the two say the same. */
const STATUS_WHERE: Record<TokenStatus, SQL> = {
  revoked: isNotNull(hardwareTokens.revokedAt),
  activated: and(isNull(hardwareTokens.revokedAt), isNotNull(hardwareTokens.activatedAt))!,
  assigned: and(isNull(hardwareTokens.revokedAt), isNull(hardwareTokens.activatedAt), isNotNull(hardwareTokens.userId))!,
  available: and(isNull(hardwareTokens.revokedAt), isNull(hardwareTokens.activatedAt), isNull(hardwareTokens.userId))!,
};

/** HardwareTokenRepo holds the inventory of hardware tokens and each user's bound ones. */
export class HardwareTokenRepo {
  constructor(private readonly db: Db) {}

  /** load returns one token by id. */
  async load(id: string): Promise<HardwareToken | undefined> {
    const [row] = await this.db.select().from(hardwareTokens).where(eq(hardwareTokens.id, id)).limit(1);
    return row;
  }

  /** loadBySerial finds a token by serial number, whatever its case. */
  async loadBySerial(serial: string): Promise<HardwareToken | undefined> {
    const [row] = await this.db
      .select()
      .from(hardwareTokens)
      .where(sql`lower(${hardwareTokens.serial}) = ${serial.toLowerCase()}`)
      .limit(1);
    return row;
  }

  /** listActive returns the tokens a user has bound and that are not revoked: their second factors of this kind. */
  listActive(userId: string): Promise<HardwareToken[]> {
    return this.db
      .select()
      .from(hardwareTokens)
      .where(and(eq(hardwareTokens.userId, userId), STATUS_WHERE.activated))
      .orderBy(asc(hardwareTokens.activatedAt));
  }

  /** existing returns which of the serial numbers (any case) are already in the inventory, as stored. */
  async existing(serials: string[]): Promise<string[]> {
    const lower = [...new Set(serials.map((s) => s.toLowerCase()))];
    const out: string[] = [];
    for (let i = 0; i < lower.length; i += LOOKUP_CHUNK) {
      const rows = await this.db
        .select({ serial: hardwareTokens.serial })
        .from(hardwareTokens)
        .where(inArray(sql`lower(${hardwareTokens.serial})`, lower.slice(i, i + LOOKUP_CHUNK)));
      out.push(...rows.map((r) => r.serial));
    }
    return out;
  }

  /** userIds maps addresses (lower case) to the accounts that have them; unknown ones are left out. */
  async userIds(emails: string[]): Promise<Map<string, string>> {
    const lower = [...new Set(emails.map((e) => e.toLowerCase()))];
    const out = new Map<string, string>();
    for (let i = 0; i < lower.length; i += LOOKUP_CHUNK) {
      const rows = await this.db
        .select({ id: users.id, email: users.email })
        .from(users)
        .where(inArray(sql`lower(${users.email})`, lower.slice(i, i + LOOKUP_CHUNK)));
      for (const r of rows) out.set(r.email.toLowerCase(), r.id);
    }
    return out;
  }

  /**
   * saveAll inserts every token in one transaction, or none: a serial number
   * taken meanwhile (another import racing this one) rolls the whole file
   * back, and false is returned.
   */
  async saveAll(tokens: NewToken[]): Promise<boolean> {
    try {
      await this.db.transaction(async (tx) => {
        for (let i = 0; i < tokens.length; i += INSERT_CHUNK) await tx.insert(hardwareTokens).values(tokens.slice(i, i + INSERT_CHUNK));
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** list returns one page of the inventory, newest import first, filtered by status and by a piece of serial number or owner address. */
  async list(opts: { status?: TokenStatus; search?: string; limit: number; offset: number }): Promise<{ items: InventoryItem[]; total: number }> {
    const conditions: SQL[] = [];
    if (opts.status) conditions.push(STATUS_WHERE[opts.status]);
    if (opts.search) {
      // position() finds the text as it is: no pattern characters to escape, nothing to backtrack.
      const needle = opts.search.toLowerCase();
      conditions.push(or(sql`position(${needle} in lower(${hardwareTokens.serial})) > 0`, sql`position(${needle} in lower(coalesce(${users.email}, ''))) > 0`)!);
    }
    const where = conditions.length ? and(...conditions) : undefined;
    const [counted] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(hardwareTokens)
      .leftJoin(users, eq(users.id, hardwareTokens.userId))
      .where(where);
    const rows = await this.db
      .select({
        id: hardwareTokens.id,
        serial: hardwareTokens.serial,
        period: hardwareTokens.period,
        manufacturer: hardwareTokens.manufacturer,
        model: hardwareTokens.model,
        userId: hardwareTokens.userId,
        email: users.email,
        importedAt: hardwareTokens.importedAt,
        activatedAt: hardwareTokens.activatedAt,
        lastUsedAt: hardwareTokens.lastUsedAt,
        revokedAt: hardwareTokens.revokedAt,
      })
      .from(hardwareTokens)
      .leftJoin(users, eq(users.id, hardwareTokens.userId))
      .where(where)
      .orderBy(desc(hardwareTokens.importedAt), asc(hardwareTokens.serial))
      .limit(opts.limit)
      .offset(opts.offset);
    return { items: rows.map((r) => ({ ...r, status: statusOf(r) })), total: counted?.n ?? 0 };
  }

  /**
   * activate binds a token to a user, only if it is still in stock or handed
   * to that user, and neither bound nor revoked: of two requests racing for
   * one token, one wins. The step its code used is stored as used.
   */
  async activate(id: string, userId: string, step: number, driftSteps: number, now = new Date()): Promise<HardwareToken | undefined> {
    const [row] = await this.db
      .update(hardwareTokens)
      .set({ userId, activatedAt: now, lastStep: step, driftSteps })
      .where(
        and(
          eq(hardwareTokens.id, id),
          isNull(hardwareTokens.activatedAt),
          isNull(hardwareTokens.revokedAt),
          or(isNull(hardwareTokens.userId), eq(hardwareTokens.userId, userId)),
        ),
      )
      .returning();
    return row;
  }

  /**
   * accept records `step` as the token's last accepted step and its clock's
   * offset, only if the step is later than the one stored and the token is
   * still bound: of two requests racing with one code, one wins.
   */
  async accept(id: string, step: number, driftSteps: number, now = new Date()): Promise<boolean> {
    const rows = await this.db
      .update(hardwareTokens)
      .set({ lastStep: step, driftSteps, lastUsedAt: now })
      .where(and(eq(hardwareTokens.id, id), STATUS_WHERE.activated, or(isNull(hardwareTokens.lastStep), lt(hardwareTokens.lastStep, step))))
      .returning({ id: hardwareTokens.id });
    return rows.length === 1;
  }

  /** revoke withdraws a token that is not revoked yet; with `userId`, only one of that user's bound tokens. */
  async revoke(id: string, userId?: string, now = new Date()): Promise<HardwareToken | undefined> {
    const owned = userId ? [eq(hardwareTokens.userId, userId), isNotNull(hardwareTokens.activatedAt)] : [];
    const [row] = await this.db
      .update(hardwareTokens)
      .set({ revokedAt: now })
      .where(and(eq(hardwareTokens.id, id), isNull(hardwareTokens.revokedAt), ...owned))
      .returning();
    return row;
  }
}

/** isUniqueViolation tells whether the database refused a write for a duplicate key (SQLSTATE 23505), however the driver wraps it. */
function isUniqueViolation(err: unknown): boolean {
  let e = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    if ((e as { code?: unknown }).code === '23505') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

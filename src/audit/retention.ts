import { sql, type SQL } from 'drizzle-orm';
import type { Pool } from 'pg';
import type { Db, Store } from '../db/client.ts';
import * as schema from '../db/schema/index.ts';
import { DEFAULT_RULES, KNOWN_IP_DAYS, type RegulationRules } from '../auth/regulation.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../log-redact.ts';

const DAY_MS = 86400_000;

/** How often the job runs, and how soon after start the first run comes. */
export const RETENTION_EVERY_MS = DAY_MS;
const FIRST_RUN_AFTER_MS = 5 * 60_000;

/**
 * The advisory lock every node tries before it runs the job, as the
 * two-integer key ('post', 1) so it can be found in pg_locks.
 */
const LOCK_KEY = [0x706f7374, 1] as const;

/** Rows deleted per statement: short statements, so sign-ins never wait long behind the job. */
export const RETENTION_BATCH = 10_000;

export interface RetentionOptions {
  store: Store;
  /** Audit events (and sent notices) older than this many days go. */
  days: number;
  log: Logger;
  /** The regulator's rules: sign-in attempts it may still count are kept. */
  rules?: RegulationRules;
  batch?: number;
}

/** RetentionRun says what one run did: whether it held the lock, and how many rows of each table it deleted in how many statements. */
export interface RetentionRun {
  ran: boolean;
  auditEvents: number;
  authAttempts: number;
  notices: number;
  /** Stored mail-login verifiers past their day (see AppPasswords.remember). */
  verifiers: number;
  statements: number;
}

/**
 * attemptWindows are the ages past which the regulator no longer reads a
 * sign-in attempt: failures count for the lock window (a day by default)
 * and the per-address window; successes make a mail client's address known
 * for KNOWN_IP_DAYS. A day of margin is added to each.
 */
export function attemptWindows(rules: RegulationRules = DEFAULT_RULES): { failuresMs: number; successesMs: number } {
  const failures = Math.max(rules.lockSeconds, rules.ipWindowSeconds) * 1000;
  return { failuresMs: Math.ceil(failures / DAY_MS) * DAY_MS + DAY_MS, successesMs: (KNOWN_IP_DAYS + 1) * DAY_MS };
}

/**
 * AuditRetention deletes what Postern no longer needs to keep: audit
 * events older than AUDIT_RETENTION_DAYS, security notices sent (or given
 * up) as long ago, and sign-in attempts the regulator no longer counts. It
 * runs once a day, in batches, and on one node only: it holds a
 * PostgreSQL advisory lock on one connection while it works, and a node
 * that cannot take the lock leaves the run to the one that has it.
 */
export class AuditRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionRun> | undefined;
  private stopping = false;
  private readonly batch: number;

  constructor(private readonly o: RetentionOptions) {
    this.batch = o.batch ?? RETENTION_BATCH;
  }

  /** start runs the job a few minutes after start, then once a day; the timer never keeps the process alive. */
  start(): void {
    const tick = (after: number) => {
      this.timer = setTimeout(() => {
        void this.runOnce().finally(() => {
          if (!this.stopping) tick(RETENTION_EVERY_MS);
        });
      }, after);
      this.timer.unref();
    };
    tick(FIRST_RUN_AFTER_MS);
  }

  /** stop cancels the timer and waits for a run in progress, which ends after its current batch. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  /**
   * runOnce deletes everything older than its limit at `now`. A failure
   * is logged, not thrown: the next day's run picks up where it stopped.
   */
  runOnce(now = new Date()): Promise<RetentionRun> {
    // One run per process at a time; other processes are kept out by the lock.
    if (this.running) return this.running.then(() => skipped());
    this.running = this.run(now)
      .catch((err: unknown) => {
        this.o.log.error('audit retention failed', { error: describeError(err) });
        return skipped();
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async run(now: Date): Promise<RetentionRun> {
    return withConnection(this.o.store, async (db) => {
      if (!(await tryLock(db))) return skipped();
      try {
        const done: RetentionRun = { ran: true, auditEvents: 0, authAttempts: 0, notices: 0, verifiers: 0, statements: 0 };
        const cutoff = new Date(now.getTime() - this.o.days * DAY_MS);
        const windows = attemptWindows(this.o.rules);
        const count = async (table: 'audit_events' | 'auth_attempts' | 'notices', where: SQL) => {
          const { rows, statements } = await this.deleteInBatches(db, table, where);
          done.statements += statements;
          return rows;
        };
        done.auditEvents = await count('audit_events', sql`created_at < ${cutoff.toISOString()}::timestamptz`);
        done.notices = await count('notices', sql`status <> 'queued' and created_at < ${cutoff.toISOString()}::timestamptz`);
        done.authAttempts =
          (await count('auth_attempts', sql`not success and created_at < ${new Date(now.getTime() - windows.failuresMs).toISOString()}::timestamptz`)) +
          (await count('auth_attempts', sql`success and created_at < ${new Date(now.getTime() - windows.successesMs).toISOString()}::timestamptz`));
        // One row per client, address and password, each living a day: a single statement deletes them.
        const expired = await db.execute(sql`delete from app_password_verifiers where expires_at < ${now.toISOString()}::timestamptz`);
        done.verifiers = (expired as { rowCount?: number; affectedRows?: number }).rowCount ?? (expired as { affectedRows?: number }).affectedRows ?? 0;
        if (done.auditEvents || done.notices || done.authAttempts) {
          this.o.log.info('audit retention', { days: this.o.days, auditEvents: done.auditEvents, notices: done.notices, authAttempts: done.authAttempts });
        }
        return done;
      } finally {
        await db.execute(sql`select pg_advisory_unlock(${LOCK_KEY[0]}::int, ${LOCK_KEY[1]}::int)`);
      }
    });
  }

  /**
   * deleteInBatches deletes the rows matching `where`, `batch` at a time in
   * id order, each statement starting after the last id the previous one
   * reached, so the table is read once however many batches it takes.
   */
  private async deleteInBatches(db: Db, table: string, where: SQL): Promise<{ rows: number; statements: number }> {
    const t = sql.identifier(table);
    let after = 0;
    let rows = 0;
    let statements = 0;
    for (;;) {
      const result = await db.execute(sql`
        with doomed as (select id from ${t} where id > ${after} and ${where} order by id limit ${this.batch}),
        gone as (delete from ${t} where id in (select id from doomed) returning id)
        select count(*)::int as n, max(id) as last from gone`);
      statements += 1;
      const [r] = rowsOf<{ n: number; last: string | number | null }>(result);
      const n = Number(r?.n ?? 0);
      rows += n;
      if (n < this.batch || r?.last === null || r?.last === undefined || this.stopping) break;
      after = Number(r.last);
    }
    return { rows, statements };
  }
}

/**
 * tryLock takes the job's advisory lock without waiting. It refuses a lock
 * this very connection already holds too (advisory locks are re-entrant,
 * and the embedded database has only one connection), in one statement so
 * nothing runs in between.
 */
async function tryLock(db: Db): Promise<boolean> {
  const result = await db.execute(sql`
    select case when exists (
      select 1 from pg_locks where locktype = 'advisory' and classid = ${LOCK_KEY[0]} and objid = ${LOCK_KEY[1]} and objsubid = 2 and pid = pg_backend_pid()
    ) then false else pg_try_advisory_lock(${LOCK_KEY[0]}::int, ${LOCK_KEY[1]}::int) end as locked`);
  return rowsOf<{ locked: boolean }>(result)[0]?.locked === true;
}

/**
 * withConnection runs `fn` on one database connection for its whole
 * length, which a session-level advisory lock needs: a pooled PostgreSQL
 * client is checked out and returned; the embedded database has only one.
 */
async function withConnection<T>(store: Store, fn: (db: Db) => Promise<T>): Promise<T> {
  if (store.kind !== 'postgres') return fn(store.db);
  const pool = (store.db as unknown as { $client: Pool }).$client;
  const client = await pool.connect();
  let failed = false;
  try {
    const { drizzle } = await import('drizzle-orm/node-postgres');
    return await fn(drizzle(client, { schema }) as unknown as Db);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // After a failure the lock may still be held on it: close the connection rather than pool it.
    client.release(failed);
  }
}

function rowsOf<R>(result: unknown): R[] {
  return (result as { rows?: R[] }).rows ?? (result as R[]);
}

function skipped(): RetentionRun {
  return { ran: false, auditEvents: 0, authAttempts: 0, notices: 0, verifiers: 0, statements: 0 };
}

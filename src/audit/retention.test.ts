import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asc, sql } from 'drizzle-orm';
import type { Pool, PoolClient } from 'pg';
import { openTestStore } from '../../test/helpers/services.ts';
import { loadConfig } from '../config/load.ts';
import { auditEvents, authAttempts, notices } from '../db/schema/index.ts';
import { createLogger } from '../log.ts';
import { AuditRetention, attemptWindows } from './retention.ts';

const DAY = 86400_000;
const now = new Date('2027-03-01T12:00:00Z');
const ago = (days: number) => new Date(now.getTime() - days * DAY);
const log = createLogger('silent');

let store: Awaited<ReturnType<typeof openTestStore>>;
before(async () => {
  store = await openTestStore();
});
after(() => store.dispose());
beforeEach(async () => {
  for (const table of [auditEvents, authAttempts, notices]) await store.db.delete(table);
});

const retention = (days = 30, batch?: number) => new AuditRetention({ store, days, log, batch });

async function addEvents(...ages: number[]): Promise<void> {
  await store.db.insert(auditEvents).values(ages.map((d, i) => ({ event: 'login.ok', account: `a${i}@example.test`, ip: '192.0.2.1', createdAt: ago(d) })));
}

async function eventAges(): Promise<number[]> {
  const rows = await store.db.select({ at: auditEvents.createdAt }).from(auditEvents).orderBy(asc(auditEvents.createdAt));
  return rows.map((r) => Math.round((now.getTime() - r.at.getTime()) / DAY)).sort((a, b) => a - b);
}

/**
 * holdLock takes the job's lock as another node would: on PostgreSQL from
 * another connection, on the embedded database from its one session.
 */
async function holdLock(): Promise<() => Promise<void>> {
  if (store.kind === 'postgres') {
    const client: PoolClient = await (store.db as unknown as { $client: Pool }).$client.connect();
    await client.query('select pg_advisory_lock($1::int, $2::int)', [0x706f7374, 1]);
    return async () => {
      await client.query('select pg_advisory_unlock($1::int, $2::int)', [0x706f7374, 1]);
      client.release();
    };
  }
  await store.db.execute(sql`select pg_advisory_lock(${0x706f7374}::int, ${1}::int)`);
  return async () => {
    await store.db.execute(sql`select pg_advisory_unlock(${0x706f7374}::int, ${1}::int)`);
  };
}

describe('audit retention', () => {
  test('deletes audit events older than the retention, keeps the recent ones', async () => {
    await addEvents(400, 31, 30.5, 29, 1, 0);
    const run = await retention(30).runOnce(now);
    assert.equal(run.ran, true);
    assert.equal(run.auditEvents, 3);
    assert.deepEqual(await eventAges(), [0, 1, 29]);
  });

  test('deletes in batches, each statement at most the batch size', async () => {
    await addEvents(...Array.from({ length: 10 }, () => 100), 5);
    const run = await retention(30, 3).runOnce(now);
    assert.equal(run.auditEvents, 10);
    // audit_events: 3 + 3 + 3 + 1; notices, failed and successful attempts: one statement each.
    assert.equal(run.statements, 4 + 3);
    assert.deepEqual(await eventAges(), [5]);
  });

  test('keeps the sign-in attempts the regulator still counts, deletes the older ones', async () => {
    const { failuresMs, successesMs } = attemptWindows();
    assert.ok(failuresMs >= DAY && failuresMs <= 3 * DAY, 'failures go after a day or two');
    assert.ok(successesMs > 30 * DAY, 'a mail client’s known address is kept for its 30 days');
    const attempt = (success: boolean, days: number) => ({ kind: 'mail', account: 'x@example.test', ip: '192.0.2.7', success, createdAt: ago(days) });
    await store.db.insert(authAttempts).values([attempt(false, 0.5), attempt(false, 1.5), attempt(false, 3), attempt(false, 90), attempt(true, 20), attempt(true, 40)]);
    const run = await retention(365).runOnce(now);
    assert.equal(run.authAttempts, 3);
    const left = await store.db.select({ success: authAttempts.success, at: authAttempts.createdAt }).from(authAttempts).orderBy(asc(authAttempts.createdAt));
    assert.deepEqual(
      left.map((r) => [r.success, (now.getTime() - r.at.getTime()) / DAY]),
      [[true, 20], [false, 1.5], [false, 0.5]],
    );
  });

  test('deletes notices sent or given up before the retention, never a queued one', async () => {
    const notice = (status: string, days: number) => ({ recipient: 'u@example.test', kind: 'phone.bound', locale: 'en', details: {}, status, createdAt: ago(days) });
    await store.db.insert(notices).values([notice('sent', 400), notice('failed', 400), notice('queued', 400), notice('sent', 10)]);
    const run = await retention(365).runOnce(now);
    assert.equal(run.notices, 2);
    const left = await store.db.select({ status: notices.status }).from(notices).orderBy(asc(notices.createdAt));
    assert.deepEqual(left.map((r) => r.status), ['queued', 'sent']);
  });

  test('a node that cannot take the advisory lock leaves the run to the one holding it', async () => {
    await addEvents(100, 100, 1);
    const release = await holdLock();
    try {
      const run = await retention(30).runOnce(now);
      assert.deepEqual(run, { ran: false, auditEvents: 0, authAttempts: 0, notices: 0, verifiers: 0, statements: 0 });
      assert.deepEqual(await eventAges(), [1, 100, 100], 'nothing deleted while another node holds the lock');
    } finally {
      await release();
    }
    assert.equal((await retention(30).runOnce(now)).auditEvents, 2, 'once the lock is free, the run happens');
  });

  test('two runs at once: one does the work, each row is deleted once', async () => {
    await addEvents(...Array.from({ length: 25 }, () => 100));
    const [a, b] = await Promise.all([retention(30, 5).runOnce(now), retention(30, 5).runOnce(now)]);
    assert.equal(a!.auditEvents + b!.auditEvents, 25);
    assert.equal([a, b].filter((r) => r!.auditEvents > 0).length, 1);
    const same = retention(30, 5);
    await addEvents(100, 100);
    const [first, second] = await Promise.all([same.runOnce(now), same.runOnce(now)]);
    assert.equal(first!.auditEvents, 2);
    assert.equal(second!.ran, false, 'the same process never runs it twice at once');
    const locks = await store.db.execute(sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = ${0x706f7374}`);
    assert.equal(((locks as unknown as { rows: Array<{ n: number }> }).rows[0]!).n, 0, 'the lock is released after each run');
  });

  test('the daily timer does not hold the process, and stop waits for it', async () => {
    const job = retention(30);
    job.start();
    await job.stop();
  });

  test('AUDIT_RETENTION_DAYS defaults to a year and allows 1 to 3650 days', () => {
    assert.equal(loadConfig({}).AUDIT_RETENTION_DAYS, 365);
    assert.equal(loadConfig({ AUDIT_RETENTION_DAYS: '1' }).AUDIT_RETENTION_DAYS, 1);
    assert.equal(loadConfig({ AUDIT_RETENTION_DAYS: '3650' }).AUDIT_RETENTION_DAYS, 3650);
    for (const bad of ['0', '3651', 'forever', '1.5']) assert.throws(() => loadConfig({ AUDIT_RETENTION_DAYS: bad }), /AUDIT_RETENTION_DAYS/, bad);
  });
});

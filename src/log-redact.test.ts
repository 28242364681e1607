import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startApp, type TestApp } from '../test/helpers/app.ts';
import { buildUser } from '../test/helpers/factories.ts';
import { sessions } from './db/schema/index.ts';
import { describeError, stackFrames } from './log-redact.ts';

describe('describeError', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  /** failure runs a query that must fail and returns what drizzle threw. */
  async function failure(run: () => Promise<unknown>): Promise<unknown> {
    try {
      await run();
    } catch (err) {
      return err;
    }
    assert.fail('the query succeeded');
  }

  test('keeps the cause, its code and the SQL of a failed query, and drops the parameters', async () => {
    const err = await failure(() => t.s.db.execute(sql`select * from nowhere where secret = ${'param-value-7f3a'}`));
    // What drizzle 0.45 throws: the parameters are part of the message itself.
    assert.match((err as Error).message, /^Failed query: select \* from nowhere where secret = \$1\nparams: param-value-7f3a$/);
    assert.equal(
      describeError(err),
      'relation "nowhere" does not exist (42P01) [query: select * from nowhere where secret = $1]',
    );
  });

  test('drops a value PostgreSQL quotes back, and the detail that repeats a key', async () => {
    const badUuid = await failure(() => t.s.db.select().from(sessions).where(eq(sessions.userId, 'not-a-uuid-5c1e')));
    assert.match(String((badUuid as Error).cause), /not-a-uuid-5c1e/);
    const text = describeError(badUuid);
    assert.match(text, /^invalid input syntax for type uuid: "…" \(22P02\) \[query: select .* from "sessions" where "sessions"\."user_id" = \$1\]$/);
    assert.doesNotMatch(text, /not-a-uuid-5c1e/);

    const row = { sid: 'duplicate-sid-91b2', data: {}, expiresAt: new Date(Date.now() + 60_000) };
    await t.s.db.insert(sessions).values(row);
    const duplicate = await failure(() => t.s.db.insert(sessions).values(row));
    assert.match(String(((duplicate as Error).cause as { detail?: string }).detail), /duplicate-sid-91b2/);
    const dupText = describeError(duplicate);
    assert.match(dupText, /^duplicate key value violates unique constraint "sessions_pkey" \(23505\) \[query: insert into "sessions"/);
    assert.doesNotMatch(dupText, /duplicate-sid-91b2/);
  });

  test('describes other errors by name, message and code, down the causes', () => {
    assert.equal(describeError(new TypeError('x is not a function')), 'TypeError: x is not a function');
    const refused = Object.assign(new Error(''), { code: 'ECONNREFUSED' });
    assert.equal(describeError(new Error('could not send', { cause: refused })), 'could not send: ECONNREFUSED');
    assert.equal(describeError('a string'), 'a string');
  });

  test('stackFrames keeps where an error happened, not its message', async () => {
    const err = await failure(() => t.s.db.execute(sql`select * from nowhere where secret = ${'param-value-7f3a'}`));
    const frames = stackFrames(err)!;
    assert.match(frames, /^at /);
    assert.doesNotMatch(frames, /param-value-7f3a|Failed query/);
  });
});

describe('a failing query, as the log tells it', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  test('a request whose session lookup fails logs the cause and the SQL, never the session id it looked up', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    const cookie = decodeURIComponent(c.cookie('postern.sid')!);
    const id = cookie.slice(2, cookie.lastIndexOf('.'));
    await t.s.db.execute(sql`alter table sessions rename to sessions_away`);
    let res;
    try {
      res = await c.get('/settings/security');
    } finally {
      await t.s.db.execute(sql`alter table sessions_away rename to sessions`);
    }
    assert.equal(res.status, 500);
    const lines = t.s.logLines.filter((l) => l.includes('"request failed"'));
    assert.equal(lines.length, 1, t.s.logLines.join('\n'));
    const line = lines[0]!;
    assert.ok(!line.includes(id), `the session id reached the log: ${line}`);
    assert.doesNotMatch(line, /params/);
    assert.match(line, /relation \\"sessions\\" does not exist/);
    assert.match(line, /42P01/);
    assert.match(line, /from \\"sessions\\"/);
  });
});

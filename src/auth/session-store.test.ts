import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type session from 'express-session';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, PASSWORD } from '../../test/helpers/factories.ts';
import { sessions } from '../db/schema/index.ts';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

/** idIn reads the session id out of express-session's cookie value, `s:<id>.<signature>`. */
function idIn(cookie: string): string {
  const value = decodeURIComponent(cookie);
  assert.match(value, /^s:[^.]+\..+$/);
  return value.slice(2, value.lastIndexOf('.'));
}

/** signed builds the cookie value express-session would accept for `id`, as someone holding the secret could. */
function signed(id: string): string {
  const sig = createHmac('sha256', t.s.sessionSecret).update(id).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`s:${id}.${sig}`);
}

/** call runs one callback-style store method as a promise. */
function call<T>(fn: (cb: (err?: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

function sessionData(userId?: string): session.SessionData {
  return {
    cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) },
    ...(userId ? { auth: { userId } } : {}),
  } as unknown as session.SessionData;
}

describe('session ids at rest', () => {
  test('the sessions table holds no live session id after a sign-in', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    const id = idIn(c.cookie('postern.sid')!);
    const rows = await t.s.db.select().from(sessions);
    assert.ok(rows.some((r) => r.userId === user.id), 'the sign-in is stored');
    assert.ok(!JSON.stringify(rows).includes(id), 'the cookie’s session id is in the table');
  });

  test('a cookie made from a row of the table, even correctly signed, is not signed in', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    // The genuine cookie, carried to another client, is signed in: the forged ones below fail for their id alone.
    const genuine = t.client();
    genuine.setCookie('postern.sid', c.cookie('postern.sid')!);
    assert.equal((await genuine.get('/settings/security')).status, 200);

    const rows = await t.s.db.select().from(sessions).where(eq(sessions.userId, user.id));
    assert.equal(rows.length, 1);
    const forger = t.client();
    forger.setCookie('postern.sid', signed(rows[0]!.sid));
    const res = await forger.get('/settings/security');
    assert.equal(res.status, 303);
    assert.match(res.headers.location!, /^\/login/);
  });

  test('get, touch and destroy find a session by the id the cookie carries', async () => {
    const store = t.s.sessions;
    await call((cb) => store.set('plain-id-for-store-test', sessionData(), cb));
    assert.ok(await call((cb) => store.get('plain-id-for-store-test', cb)));
    const later = new Date(Date.now() + 30 * 60_000);
    await call((cb) => store.touch('plain-id-for-store-test', { ...sessionData(), cookie: { expires: later } } as never, cb));
    const [row] = await t.s.db.select().from(sessions).where(eq(sessions.sid, store.storedSid('plain-id-for-store-test')));
    assert.equal(row!.expiresAt.getTime(), later.getTime());
    await call((cb) => store.destroy('plain-id-for-store-test', cb));
    assert.equal(await call((cb) => store.get('plain-id-for-store-test', cb)), null);
  });

  test('destroyForUser ends every session of a user but the one it is told to keep', async () => {
    const user = await buildUser(t.s);
    const store = t.s.sessions;
    for (const id of ['keep-me', 'end-me-1', 'end-me-2']) await call((cb) => store.set(`${user.id}-${id}`, sessionData(user.id), cb));
    assert.equal(await store.destroyForUser(user.id, `${user.id}-keep-me`), 2);
    assert.ok(await call((cb) => store.get(`${user.id}-keep-me`, cb)));
    assert.equal(await call((cb) => store.get(`${user.id}-end-me-1`, cb)), null);
    assert.equal(await store.destroyForUser(user.id), 1);
    assert.equal(await call((cb) => store.get(`${user.id}-keep-me`, cb)), null);
  });
});

describe('a new session id at each step', () => {
  test('the half-signed-in session is deleted when the code is proven; a first sign-in deletes nothing it never stored', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138077' });
    const c = t.client();
    await c.get('/login');
    assert.equal(c.cookie('postern.sid'), undefined, 'the sign-in form stores no session');
    await c.post('/login', { email: user.email, password: PASSWORD });
    const pending = await t.s.db.select().from(sessions).where(eq(sessions.userId, user.id));
    assert.equal(pending.length, 1, 'one half-signed-in session');
    const pendingCookie = c.cookie('postern.sid')!;
    await c.get('/login/code');
    assert.equal((await c.post('/login/code', { code: t.s.lastCode() })).headers.location, '/');
    const rows = await t.s.db.select().from(sessions).where(eq(sessions.userId, user.id));
    assert.equal(rows.length, 1, 'the signed-in session only');
    assert.notEqual(rows[0]!.sid, pending[0]!.sid);
    // The half-signed-in cookie, replayed, is back at the sign-in form.
    const replay = t.client();
    replay.setCookie('postern.sid', pendingCookie);
    assert.match((await replay.get('/login/code')).headers.location ?? '', /^\/login/);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginCache } from './cache.ts';

const login = (userId: string, generation: number) => ({ userId, email: `${userId}@example.test`, generation });

describe('LoginCache', () => {
  test('keys are hashes of the credentials, never the credentials', () => {
    const key = LoginCache.key('alice@example.test', 'abcd efgh jkmn pqrs', 'imap', '192.0.2.1');
    assert.doesNotMatch(key, /alice|abcd|imap|192/);
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(key, LoginCache.key('alice@example.test', 'abcd efgh jkmn pqrs', 'smtp', '192.0.2.1'), 'one protocol does not open the other');
    assert.notEqual(key, LoginCache.key('alice@example.test', 'abcd efgh jkmn pqrs', 'imap', '192.0.2.2'), 'nor one address another');
  });

  test('forgets an entry once it expires', () => {
    const cache = new LoginCache(60_000);
    cache.set('k', login('u1', cache.generation()), 1_000);
    assert.equal(cache.get('k', 60_999)?.userId, 'u1');
    assert.equal(cache.get('k', 61_000), undefined);
    assert.equal(cache.get('k', 1_000), undefined, 'gone, not merely hidden');
  });

  test('stores nothing when its time to live is zero', () => {
    const cache = new LoginCache(0);
    cache.set('k', login('u1', cache.generation()));
    assert.equal(cache.get('k'), undefined);
  });

  test('holds at most its bound, dropping the oldest entry first', () => {
    const cache = new LoginCache(60_000, 3);
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, login(`u-${k}`, cache.generation()));
    assert.equal(cache.get('a'), undefined);
    for (const k of ['b', 'c', 'd']) assert.equal(cache.get(k)?.userId, `u-${k}`);
  });

  test('forgetUser drops every entry of that user and no other', () => {
    const cache = new LoginCache();
    const g = cache.generation();
    cache.set('a1', login('alice', g));
    cache.set('a2', login('alice', g));
    cache.set('b1', login('bob', g));
    cache.forgetUser('alice');
    assert.equal(cache.get('a1'), undefined);
    assert.equal(cache.get('a2'), undefined);
    assert.equal(cache.get('b1')?.userId, 'bob');
  });

  test('refuses what was read before the user changed, even when it arrives after the change', () => {
    const cache = new LoginCache();
    const readAt = cache.generation();
    // The database was read, then the password was revoked and announced, then the login finished.
    cache.forgetUser('alice');
    cache.set('alice-login', login('alice', readAt));
    assert.equal(cache.get('alice-login'), undefined);
    // Someone else's change leaves other logins read at that moment alone.
    cache.set('bob-login', login('bob', readAt));
    assert.equal(cache.get('bob-login')?.userId, 'bob');
    // A login that read after the change is cached as usual.
    cache.set('alice-again', login('alice', cache.generation()));
    assert.equal(cache.get('alice-again')?.userId, 'alice');
  });

  test('a change for everyone voids every login read before it', () => {
    const cache = new LoginCache();
    const readAt = cache.generation();
    cache.set('before', login('carol', readAt));
    cache.clear();
    assert.equal(cache.get('before'), undefined);
    cache.set('late', login('dave', readAt));
    assert.equal(cache.get('late'), undefined);
  });

  test('still refuses stale logins after it stopped remembering which users changed', () => {
    const cache = new LoginCache(60_000, 2);
    const readAt = cache.generation();
    for (const u of ['u1', 'u2', 'u3']) cache.forgetUser(u);
    cache.set('k', login('u1', readAt));
    assert.equal(cache.get('k'), undefined);
  });

  test('tells its watchers of every change, in order, until they stop watching', () => {
    const cache = new LoginCache(60_000, 2);
    const told: string[] = [];
    const stop = cache.onChange((who) => told.push(who));
    cache.forgetUser('u1');
    cache.clear();
    cache.forgetUser('u2');
    cache.forgetUser('u3');
    // Past `max` users changed, a change for one is a change for everyone: watchers hear '*'.
    cache.forgetUser('u4');
    assert.deepEqual(told, ['u1', '*', 'u2', 'u3', '*']);
    stop();
    cache.forgetUser('u5');
    assert.equal(told.length, 5);
  });
});

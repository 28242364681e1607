import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import argon2 from 'argon2';
import { startServices, type TestServices } from '../../test/helpers/services.ts';
import { buildUser, PASSWORD, soon } from '../../test/helpers/factories.ts';
import { DEFAULT_RULES } from '../auth/regulation.ts';
import type { User } from '../users/repo.ts';
import { MAIL_MESSAGES, type MailAuthRequest } from './authenticate.ts';

let s: TestServices;
before(async () => {
  // A first wait far longer than any test takes: how many guesses get through
  // must not depend on how fast a loaded machine answers them.
  s = await startServices({}, { rules: { ...DEFAULT_RULES, baseDelaySeconds: 600 } });
});
after(() => s.close());

let ipCounter = 0;
/** freshIp is an address no earlier test has used, so per-address counts start at zero. */
function freshIp(): string {
  ipCounter += 1;
  return `203.0.113.${ipCounter}`;
}

function login(user: string, secret: string, clientIp: string, protocol: MailAuthRequest['protocol'] = 'imap') {
  return s.mailAuth.authenticate({ user, secret, protocol, clientIp });
}

async function withAppPassword(opts: { phone?: string; require2fa?: boolean } = {}): Promise<{ user: User; secret: string; id: string }> {
  const user = await buildUser(s, opts);
  const { secret, row } = await s.appPasswords.create(user, { name: 'Thunderbird', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: 'test' });
  return { user, secret, id: row.id };
}

/** countVerifications counts argon2 verifications while `run` runs. */
async function countVerifications(run: () => Promise<void>): Promise<number> {
  const verify = mock.method(argon2, 'verify');
  try {
    await run();
    return verify.mock.callCount();
  } finally {
    verify.mock.restore();
  }
}

describe('throttling mail logins', () => {
  test('thirty parallel wrong passwords for one account cost at most five argon2 verifications', async () => {
    const { user } = await withAppPassword();
    const ip = freshIp();
    let answers: Awaited<ReturnType<typeof login>>[] = [];
    const verifications = await countVerifications(async () => {
      answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(user.email, `wrong password ${i}`, ip)));
    });
    assert.ok(verifications <= 5, `${verifications} verifications`);
    assert.equal(answers.filter((a) => !a.ok && a.kind === 'throttled').length, 30 - verifications);
    assert.ok(answers.every((a) => !a.ok));
  });

  test('parallel guesses spread over many addresses still share the account count', async () => {
    const { user } = await withAppPassword();
    const verifications = await countVerifications(async () => {
      await Promise.all(Array.from({ length: 30 }, (_, i) => login(user.email, `wrong password ${i}`, freshIp())));
    });
    assert.ok(verifications <= 5, `${verifications} verifications`);
  });

  test("a stranger's failures do not lock the owner out of an address they signed in from", async () => {
    const { user, secret } = await withAppPassword();
    const home = freshIp();
    assert.equal((await login(user.email, secret, home)).ok, true);
    const attacker = freshIp();
    const tries = [];
    for (let i = 0; i < 20; i++) tries.push(await login(user.email, `guess ${i}`, attacker));
    const last = tries.at(-1)!;
    assert.equal(!last.ok && last.kind, 'throttled');
    // A second client at home: not answered from the cache, so the regulator decides.
    const { secret: phoneSecret } = await s.appPasswords.create(user, { name: 'Phone', scopes: ['imap'] }, { ip: home, userAgent: 'test' });
    const owner = await login(user.email, phoneSecret, home);
    assert.equal(owner.ok, true, JSON.stringify(owner));
    const stranger = await login(user.email, phoneSecret, freshIp());
    assert.equal(!stranger.ok && stranger.kind, 'throttled');
  });

  test('a known address keeps its own count: its own failures throttle it', async () => {
    const { user, secret } = await withAppPassword();
    const home = freshIp();
    assert.equal((await login(user.email, secret, home)).ok, true);
    for (let i = 0; i < 5; i++) assert.equal((await login(user.email, `typo ${i}`, home, 'smtp')).ok, false);
    const next = await login(user.email, `typo again`, home, 'smtp');
    assert.equal(!next.ok && next.kind, 'throttled');
  });

  test('an address that failed on fifty other accounts is throttled, except for an account it signed in to', async () => {
    const { user, secret } = await withAppPassword();
    const office = freshIp();
    assert.equal((await login(user.email, secret, office)).ok, true);
    for (let i = 0; i < 50; i++) await login(`nobody${i}-${process.pid}@example.test`, 'whatever', office);
    const sweep = await login(`nobody-last-${process.pid}@example.test`, 'whatever', office);
    assert.equal(!sweep.ok && sweep.kind, 'throttled');
    const { secret: second } = await s.appPasswords.create(user, { name: 'Laptop', scopes: ['imap'] }, { ip: office, userAgent: 'test' });
    assert.equal((await login(user.email, second, office)).ok, true);
  });
});

describe('the main password for mail', () => {
  test('is refused, with the pointer to client-specific passwords, when the user must use two-step verification', async () => {
    const user = await buildUser(s, { require2fa: true });
    const right = await login(user.email, PASSWORD, freshIp());
    assert.equal(!right.ok && right.kind, 'use_app_password');
    assert.equal(!right.ok && right.message, MAIL_MESSAGES.useAppPassword);
    const wrong = await login(user.email, 'not the password', freshIp());
    assert.equal(!wrong.ok && wrong.message, MAIL_MESSAGES.refused, 'the pointer only follows a right password');
  });

  test('stops working, cached or not, once the site requires two-step verification', async () => {
    const user = await buildUser(s);
    const ip = freshIp();
    assert.equal((await login(user.email, PASSWORD, ip)).ok, true);
    const cachedRun = await countVerifications(async () => assert.equal((await login(user.email, PASSWORD, ip)).ok, true));
    assert.equal(cachedRun, 0, 'answered from the cache');
    await s.userService.setRequire2fa(true);
    try {
      await soon(async () => {
        const after = await login(user.email, PASSWORD, ip);
        assert.equal(!after.ok && after.kind, 'use_app_password');
      });
      const exempt = await buildUser(s, { require2fa: false });
      assert.equal((await login(exempt.email, PASSWORD, freshIp())).ok, true, "a user's own setting wins over the site's");
    } finally {
      await s.userService.setRequire2fa(false);
    }
  });
});

describe('the login cache', () => {
  test('a revoke landing between the database read and the cache write stops the password at once', async () => {
    const { user, secret, id } = await withAppPassword();
    const find = s.appPasswords.find.bind(s.appPasswords);
    // The password is read as valid; before the login caches it, it is revoked and the change announced.
    const raced = mock.method(s.appPasswords, 'find', async (userId: string, given: string) => {
      const row = await find(userId, given);
      await s.appPasswords.revoke(user, id);
      s.mailAuth.credentialsChanged(user.id);
      return row;
    });
    const ip = freshIp();
    try {
      assert.equal((await login(user.email, secret, ip)).ok, true, 'admitted: it was valid when read');
    } finally {
      raced.mock.restore();
    }
    const next = await login(user.email, secret, ip);
    assert.equal(next.ok, false, 'not admitted from the cache after the revoke');
  });

  test('logins checked while notifications were down are not served from the cache once they resume', async () => {
    const { user, secret, id } = await withAppPassword();
    const ip = freshIp();
    s.mailAuth.notificationsLive(false);
    // While down, announcements of changes are lost.
    const deaf = mock.method(s.mailAuth, 'credentialsChanged', () => {});
    try {
      assert.equal((await login(user.email, secret, ip)).ok, true);
      await s.appPasswords.revoke(user, id);
    } finally {
      deaf.mock.restore();
      s.mailAuth.notificationsLive(true);
    }
    assert.equal((await login(user.email, secret, ip)).ok, false);
  });

  test('a change to one user leaves other users cached', async () => {
    const a = await withAppPassword();
    const b = await withAppPassword();
    const ip = freshIp();
    assert.equal((await login(a.user.email, a.secret, ip)).ok, true);
    assert.equal((await login(b.user.email, b.secret, ip)).ok, true);
    s.mailAuth.credentialsChanged(a.user.id);
    // Checked again means read from the database afresh (its stored verifier spares the hash).
    const lookups = mock.method(s.appPasswords, 'recall');
    try {
      assert.equal((await login(b.user.email, b.secret, ip)).ok, true);
      assert.equal(lookups.mock.callCount(), 0, 'the other user is answered from memory');
      assert.equal((await login(a.user.email, a.secret, ip)).ok, true);
      assert.equal(lookups.mock.callCount(), 1, 'only the changed user is checked again');
    } finally {
      lookups.mock.restore();
    }
  });
});

describe('when the store fails', () => {
  test('answers a temporary failure, never OK, and leaves no attempt behind', async () => {
    const { user, secret } = await withAppPassword();
    const broken = mock.method(s.users, 'loadByEmail', async () => {
      throw new Error('connection lost');
    });
    const ip = freshIp();
    try {
      const res = await login(user.email, secret, ip);
      assert.equal(!res.ok && res.kind, 'tempfail');
    } finally {
      broken.mock.restore();
    }
    const failures = await s.regulator.consecutiveFailures({ kind: 'mail', account: user.email, ip });
    assert.equal(failures.n, 0);
  });
});

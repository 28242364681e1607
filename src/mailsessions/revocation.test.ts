import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { revocationOf } from './revocation.ts';

const who = { userId: 'u1', account: 'alice@example.test' };

describe('revocationOf', () => {
  test('one revoked client-specific password ends only its own sessions', () => {
    assert.deepEqual(revocationOf({ event: 'apppassword.revoked', ...who, details: { name: 'Phone', credential: 'c1' } }), {
      user: 'alice@example.test',
      userId: 'u1',
      scope: 'credential',
      credential: 'c1',
    });
  });

  test('a revoked password without its id ends every session of the user rather than none', () => {
    assert.equal(revocationOf({ event: 'apppassword.revoked', ...who, details: { name: 'Phone' } })?.scope, 'all');
  });

  test('revoke-all, disabling, a password change or reset end every session', () => {
    for (const event of ['apppassword.revoked_all', 'user.disabled', 'password.changed', 'password.reset'] as const) {
      assert.equal(revocationOf({ event, ...who })?.scope, 'all', event);
    }
  });

  test('a new second factor ends what the main password opened', () => {
    assert.equal(revocationOf({ event: 'factor.added', ...who })?.scope, 'main_password');
  });

  test('other events, and events without a user, end nothing', () => {
    for (const event of ['apppassword.created', 'mail.login_ok', 'user.enabled', 'login.ok', 'share.revoked'] as const) {
      assert.equal(revocationOf({ event, ...who }), undefined, event);
    }
    assert.equal(revocationOf({ event: 'user.disabled', account: 'alice@example.test' }), undefined);
    assert.equal(revocationOf({ event: 'user.disabled', userId: 'u1' }), undefined);
  });
});

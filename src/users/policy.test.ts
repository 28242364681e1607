import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { domainsOf, enrolmentFor, policySettings, readPolicy, type Policy } from './policy.ts';

const DAY = 86400_000;
const NOW = Date.parse('2026-12-03T10:00:00Z');
const base: Policy = readPolicy(new Map(), { trustedDeviceDays: 7 });
const user = (email: string, require2fa: boolean | null = null, created = NOW - 100 * DAY) => ({ email, require2fa, createdAt: new Date(created) });

describe('security policy', () => {
  test('defaults: nothing forced, every factor allowed, main password on, the configured trusted days', () => {
    assert.deepEqual(base, { require2fa: 'off', domains: [], graceDays: 0, since: null, allowedFactors: ['webauthn', 'totp', 'hardware', 'sms', 'email'], mailMainPassword: true, trustedDeviceDays: 7 });
  });

  test('reads what the command line wrote before ("on") and survives a round trip', () => {
    assert.equal(readPolicy(new Map([['require_2fa', 'on']]), { trustedDeviceDays: 7 }).require2fa, 'everyone');
    const p: Policy = { require2fa: 'domains', domains: ['staff.example.edu'], graceDays: 14, since: NOW, allowedFactors: ['totp', 'hardware'], mailMainPassword: false, trustedDeviceDays: 30 };
    assert.deepEqual(readPolicy(new Map(Object.entries(policySettings(p))), { trustedDeviceDays: 7 }), p);
  });

  test('unreadable values fall back to defaults instead of failing', () => {
    const p = readPolicy(new Map([['require_2fa_grace_days', '-3'], ['trusted_device_days', '9999'], ['allowed_factors', 'sms,bogus'], ['require_2fa_since', 'yesterday']]), { trustedDeviceDays: 7 });
    assert.equal(p.graceDays, 0);
    assert.equal(p.trustedDeviceDays, 7);
    assert.deepEqual(p.allowedFactors, ['sms']);
    assert.equal(p.since, null);
  });

  test('domains force only their accounts, case-insensitively, and not a look-alike suffix', () => {
    const p: Policy = { ...base, require2fa: 'domains', domains: ['staff.example.edu'] };
    assert.equal(enrolmentFor(user('Ann@STAFF.example.edu'), p, NOW).forced, true);
    assert.equal(enrolmentFor(user('bob@students.example.edu'), p, NOW).forced, false);
    assert.equal(enrolmentFor(user('eve@evilstaff.example.edu'), p, NOW).forced, false);
  });

  test("an account's own setting wins, both ways, and has no grace", () => {
    const p: Policy = { ...base, require2fa: 'everyone', graceDays: 30, since: NOW };
    assert.deepEqual(enrolmentFor(user('a@x.edu', false), p, NOW), { forced: false });
    assert.deepEqual(enrolmentFor(user('a@x.edu', true), { ...base }, NOW), { forced: true });
  });

  test('grace counts from when forcing began, or from the account if created later, and ends', () => {
    const p: Policy = { ...base, require2fa: 'everyone', graceDays: 14, since: NOW - 10 * DAY };
    assert.equal(enrolmentFor(user('old@x.edu'), p, NOW).graceUntil, NOW + 4 * DAY);
    assert.equal(enrolmentFor(user('new@x.edu', null, NOW - DAY), p, NOW).graceUntil, NOW + 13 * DAY);
    assert.deepEqual(enrolmentFor(user('old@x.edu'), p, NOW + 5 * DAY), { forced: true });
  });

  test('domainsOf takes a list in any spacing and refuses what is not a domain, quickly on long input', () => {
    assert.deepEqual(domainsOf('Staff.Example.edu, lab.example.edu\nstaff.example.edu'), ['staff.example.edu', 'lab.example.edu']);
    assert.deepEqual(domainsOf(''), []);
    for (const bad of ['localhost', 'a..b', 'exa mple', '*.example.edu', 'x@y.edu', `${'a'.repeat(64)}.edu`]) assert.equal(domainsOf(bad), null, bad);
    const started = process.hrtime.bigint();
    assert.equal(domainsOf(`${'a.'.repeat(5000)}!`), null);
    assert.ok(process.hrtime.bigint() - started < 50_000_000n);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { codeForm, loginForm, passwordChangeForm } from './schema.ts';

describe('loginForm', () => {
  test('trims the address but never the password', () => {
    const f = loginForm.parse({ email: '  Ann@Example.test \n', password: ' pass word ', next: '/mail' });
    assert.deepEqual(f, { email: 'Ann@Example.test', password: ' pass word ', next: '/mail' });
  });

  test('refuses an empty or over-long address', () => {
    for (const email of ['', '   ', `${'a'.repeat(243)}@example.test`]) assert.equal(loginForm.safeParse({ email, password: 'x' }).success, false, JSON.stringify(email.slice(0, 20)));
    assert.equal(loginForm.safeParse({ email: `${'a'.repeat(241)}@example.test`, password: 'x' }).success, true);
  });

  test('refuses an empty password and one over 1024 characters rather than hashing it', () => {
    assert.equal(loginForm.safeParse({ email: 'a@example.test', password: '' }).success, false);
    assert.equal(loginForm.safeParse({ email: 'a@example.test', password: 'p'.repeat(1024) }).success, true);
    assert.equal(loginForm.safeParse({ email: 'a@example.test', password: 'p'.repeat(1025) }).success, false);
  });

  test('refuses what is not text, as a form parser may hand over arrays or objects', () => {
    assert.equal(loginForm.safeParse({ email: ['a@example.test', 'b@example.test'], password: 'x' }).success, false);
    assert.equal(loginForm.safeParse({ email: 'a@example.test', password: { $ne: '' } }).success, false);
    assert.equal(loginForm.safeParse({}).success, false);
  });

  test('takes a next page of up to 300 characters, and leaves judging it to safeNext', () => {
    assert.equal(loginForm.parse({ email: 'a@example.test', password: 'x', next: '//evil.example' }).next, '//evil.example');
    assert.equal(loginForm.safeParse({ email: 'a@example.test', password: 'x', next: '/'.repeat(301) }).success, false);
    assert.equal(loginForm.parse({ email: 'a@example.test', password: 'x' }).next, undefined);
  });
});

describe('codeForm', () => {
  test('drops the spaces people type or paste inside a code', () => {
    assert.equal(codeForm.parse({ code: ' 123 456\t' }).code, '123456');
    assert.equal(codeForm.parse({ code: '12\u00a034\n56' }).code, '123456');
  });

  test('refuses a code field over 20 characters before looking at it', () => {
    assert.equal(codeForm.safeParse({ code: '1'.repeat(20) }).success, true);
    assert.equal(codeForm.safeParse({ code: ' '.repeat(21) }).success, false);
    assert.equal(codeForm.safeParse({}).success, false);
  });

  test('trusts the device only when the box was ticked', () => {
    assert.equal(codeForm.parse({ code: '123456', trust: 'on' }).trust, 'on');
    assert.equal(codeForm.parse({ code: '123456' }).trust, undefined);
    for (const trust of ['true', '1', 'yes', '']) assert.equal(codeForm.safeParse({ code: '123456', trust }).success, false, trust);
  });
});

describe('passwordChangeForm', () => {
  test('takes both passwords as typed, up to 1024 characters', () => {
    assert.deepEqual(passwordChangeForm.parse({ password: ' new pass ', confirm: ' new pass ' }), { password: ' new pass ', confirm: ' new pass ' });
    assert.equal(passwordChangeForm.safeParse({ password: 'p'.repeat(1025), confirm: 'p' }).success, false);
    assert.equal(passwordChangeForm.safeParse({ password: 'p', confirm: 'p'.repeat(1025) }).success, false);
  });

  test('keeps other sessions only when the box was ticked', () => {
    assert.equal(passwordChangeForm.parse({ password: 'p', confirm: 'p', keepOthers: 'on' }).keepOthers, 'on');
    assert.equal(passwordChangeForm.parse({ password: 'p', confirm: 'p' }).keepOthers, undefined);
    assert.equal(passwordChangeForm.safeParse({ password: 'p', confirm: 'p', keepOthers: 'off' }).success, false);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { codeOnlyForm, deviceParams, phoneForm, stepUpForm } from './schema.ts';

describe('two-step forms', () => {
  test('take a phone number as typed, up to 40 characters', () => {
    assert.equal(phoneForm.parse({ phone: ' +1 (555) 010-0199 ' }).phone, ' +1 (555) 010-0199 ');
    assert.equal(phoneForm.safeParse({ phone: '1'.repeat(41) }).success, false);
    assert.equal(phoneForm.safeParse({ phone: ['+15550100', '+15550101'] }).success, false);
  });

  test('drop spaces inside a code and refuse a field over 20 characters', () => {
    assert.equal(codeOnlyForm.parse({ code: '123 456' }).code, '123456');
    assert.equal(codeOnlyForm.safeParse({ code: '1'.repeat(21) }).success, false);
    assert.equal(codeOnlyForm.safeParse({}).success, false);
  });

  test('step up with a code or a password, each bounded', () => {
    assert.deepEqual(stepUpForm.parse({ code: '123456', next: '/settings/sharing' }), { code: '123456', next: '/settings/sharing' });
    assert.deepEqual(stepUpForm.parse({ password: ' secret ' }), { password: ' secret ' });
    assert.deepEqual(stepUpForm.parse({}), {});
    assert.equal(stepUpForm.safeParse({ code: '1'.repeat(21) }).success, false);
    assert.equal(stepUpForm.safeParse({ password: 'p'.repeat(1025) }).success, false);
    assert.equal(stepUpForm.safeParse({ next: '/'.repeat(301) }).success, false);
  });

  test('name a trusted device only by a UUID', () => {
    assert.equal(deviceParams.parse({ id: '3f1c6a53-6f0e-4c1b-9a57-0b4f3c2e9d10' }).id, '3f1c6a53-6f0e-4c1b-9a57-0b4f3c2e9d10');
    for (const id of ['', '1', '3f1c6a53-6f0e-4c1b-9a57-0b4f3c2e9d1', "3f1c6a53-6f0e-4c1b-9a57-0b4f3c2e9d10' OR '1'='1", '../3f1c6a53-6f0e-4c1b-9a57-0b4f3c2e9d10']) {
      assert.equal(deviceParams.safeParse({ id }).success, false, id);
    }
  });
});

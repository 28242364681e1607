import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { changeForm, grantForm, grantParams } from './schema.ts';

describe('grantForm', () => {
  test('trims and lower-cases the address', () => {
    assert.deepEqual(grantForm.parse({ email: '  Bob@Example.TEST ', permission: 'read' }), { email: 'bob@example.test', permission: 'read' });
  });

  test('keeps the address between 3 and 254 characters, without control characters', () => {
    assert.equal(grantForm.safeParse({ email: 'a@', permission: 'read' }).success, false);
    assert.equal(grantForm.safeParse({ email: `${'a'.repeat(241)}@example.test`, permission: 'read' }).success, true);
    assert.equal(grantForm.safeParse({ email: `${'a'.repeat(242)}@example.test`, permission: 'read' }).success, false);
    for (const email of ['bob@example.test\u0000', 'bob\r\n@example.test', 'bob\u007f@example.test']) assert.equal(grantForm.safeParse({ email, permission: 'read' }).success, false, JSON.stringify(email));
  });

  test('grants one of the three permissions and never ownership', () => {
    for (const permission of ['read', 'send_on_behalf', 'send_as']) assert.equal(grantForm.parse({ email: 'bob@example.test', permission }).permission, permission);
    for (const permission of ['owner', 'admin', 'READ', '', undefined]) {
      assert.equal(grantForm.safeParse({ email: 'bob@example.test', permission }).success, false, String(permission));
      assert.equal(changeForm.safeParse({ permission }).success, false, String(permission));
    }
  });

  test('names a grant only by a UUID', () => {
    assert.equal(grantParams.safeParse({ id: '5e0f3c1a-9b2d-4e6f-8a7b-1c2d3e4f5a6b' }).success, true);
    assert.equal(grantParams.safeParse({ id: '42' }).success, false);
  });
});

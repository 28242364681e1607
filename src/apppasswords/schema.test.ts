import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createForm, idParams, profileForm } from './schema.ts';

const ID = '0b7d9b8e-2f4a-4c39-8d3e-5a1f6c7b8e90';

describe('createForm', () => {
  test('trims the name and keeps it between 1 and 60 characters', () => {
    assert.equal(createForm.parse({ name: '  iPhone  ' }).name, 'iPhone');
    assert.equal(createForm.safeParse({ name: '   ' }).success, false);
    assert.equal(createForm.safeParse({ name: 'n'.repeat(60) }).success, true);
    assert.equal(createForm.safeParse({ name: 'n'.repeat(61) }).success, false);
  });

  test('reads protocol boxes as ticked or not', () => {
    assert.deepEqual(createForm.parse({ name: 'Mac', imap: 'on' }), { name: 'Mac', imap: 'on', expires: 'never' });
    assert.equal(createForm.safeParse({ name: 'Mac', smtp: 'yes' }).success, false);
  });

  test('expires never by default, or after 30, 90 or 365 days only', () => {
    assert.equal(createForm.parse({ name: 'Mac' }).expires, 'never');
    for (const expires of ['30', '90', '365', 'never']) assert.equal(createForm.parse({ name: 'Mac', expires }).expires, expires);
    for (const expires of ['7', '36500', '-1', 'forever', '30 ']) assert.equal(createForm.safeParse({ name: 'Mac', expires }).success, false, expires);
  });
});

describe('profileForm and idParams', () => {
  test('take a UUID and a password of 16 to 40 characters', () => {
    assert.equal(profileForm.safeParse({ id: ID, password: 'abcd efgh jkmn pqrs' }).success, true);
    assert.equal(profileForm.safeParse({ id: ID, password: 'a'.repeat(15) }).success, false);
    assert.equal(profileForm.safeParse({ id: ID, password: 'a'.repeat(41) }).success, false);
    assert.equal(profileForm.safeParse({ id: 'not-a-uuid', password: 'a'.repeat(16) }).success, false);
    assert.equal(idParams.safeParse({ id: ID }).success, true);
    assert.equal(idParams.safeParse({ id: `${ID}/../x` }).success, false);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translate } from './index.ts';

test('a count picks the singular or plural form in English; Chinese has one form', () => {
  assert.equal(translate('en', 'mail.messages', { count: 1 }), '1 message');
  assert.equal(translate('en', 'mail.messages', { count: 0 }), '0 messages');
  assert.equal(translate('en', 'mail.messages', { count: 2 }), '2 messages');
  assert.equal(translate('zh-CN', 'mail.messages', { count: 1 }), '1 封邮件');
  assert.equal(translate('zh-CN', 'mail.messages', { count: 7 }), '7 封邮件');
});

test('a key without plural forms is used as it is, with or without a count', () => {
  assert.equal(translate('en', 'mail.page', { page: 1, pages: 2 }), 'page 1 of 2');
  assert.equal(translate('en', 'mail.folders.emptied', { count: 3 }), '3 messages deleted for good.');
  assert.equal(translate('en', 'no.such.key', { count: 1 }), 'no.such.key');
});

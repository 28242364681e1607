import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalog, catalogKeys, negotiate, translate } from './index.ts';

const en = catalog('en');
const zhCN = catalog('zh-CN');

test('zh-CN and en catalogs have exactly the same keys', () => {
  assert.deepEqual(catalogKeys('zh-CN'), catalogKeys('en'));
});

test('both catalogs use the same placeholders for each message', () => {
  const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(en)) assert.deepEqual(names(zhCN[key]), names(en[key]), key);
});

test('no zh-CN message is left in English', () => {
  const untranslated = Object.keys(en).filter((k) => k !== 'lang.switch' && zhCN[k] === en[k]);
  assert.deepEqual(untranslated, []);
});

test('the browser’s language decides, Chinese in any variant gets zh-CN', () => {
  assert.equal(negotiate('zh-TW,zh;q=0.9,en;q=0.8'), 'zh-CN');
  assert.equal(negotiate('en-US,en;q=0.9,zh-CN;q=0.8'), 'en');
  assert.equal(negotiate('fr-FR,zh-CN;q=0.5'), 'zh-CN');
  assert.equal(negotiate(undefined), 'en');
  assert.equal(translate('zh-CN', 'code.resend_in', { seconds: 42 }), '42 秒后可重新获取');
});

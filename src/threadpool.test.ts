import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolSize } from './threadpool.ts';

test('the hashing pool follows the cores, never below libuv default, and a setting wins', () => {
  assert.equal(poolSize(undefined, 2), 4);
  assert.equal(poolSize(undefined, 16), 16);
  assert.equal(poolSize('', 16), 16);
  assert.equal(poolSize('3', 16), 3);
  assert.equal(poolSize('lots', 16), 16);
  assert.equal(poolSize('0', 8), 8);
  assert.equal(poolSize('5000', 8), 8);
});

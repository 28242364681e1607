import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEEDS, packUids } from './bulk.ts';

test('UIDs are written as a sequence set with runs folded and duplicates dropped', () => {
  assert.equal(packUids([7, 1, 2, 3, 3, 9, 10]), '1:3,7,9:10');
  assert.equal(packUids([5]), '5');
  assert.equal(packUids([]), '');
});

test('each bulk action is checked as the single action it stands for', () => {
  assert.deepEqual(NEEDS, { read: 'flag', unread: 'flag', move: 'move', delete: 'delete' });
});

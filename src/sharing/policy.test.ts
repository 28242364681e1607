import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allows, isPermission, marksRead, PERMISSIONS, type Action, type Level } from './policy.ts';

const LEVELS: Level[] = ['owner', 'read', 'send_on_behalf', 'send_as'];
const ACTIONS: Action[] = ['view', 'flag', 'delete', 'move', 'send'];

test('each level may do exactly what the permission table says', () => {
  const table = Object.fromEntries(LEVELS.map((level) => [level, ACTIONS.filter((action) => allows(level, action))]));
  assert.deepEqual(table, {
    owner: ['view', 'flag', 'delete', 'move', 'send'],
    read: ['view'],
    send_on_behalf: ['view', 'send'],
    send_as: ['view', 'flag', 'delete', 'move', 'send'],
  });
});

test('only the owner marks a message read by opening it; delegates, send-as included, leave it unread', () => {
  assert.deepEqual(
    LEVELS.filter((level) => marksRead(level)),
    ['owner'],
  );
});

test('an unknown level or action is granted nothing', () => {
  assert.equal(allows('admin' as Level, 'view'), false);
  assert.equal(allows('' as Level, 'send'), false);
  assert.equal(marksRead('admin' as Level), false);
  let granted: boolean | undefined;
  try {
    granted = allows('owner', 'purge' as Action);
  } catch {
    granted = false;
  }
  assert.equal(granted, false);
});

test('form input names a permission only by its exact name', () => {
  assert.deepEqual([...PERMISSIONS], ['read', 'send_on_behalf', 'send_as']);
  for (const p of PERMISSIONS) assert.equal(isPermission(p), true);
  for (const odd of ['owner', 'READ', ' read', 'send-as', '', undefined, null, 1, ['read']]) assert.equal(isPermission(odd), false, JSON.stringify(odd));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { heldFor, holdForm, takeHeld } from './held-form.ts';

/** posted is a urlencoded POST as express hands it to a guard. */
function posted(body: Record<string, unknown>, path = '/settings/app-passwords'): Request {
  return { body, path, session: {}, is: (type: string) => type === 'application/x-www-form-urlencoded' } as unknown as Request;
}

test('a held form keeps its plain fields, never the CSRF token or anything holding a password', () => {
  const req = posted({ _csrf: 't', name: 'Foxmail', imap: 'on', password: 'new secret', confirm: 'new secret', currentPassword: 'x' });
  holdForm(req, '/settings/app-passwords');
  assert.deepEqual(req.session.held?.fields, [['name', 'Foxmail'], ['imap', 'on']]);
  assert.equal(req.session.held?.action, '/settings/app-passwords');
});

test('a large or odd form is not held at all', () => {
  const big = posted({ name: 'x'.repeat(1024 * 1024) });
  holdForm(big, '/p');
  assert.equal(big.session.held, undefined);
  const many = posted(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, 'v'])));
  holdForm(many, '/p');
  assert.equal(many.session.held, undefined);
  const multipart = { ...posted({ name: 'x' }), is: () => false } as unknown as Request;
  holdForm(multipart, '/p');
  assert.equal(multipart.session.held, undefined);
});

test('non-string fields (arrays, objects) are dropped', () => {
  const req = posted({ name: 'ok', to: ['a', 'b'], nested: { x: 1 } });
  holdForm(req, '/p');
  assert.deepEqual(req.session.held?.fields, [['name', 'ok']]);
});

test('a held form is given once, only for its own page, and not after 15 minutes', () => {
  const req = posted({ name: 'a' });
  holdForm(req, '/settings/sharing');
  assert.equal(heldFor(req, '/settings/app-passwords'), false);
  assert.equal(takeHeld(req, '/settings/app-passwords'), undefined, 'another page takes nothing');
  assert.equal(req.session.held, undefined, 'and the form is dropped');
  holdForm(req, '/settings/sharing');
  assert.ok(takeHeld(req, '/settings/sharing'));
  assert.equal(takeHeld(req, '/settings/sharing'), undefined);
  holdForm(req, '/settings/sharing');
  req.session.held!.at -= 16 * 60_000;
  assert.equal(heldFor(req, '/settings/sharing'), false);
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUser } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { startMailWorld, type MailWorld } from './helpers/mail.ts';
import { GrantRepo } from '../src/sharing/repo.ts';
import type { User } from '../src/users/repo.ts';

/*
 * Grouping the list by conversation: Dovecot threads the folder by
 * References / In-Reply-To (UID THREAD REFERENCES), each conversation is
 * one row (its newest message, with a count), and a ticked row acts on the
 * whole conversation.
 */

let w: MailWorld;
before(async () => {
  w = await startMailWorld();
});
after(() => w?.close());

/** seedThreads files two conversations (3 and 2 messages) and a lone message, oldest first; returns their UIDs. */
async function seedThreads(owner: User) {
  const to = owner.email;
  const m = (id: string, subject: string, inReplyTo?: string, refs?: string) => ({
    from: 'Chen Jing <chen@example.org>',
    to,
    subject,
    text: `${subject} body`,
    messageId: `<${id}@example.org>`,
    ...(inReplyTo ? { inReplyTo: `<${inReplyTo}@example.org>`, references: refs ?? `<${inReplyTo}@example.org>` } : {}),
  });
  const a1 = await w.seed(to, m('a1', 'Budget 2027'));
  const b1 = await w.seed(to, m('b1', 'Lab move'));
  const a2 = await w.seed(to, m('a2', 'Re: Budget 2027', 'a1'));
  const lone = await w.seed(to, m('c1', 'Seminar'));
  const b2 = await w.seed(to, m('b2', 'Re: Lab move', 'b1'));
  const a3 = await w.seed(to, m('a3', 'Re: Re: Budget 2027', 'a2', '<a1@example.org> <a2@example.org>'));
  return { a: [a1, a2, a3], b: [b1, b2], lone };
}

const group = (c: WebClient, on: '0' | '1') => c.post('/mail/preferences/conversations', { on, back: '/mail' });

describe('the list grouped by conversation', () => {
  test('is off by default; once on, each conversation is one row, newest activity first, with its count', async () => {
    const user = await buildUser(w.t.s);
    await seedThreads(user);
    const c = await w.t.signIn(user.email);
    const plain = textOf((await c.get('/mail')).text);
    assert.match(plain, /6 messages/);
    assert.equal((await group(c, '1')).status, 303);
    const res = await c.get('/mail');
    const page = textOf(res.text);
    assert.match(page, /3 conversations/);
    // Budget's newest reply is the newest message: it leads, then Lab move, then Seminar.
    const order = ['Re: Re: Budget 2027', 'Re: Lab move', 'Seminar'].map((s) => page.indexOf(s));
    assert.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, page);
    assert.match(res.text, /3 messages in this conversation/);
    assert.match(res.text, /2 messages in this conversation/);
    assert.doesNotMatch(page, /Budget 2027 – Budget 2027 body/, 'older messages of a conversation have no row of their own');
    // A search lists messages, not conversations.
    assert.match(textOf((await c.get('/mail?q=Budget')).text), /3 messages found/);
    await group(c, '0');
    assert.match(textOf((await c.get('/mail')).text), /6 messages/);
  });

  test('a ticked conversation is read, moved or deleted whole; the lone message alone', async () => {
    const user = await buildUser(w.t.s);
    const { a, b, lone } = await seedThreads(user);
    const c = await w.t.signIn(user.email);
    await group(c, '1');
    await c.get('/mail');
    const res = await c.post('/mail/folder/INBOX/bulk', { action: 'delete', uid: String(a[2]), conversations: '1' });
    assert.equal(res.status, 303);
    const left = await w.uidsIn(user.email, 'INBOX');
    assert.deepEqual(left.sort((x, y) => x - y), [...b, lone].sort((x, y) => x - y));
    assert.equal((await w.uidsIn(user.email, 'Trash')).length, 3);
    // Without the flag a ticked row is the one message.
    await c.get('/mail');
    await c.post('/mail/folder/INBOX/bulk', { action: 'read', uid: String(b[1]) });
    assert.ok((await w.flagsOf(user.email, 'INBOX', b[1]!)).includes('\\Seen'));
    assert.ok(!(await w.flagsOf(user.email, 'INBOX', b[0]!)).includes('\\Seen'));
  });

  test('a read-only delegate sees the grouping but may not act on a conversation; the preference is the reader’s own', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    const { a } = await seedThreads(owner);
    await new GrantRepo(w.t.s.db).save(owner.id, delegate.id, 'read');
    const d = await w.t.signIn(delegate.email);
    await d.get('/mail');
    assert.equal((await group(d, '1')).status, 303);
    const base = `/mail/shared/${encodeURIComponent(owner.email)}`;
    assert.match(textOf((await d.get(base)).text), /3 conversations/);
    const refused = await d.post(`${base}/folder/INBOX/bulk`, { action: 'delete', uid: String(a[2]), conversations: '1' });
    assert.equal(refused.status, 403);
    assert.equal((await w.uidsIn(owner.email, 'INBOX')).length, 6);
    // The owner's own list is unchanged by the delegate's choice.
    const o = await w.t.signIn(owner.email);
    assert.match(textOf((await o.get('/mail')).text), /6 messages/);
  });

  test('a message page lists its conversation, oldest first, linking the others; a lone message lists none', async () => {
    const user = await buildUser(w.t.s);
    const { a, lone } = await seedThreads(user);
    const c = await w.t.signIn(user.email);
    await c.get('/mail');
    // Off: no conversation on the page.
    assert.doesNotMatch((await c.get(`/mail/folder/INBOX/${a[1]}`)).text, /mail-conversation/);
    await group(c, '1');
    const page = await c.get(`/mail/folder/INBOX/${a[1]}`);
    assert.match(textOf(page.text), /This conversation: 3 messages/);
    const section = page.text.slice(page.text.indexOf('mail-conversation'));
    const order = ['>Budget 2027<', '>Re: Budget 2027<', '>Re: Re: Budget 2027<'].map((t) => section.indexOf(t));
    assert.ok(order.every((i) => i > 0) && order[0]! < order[1]! && order[1]! < order[2]!, 'oldest first');
    assert.match(section, new RegExp(`href="/mail/folder/INBOX/${a[0]}"`));
    assert.match(section, new RegExp(`href="/mail/folder/INBOX/${a[2]}"`));
    assert.doesNotMatch(section.slice(0, section.indexOf('</details>')), new RegExp(`href="/mail/folder/INBOX/${a[1]}"`), 'the open message is not a link to itself');
    assert.doesNotMatch((await c.get(`/mail/folder/INBOX/${lone}`)).text, /mail-conversation/);
    // Lab move's messages are not part of Budget's conversation.
    assert.doesNotMatch(section.slice(0, section.indexOf('</details>')), /Lab move/);
  });

  test('the preference form refuses what it does not offer and returns only to mail pages', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await c.get('/mail');
    assert.equal((await c.post('/mail/preferences/conversations', { on: 'yes' })).status, 400);
    assert.equal((await c.post('/mail/preferences/conversations', { on: '1', back: 'https://evil.example/' })).headers.location, '/mail');
    assert.equal((await c.post('/mail/preferences/conversations', { on: '1', back: '//evil.example/mail' })).headers.location, '/mail');
    assert.equal((await c.agent.post('/mail/preferences/conversations').type('form').send({ on: '1' })).status, 403, 'no CSRF token');
  });
});

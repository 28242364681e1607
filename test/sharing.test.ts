import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import type { User } from '../src/users/repo.ts';
import type { WebClient } from './helpers/client.ts';
import { textOf } from './helpers/client.ts';
import { buildUser, eventsOf, PASSWORD } from './helpers/factories.ts';
import { postMultipart, startMailWorld, type MailWorld } from './helpers/mail.ts';

let w: MailWorld;
before(async () => {
  w = await startMailWorld();
});
after(() => w?.close());

/** elevate passes the fresh check sharing needs (password, for an account without a phone). */
async function elevate(c: WebClient): Promise<void> {
  await c.get('/settings/security/verify?next=/settings/sharing');
  const res = await c.post('/settings/security/verify', { password: PASSWORD, next: '/settings/sharing' });
  assert.equal(res.status, 303);
}

/** share has the owner grant a permission to the delegate through the settings page. */
async function share(owner: User, delegate: User, permission: string): Promise<WebClient> {
  const c = await w.t.signIn(owner.email);
  await elevate(c);
  await c.get('/settings/sharing');
  const res = await c.post('/settings/sharing', { email: delegate.email, permission });
  assert.equal(res.status, 303, textOf(res.text));
  return c;
}

/** setup: an owner with one unread and one read message, shared at a level with a signed-in delegate. */
async function setup(permission: string) {
  const owner = await buildUser(w.t.s);
  const delegate = await buildUser(w.t.s);
  const unread = await w.seed(owner.email, { from: 'Client <client@example.org>', to: owner.email, subject: 'Unread order', text: 'Please confirm', messageId: '<order-1@example.org>' });
  const read = await w.seed(owner.email, { from: 'client@example.org', to: owner.email, subject: 'Old order', text: 'done' }, 'INBOX', ['\\Seen']);
  const ownerClient = await share(owner, delegate, permission);
  const dc = await w.t.signIn(delegate.email);
  const base = `/mail/shared/${encodeURIComponent(owner.email)}`;
  return { owner, delegate, unread, read, ownerClient, dc, base, msg: (uid: number) => `${base}/folder/INBOX/${uid}` };
}

describe('sharing a mailbox (Settings → Advanced → Shared mailbox)', () => {
  test('sharing needs a fresh second-factor check', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    const c = await w.t.signIn(owner.email);
    const page = await c.get('/settings/sharing');
    assert.match(textOf(page.text), /Sharing your mailbox needs a fresh check/);
    const res = await c.post('/settings/sharing', { email: delegate.email, permission: 'read' });
    assert.equal(res.status, 303);
    assert.match(res.headers.location!, /^\/settings\/security\/verify/);
    assert.deepEqual(await w.t.s.mail.sharing.sharedWith(delegate), []);
  });

  test('a grant is listed, audited, and the owner finds a notice in their own inbox', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    const c = await share(owner, delegate, 'send_on_behalf');
    const page = textOf((await c.get('/settings/sharing')).text);
    assert.match(page, new RegExp(`Your mailbox is now shared with ${delegate.email.replace(/[.]/g, '\\.')} \\(Send on behalf\\)`));
    assert.ok((await eventsOf(w.t.s, owner.id)).some((e) => e.event === 'share.granted' && e.details?.delegate === delegate.email));
    const inbox = await w.sourcesIn(owner.email, 'INBOX');
    const notice = await simpleParser(inbox.at(-1)!);
    assert.equal(notice.subject, `Your mailbox is now shared with ${delegate.email}`);
    assert.match(notice.text!, /Send on behalf/);
  });

  test('the notice follows the owner’s language', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    const c = await w.t.signIn(owner.email);
    await c.get('/settings/sharing?lang=zh-CN');
    await elevate(c);
    await c.get('/settings/sharing');
    assert.equal((await c.post('/settings/sharing', { email: delegate.email, permission: 'read' })).status, 303);
    const notice = await simpleParser((await w.sourcesIn(owner.email, 'INBOX')).at(-1)!);
    assert.equal(notice.subject, `您的邮箱已共享给 ${delegate.email}`);
    assert.match(notice.text!, /只读/);
  });

  test('unknown users, oneself and duplicates are refused with a message', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    const c = await share(owner, delegate, 'read');
    for (const [email, message] of [
      ['nobody@example.test', /There is no user with that address here/],
      [owner.email, /This is your own mailbox/],
      [delegate.email, /already shared with this person/],
    ] as const) {
      const res = await c.post('/settings/sharing', { email, permission: 'read' });
      assert.equal(res.status, 400);
      assert.match(textOf(res.text), message);
    }
    assert.equal((await c.post('/settings/sharing', { email: delegate.email, permission: 'owner' })).status, 400);
    const nul = await c.post('/settings/sharing', { email: 'a\u0000@example.test', permission: 'read' });
    assert.equal(nul.status, 400);
    assert.match(textOf(nul.text), /could not be understood/);
    const broken = await c.post('/settings/sharing', { email: 'a\n@example.test', permission: 'read' });
    assert.equal(broken.status, 400);
    assert.match(textOf(broken.text), /Enter an email address/);
  });

  test('the grantee’s mailbox page lists the shared mailbox and switching shows its folders and mail', async () => {
    const { owner, dc, base } = await setup('read');
    const mine = await dc.get('/mail');
    assert.match(mine.text, new RegExp(`href="${base.replace(/[.]/g, '\\.')}"`));
    const res = await dc.get(base);
    assert.equal(res.status, 200);
    const page = textOf(res.text);
    const email = owner.email.replace(/[.]/g, '\\.');
    assert.match(page, new RegExp(`You can read ${email.split('@')[0]}’s mailbox \\(${email}\\)\\. You cannot send`));
    assert.match(page, /Unread order/);
    assert.match(page, /Old order/);
  });

  test('someone without a grant is refused', async () => {
    const { base } = await setup('send_as');
    const stranger = await buildUser(w.t.s);
    const sc = await w.t.signIn(stranger.email);
    const res = await sc.get(base);
    assert.equal(res.status, 403);
    assert.match(textOf(res.text), /You do not have access to this mailbox/);
  });
});

describe('what each permission allows, enforced on the server', () => {
  test('read only: viewing leaves mail unread; every change and every send is 403', async () => {
    const s = await setup('read');
    const view = await s.dc.get(s.msg(s.unread));
    assert.equal(view.status, 200);
    assert.match(textOf(view.text), /Please confirm/);
    assert.doesNotMatch(view.text, /Reply|Mark as unread|>Delete<|name="to"/);
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.unread), []);

    const sent = w.sink.messages.length;
    const refused: Array<[string, Record<string, string>]> = [
      [`${s.msg(s.unread)}/seen`, { seen: '1' }],
      [`${s.msg(s.read)}/seen`, { seen: '0' }],
      [`${s.msg(s.unread)}/delete`, {}],
      [`${s.msg(s.unread)}/move`, { to: 'Trash' }],
      [`${s.base}/compose`, { to: 'x@example.org', subject: 'no', body: 'no' }],
    ];
    for (const [path, form] of refused) {
      const res = await s.dc.post(path, form);
      assert.equal(res.status, 403, path);
      assert.match(textOf(res.text), /Your permission for this mailbox does not allow/, path);
    }
    assert.equal((await s.dc.get(`${s.base}/compose`)).status, 403);
    assert.equal((await s.dc.get(`${s.base}/compose?mode=reply&folder=INBOX&uid=${s.unread}`)).status, 403);
    const multipart = await postMultipart(s.dc, `${s.base}/compose`, { to: 'x@example.org', subject: 'no' });
    assert.equal(multipart.status, 403);
    assert.equal(w.sink.messages.length, sent);
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.unread), []);
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.read), ['\\Seen']);
    const inbox = await w.uidsIn(s.owner.email, 'INBOX');
    assert.ok(inbox.includes(s.unread) && inbox.includes(s.read), 'nothing was moved or deleted');
    assert.deepEqual(await w.uidsIn(s.owner.email, 'Trash'), []);
    const viewed = (await eventsOf(w.t.s, s.owner.id)).find((e) => e.event === 'delegate.viewed');
    assert.equal(viewed?.details?.delegate, s.delegate.email);
    assert.equal(viewed?.details?.uid, s.unread);
    assert.equal(viewed?.details?.subject, 'Unread order');
  });

  test('send on behalf: viewing leaves mail unread, flags and deletes are 403, sent mail has From owner and Sender delegate', async () => {
    const s = await setup('send_on_behalf');
    await s.dc.get(s.msg(s.unread));
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.unread), []);
    for (const [path, form] of [
      [`${s.msg(s.unread)}/seen`, { seen: '1' }],
      [`${s.msg(s.unread)}/delete`, {}],
      [`${s.msg(s.unread)}/move`, { to: 'Trash' }],
    ] as const) assert.equal((await s.dc.post(path, form)).status, 403, path);
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.unread), []);

    const form = await s.dc.get(`${s.base}/compose?mode=reply&folder=INBOX&uid=${s.unread}`);
    assert.equal(form.status, 200);
    assert.match(textOf(form.text), new RegExp(`${s.delegate.email.replace(/[.]/g, '\\.')} on behalf of`));
    const res = await postMultipart(s.dc, `${s.base}/compose`, { to: 'client@example.org', subject: 'Re: Unread order', body: 'Confirmed.', inReplyTo: '<order-1@example.org>' });
    assert.equal(res.status, 303);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Re: Unread order' && m.raw.includes(s.owner.email));
    assert.equal(got.parsed.from?.value[0]?.address, s.owner.email);
    assert.equal((got.parsed.headers.get('sender') as { value: Array<{ address: string }> }).value[0]?.address, s.delegate.email);
    const sentCopies = await w.sourcesIn(s.owner.email, 'Sent');
    assert.equal(sentCopies.length, 1);
    assert.match(sentCopies[0]!.toString(), new RegExp(`^Sender: .*${s.delegate.email.replace(/[.]/g, '\\.')}`, 'm'));
    assert.deepEqual(await w.uidsIn(s.delegate.email, 'Sent'), []);
    const audited = (await eventsOf(w.t.s, s.owner.id)).find((e) => e.event === 'delegate.sent');
    assert.equal(audited?.details?.delegate, s.delegate.email);
    assert.equal(audited?.details?.subject, 'Re: Unread order');
  });

  test('send on behalf: a forged draftUid cannot delete the owner’s draft', async () => {
    const s = await setup('send_on_behalf');
    const draft = await w.seed(s.owner.email, { from: s.owner.email, to: 'board@example.org', subject: 'Private draft', text: 'not yet' }, 'Drafts', ['\\Draft']);
    await s.dc.get(`${s.base}/compose`);
    const res = await postMultipart(s.dc, `${s.base}/compose`, { to: 'client@example.org', subject: 'Forged on behalf', body: 'x', draftUid: String(draft) });
    assert.equal(res.status, 303);
    await w.sink.waitFor((m) => m.parsed.subject === 'Forged on behalf');
    assert.deepEqual(await w.uidsIn(s.owner.email, 'Drafts'), [draft]);
    const sent = (await eventsOf(w.t.s, s.owner.id)).find((e) => e.event === 'delegate.sent' && e.details?.subject === 'Forged on behalf');
    assert.ok(sent, 'the send is audited');
  });

  test('send on behalf: the delegate’s own kept draft is dropped when it goes out', async () => {
    const s = await setup('send_on_behalf');
    await s.dc.get(`${s.base}/compose`);
    const kept = await postMultipart(s.dc, `${s.base}/compose`, { to: 'oops', subject: 'Kept on behalf', body: 'x' }, [{ name: 'a.txt', content: Buffer.from('aaa'), type: 'text/plain' }]);
    assert.equal(kept.status, 400);
    const draftUid = kept.text.match(/name="draftUid" value="(\d+)"/)![1]!;
    assert.deepEqual(await w.uidsIn(s.owner.email, 'Drafts'), [Number(draftUid)]);
    const res = await postMultipart(s.dc, `${s.base}/compose`, { to: 'client@example.org', subject: 'Kept on behalf', body: 'x', srcFolder: 'Drafts', srcUid: draftUid, keep: '0', draftUid });
    assert.equal(res.status, 303);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Kept on behalf');
    assert.equal(got.parsed.attachments[0]?.content.toString(), 'aaa');
    assert.deepEqual(await w.uidsIn(s.owner.email, 'Drafts'), []);
  });

  test('send as: opening leaves mail unread for the owner; may mark, move and delete; sent mail is from the owner with no trace of the delegate', async () => {
    const s = await setup('send_as');
    const opened = await s.dc.get(s.msg(s.unread));
    assert.equal(opened.status, 200);
    assert.match(textOf(opened.text), /You can send as .* \(.*\)\. Mail you send comes from/);
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.unread), [], 'a delegate’s view never marks the owner’s mail read');
    assert.equal((await s.dc.post(`${s.msg(s.unread)}/seen`, { seen: '1' })).status, 303);
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.unread), ['\\Seen'], 'marking read on purpose works');
    assert.equal((await s.dc.post(`${s.msg(s.unread)}/seen`, { seen: '0' })).status, 303);
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.unread), []);
    assert.equal((await s.dc.post(`${s.msg(s.read)}/delete`)).status, 303);
    assert.equal((await w.uidsIn(s.owner.email, 'Trash')).length, 1);

    await s.dc.get(`${s.base}/compose`);
    const res = await postMultipart(s.dc, `${s.base}/compose`, { to: 'partner@example.org', subject: 'Proxy hello', body: 'From the department.' });
    assert.equal(res.status, 303);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Proxy hello');
    assert.equal(got.parsed.from?.value[0]?.address, s.owner.email);
    assert.equal(got.from, s.owner.email);
    assert.equal(got.parsed.headers.get('sender'), undefined);
    assert.ok(!got.raw.toString().includes(s.delegate.email), 'the delegate appears nowhere in the message');
    const sent = await w.sourcesIn(s.owner.email, 'Sent');
    assert.equal(sent.length, 1);
    assert.ok(!sent[0]!.toString().includes(s.delegate.email));
    const audited = await eventsOf(w.t.s, s.owner.id);
    const events = audited.map((e) => e.event);
    for (const e of ['delegate.viewed', 'delegate.flagged', 'delegate.deleted', 'delegate.sent']) assert.ok(events.includes(e as never), e);
    assert.equal(audited.find((e) => e.event === 'delegate.flagged')?.details?.subject, 'Unread order');
    assert.equal(audited.find((e) => e.event === 'delegate.deleted')?.details?.subject, 'Old order');
    const log = textOf((await s.ownerClient.get('/settings/sharing')).text);
    assert.match(log, /Message deleted by a delegate.*Old order/);
    assert.doesNotMatch(log, /INBOX #\d/);
  });

  test('revoking takes effect on the delegate’s very next request', async () => {
    const s = await setup('send_as');
    assert.equal((await s.dc.get(s.base)).status, 200);
    const page = await s.ownerClient.get('/settings/sharing');
    const id = page.text.match(/action="\/settings\/sharing\/([0-9a-f-]{36})\/revoke"/)![1]!;
    assert.equal((await s.ownerClient.post(`/settings/sharing/${id}/revoke`)).status, 303);
    assert.equal((await s.dc.get(s.base)).status, 403);
    assert.equal((await s.dc.get(s.msg(s.unread))).status, 403);
    assert.equal((await s.dc.post(`${s.msg(s.unread)}/delete`)).status, 403);
    assert.doesNotMatch((await s.dc.get('/mail')).text, /\/mail\/shared\//);
    assert.ok((await eventsOf(w.t.s, s.owner.id)).some((e) => e.event === 'share.revoked'));
  });

  test('lowering a permission takes effect at once', async () => {
    const s = await setup('send_as');
    const page = await s.ownerClient.get('/settings/sharing');
    const id = page.text.match(/action="\/settings\/sharing\/([0-9a-f-]{36})\/revoke"/)![1]!;
    assert.equal((await s.ownerClient.post(`/settings/sharing/${id}`, { permission: 'read' })).status, 303);
    assert.equal((await s.dc.post(`${s.msg(s.unread)}/delete`)).status, 403);
    assert.deepEqual(await w.flagsOf(s.owner.email, 'INBOX', s.unread), []);
  });

  test('the owner reads what delegates did on the sharing page', async () => {
    const s = await setup('read');
    await s.dc.get(s.msg(s.unread));
    const page = textOf((await s.ownerClient.get('/settings/sharing')).text);
    assert.match(page, /Activity in your mailbox/);
    assert.match(page, new RegExp(`${s.delegate.email.replace(/[.]/g, '\\.')} Message read by a delegate Unread order`));
    assert.match(page, /Mailbox shared/);
  });
});

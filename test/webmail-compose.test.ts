import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { buildUser } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { postMultipart, startMailWorld, type MailWorld } from './helpers/mail.ts';
import { GrantRepo } from '../src/sharing/repo.ts';
import { ContactRepo } from '../src/webmail/contacts/repo.ts';
import { CONTACTS_KEPT } from '../src/webmail/contacts/service.ts';
import type { User } from '../src/users/repo.ts';
import { eq } from 'drizzle-orm';
import { mailContacts } from '../src/db/schema/index.ts';

/*
 * Writing mail over HTTP against a real Dovecot and SMTP sink: drafts saved
 * by hand and by autosave, opened again and sent; rich messages and what
 * the sanitizer lets through; signatures per mailbox; recipient suggestions.
 */

let w: MailWorld;
before(async () => {
  w = await startMailWorld();
});
after(() => w?.close());

const field = (html: string, name: string) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];
const json = (c: WebClient, path: string, fields: Record<string, string | string[]>, files: Array<{ name: string; content: Buffer; type?: string }> = []) =>
  postMultipart(c, path, fields, files).set('Accept', 'application/json');

async function compose(user: User): Promise<WebClient> {
  const c = await w.t.signIn(user.email);
  await c.get('/mail/compose');
  return c;
}

async function flagsInDrafts(owner: string): Promise<string[][]> {
  const uids = await w.uidsIn(owner, 'Drafts');
  return Promise.all(uids.map((uid) => w.flagsOf(owner, 'Drafts', uid)));
}

describe('drafts: save, open again, send', () => {
  test('Save draft (no JavaScript) files the message in Drafts and opens it again, files and all; saving again replaces it', async () => {
    const user = await buildUser(w.t.s);
    const c = await compose(user);
    const saved = await postMultipart(c, '/mail/compose/save', { to: 'Ann <ann@example.org>, ali', cc: 'carl@example.org', bcc: 'hidden@example.org', subject: 'Budget notes', body: 'First thoughts.' }, [
      { name: 'plan.txt', content: Buffer.from('the plan'), type: 'text/plain' },
    ]);
    assert.equal(saved.status, 303, textOf(saved.text));
    const [uid] = await w.uidsIn(user.email, 'Drafts');
    assert.equal(saved.headers.location, `/mail/compose?draft=${uid}`);
    assert.deepEqual(await flagsInDrafts(user.email), [['\\Draft', '\\Seen']]);

    const form = await c.get(saved.headers.location!);
    assert.equal(form.status, 200);
    assert.match(textOf(form.text), /Draft saved\./);
    assert.equal(field(form.text, 'to'), 'Ann &lt;ann@example.org&gt;, ali');
    assert.equal(field(form.text, 'cc'), 'carl@example.org');
    assert.equal(field(form.text, 'bcc'), 'hidden@example.org');
    assert.equal(field(form.text, 'subject'), 'Budget notes');
    assert.match(form.text, />First thoughts\.<\/textarea>/);
    assert.match(form.text, /name="keep" value="0" checked> plan.txt/);
    assert.equal(field(form.text, 'draftUid'), String(uid));

    const again = await postMultipart(c, '/mail/compose/save', { to: 'ann@example.org', subject: 'Budget notes', body: 'Second thoughts.', srcFolder: 'Drafts', srcUid: String(uid), keep: '0', draftUid: String(uid) });
    assert.equal(again.status, 303);
    const drafts = await w.sourcesIn(user.email, 'Drafts');
    assert.equal(drafts.length, 1, 'the earlier copy was replaced');
    const copy = await simpleParser(drafts[0]!);
    assert.equal(copy.text?.trim(), 'Second thoughts.');
    assert.equal(copy.attachments[0]?.content.toString(), 'the plan');
  });

  test('a draft written elsewhere opens with its recipients, threading headers and files, and sending it removes it', async () => {
    const user = await buildUser(w.t.s);
    // Mail programs keep Bcc in a draft (nodemailer's composer drops it unless asked).
    const composer = new MailComposer({
      from: user.email,
      to: 'Ann <ann@example.org>',
      bcc: 'boss@example.org',
      subject: 'Re: Plan',
      text: 'My answer',
      inReplyTo: '<plan-1@example.org>',
      references: '<plan-0@example.org> <plan-1@example.org>',
      attachments: [{ filename: 'table.csv', content: Buffer.from('a,b'), contentType: 'text/csv' }],
      date: new Date(),
    }).compile();
    composer.keepBcc = true;
    const uid = await w.seed(user.email, await composer.build(), 'Drafts', ['\\Draft']);
    const c = await w.t.signIn(user.email);
    const form = await c.get(`/mail/compose?draft=${uid}`);
    assert.equal(form.status, 200);
    assert.equal(field(form.text, 'to'), 'Ann &lt;ann@example.org&gt;');
    assert.equal(field(form.text, 'bcc'), 'boss@example.org');
    assert.equal(field(form.text, 'inReplyTo'), '&lt;plan-1@example.org&gt;');
    assert.equal(field(form.text, 'references'), '&lt;plan-0@example.org&gt; &lt;plan-1@example.org&gt;');
    assert.match(form.text, /name="keep" value="0" checked> table.csv/);

    const sent = await postMultipart(c, '/mail/compose', {
      to: 'Ann <ann@example.org>',
      bcc: 'boss@example.org',
      subject: 'Re: Plan',
      body: 'My answer',
      inReplyTo: '<plan-1@example.org>',
      references: '<plan-0@example.org> <plan-1@example.org>',
      srcFolder: 'Drafts',
      srcUid: String(uid),
      keep: '0',
      draftUid: String(uid),
    });
    assert.equal(sent.status, 303, textOf(sent.text));
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Re: Plan' && m.to.includes('ann@example.org'));
    assert.equal(got.parsed.inReplyTo, '<plan-1@example.org>');
    assert.deepEqual(got.to.sort(), ['ann@example.org', 'boss@example.org']);
    assert.equal(got.parsed.attachments.length, 1);
    assert.deepEqual(await w.uidsIn(user.email, 'Drafts'), [], 'the draft is gone once the sent copy is filed');
    assert.equal((await w.uidsIn(user.email, 'Sent')).length, 1);
  });

  test('a draft in the Drafts folder is reached from the list and from its page by an edit link', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: user.email, to: 'x@example.org', subject: 'Half-written note', text: 'x' }, 'Drafts', ['\\Draft']);
    const inboxUid = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Inbox mail', text: 'x' });
    const c = await w.t.signIn(user.email);
    const list = await c.get('/mail/folder/Drafts');
    assert.match(list.text, new RegExp(`href="/mail/compose\\?draft=${uid}"`));
    const page = await c.get(`/mail/folder/Drafts/${uid}`);
    assert.match(page.text, new RegExp(`href="/mail/compose\\?draft=${uid}"[^>]*>Edit draft<`));
    // Elsewhere a message is read, not edited.
    assert.doesNotMatch((await c.get(`/mail/folder/INBOX/${inboxUid}`)).text, /Edit draft|compose\?draft=/);
    assert.doesNotMatch((await c.get('/mail')).text, /compose\?draft=/);
  });

  test('only the Drafts folder opens as a draft: a UID of the inbox is 404, and so is a missing one', async () => {
    const user = await buildUser(w.t.s);
    await w.seed(user.email, { from: user.email, to: 'x@example.org', subject: 'draft', text: 'x' }, 'Drafts', ['\\Draft']);
    await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'one', text: 'x' });
    const inbox = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Private inbox mail', text: 'secret' });
    const c = await w.t.signIn(user.email);
    const res = await c.get(`/mail/compose?draft=${inbox}`);
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.text, /Private inbox mail|secret/);
    assert.equal((await c.get('/mail/compose?draft=0')).status, 400);
    assert.equal((await c.get('/mail/compose?draft=abc')).status, 400);
  });

  test('a draft opened by a send-on-behalf delegate stays in the owner’s Drafts when the delegate saves or sends', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    await new GrantRepo(w.t.s.db).save(owner.id, delegate.id, 'send_on_behalf');
    const uid = await w.seed(owner.email, { from: owner.email, to: 'x@example.org', subject: 'Owner’s own draft', text: 'keep me' }, 'Drafts', ['\\Draft']);
    const base = `/mail/shared/${encodeURIComponent(owner.email)}`;
    const c = await w.t.signIn(delegate.email);
    const form = await c.get(`${base}/compose?draft=${uid}`);
    assert.equal(form.status, 200);
    assert.equal(field(form.text, 'draftUid'), '', 'nothing for this compose to replace');
    // Even a forged draftUid names nothing this session may remove.
    const saved = await json(c, `${base}/compose/save`, { to: 'x@example.org', subject: 'Owner’s own draft', body: 'edited', draftUid: String(uid) });
    assert.equal(saved.status, 200);
    const sent = await postMultipart(c, `${base}/compose`, { to: 'x@example.org', subject: 'Sent by the delegate', body: 'edited', draftUid: String(uid) });
    assert.equal(sent.status, 303);
    assert.ok((await w.uidsIn(owner.email, 'Drafts')).includes(uid), 'the owner’s draft is still there');
  });

  test('a read-only delegate can neither open nor save a draft of the shared mailbox', async () => {
    const owner = await buildUser(w.t.s);
    const reader = await buildUser(w.t.s);
    await new GrantRepo(w.t.s.db).save(owner.id, reader.id, 'read');
    const uid = await w.seed(owner.email, { from: owner.email, to: 'x@example.org', subject: 'd', text: 'x' }, 'Drafts', ['\\Draft']);
    const base = `/mail/shared/${encodeURIComponent(owner.email)}`;
    const c = await w.t.signIn(reader.email);
    assert.equal((await c.get(`${base}/compose?draft=${uid}`)).status, 403);
    await c.get(base);
    const res = await json(c, `${base}/compose/save`, { to: 'x@example.org', subject: 'forged', body: 'x' });
    assert.equal(res.status, 403);
    assert.deepEqual(await w.uidsIn(owner.email, 'Drafts'), [uid]);
  });
});

describe('autosave', () => {
  test('answers JSON with the draft’s UID and its files; the next save carries each file once and replaces the copy', async () => {
    const user = await buildUser(w.t.s);
    const c = await compose(user);
    const first = await json(c, '/mail/compose/save', { to: 'ann@example.org', subject: 'Autosaved', body: 'typing…', html: '<div>typing…</div>' }, [
      { name: 'a.txt', content: Buffer.from('file a'), type: 'text/plain' },
    ]);
    assert.equal(first.status, 200, first.text);
    assert.match(first.headers['content-type']!, /application\/json/);
    const one = first.body as { draftUid: number; srcFolder: string; srcUid: number; kept: Array<{ index: number; filename: string; size: number }> };
    assert.deepEqual(await w.uidsIn(user.email, 'Drafts'), [one.draftUid]);
    assert.equal(one.srcUid, one.draftUid);
    assert.deepEqual(one.kept, [{ index: 0, filename: 'a.txt', size: 6 }]);

    // What the page sends next: the kept file by index, a new file, and the UID it was told.
    const second = await json(
      c,
      '/mail/compose/save',
      { to: 'ann@example.org', subject: 'Autosaved', body: 'typed', html: '<div>typed</div>', srcFolder: one.srcFolder, srcUid: String(one.srcUid), keep: '0', draftUid: String(one.draftUid) },
      [{ name: 'b.txt', content: Buffer.from('file b'), type: 'text/plain' }],
    );
    assert.equal(second.status, 200);
    const two = second.body as typeof one;
    assert.deepEqual(two.kept.map((k) => k.filename), ['a.txt', 'b.txt']);
    const drafts = await w.sourcesIn(user.email, 'Drafts');
    assert.equal(drafts.length, 1);
    const copy = await simpleParser(drafts[0]!);
    assert.deepEqual(copy.attachments.map((a) => a.filename), ['a.txt', 'b.txt']);

    // Sending from that state: each file goes out once, and the draft is removed.
    const sent = await postMultipart(c, '/mail/compose', { to: 'ann@example.org', subject: 'Autosaved', body: 'done', srcFolder: two.srcFolder, srcUid: String(two.srcUid), keep: ['0', '1'], draftUid: String(two.draftUid) });
    assert.equal(sent.status, 303);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Autosaved');
    assert.deepEqual(got.parsed.attachments.map((a) => a.filename), ['a.txt', 'b.txt']);
    assert.deepEqual(await w.uidsIn(user.email, 'Drafts'), []);
  });

  test('without a session or the CSRF token in the URL nothing is saved', async () => {
    const user = await buildUser(w.t.s);
    const c = await compose(user);
    const forged = await c.agent.post('/mail/compose/save').set('Accept', 'application/json').field('to', 'x@example.org').field('subject', 'csrf');
    assert.equal(forged.status, 403);
    const stranger = await w.t.signIn((await buildUser(w.t.s)).email);
    const anon = await postMultipart(stranger, '/mail/compose/save', { subject: 'x' });
    assert.equal(anon.status, 403, 'a token from another session is no token');
    assert.deepEqual(await w.uidsIn(user.email, 'Drafts'), []);
  });
});

describe('a failed send', () => {
  test('names the entry that is not an address and links to the copy kept in Drafts', async () => {
    const user = await buildUser(w.t.s);
    const c = await compose(user);
    const res = await postMultipart(c, '/mail/compose', { to: 'ann@example.org, bob@', subject: 'Typo', body: 'Hello both' });
    assert.equal(res.status, 400);
    const page = textOf(res.text);
    assert.match(page, /Not an address: “bob@”/);
    assert.match(page, /Saved in Drafts\. Open the saved draft/);
    const [uid] = await w.uidsIn(user.email, 'Drafts');
    assert.ok(uid, 'the draft is in Drafts');
    assert.match(res.text, new RegExp(`<a href="/mail/compose\\?draft=${uid}">Open the saved draft</a>`));
    assert.equal(field(res.text, 'to'), 'ann@example.org, bob@');
    const reopened = await c.get(`/mail/compose?draft=${uid}`);
    assert.equal(field(reopened.text, 'to'), 'ann@example.org, bob@');
    assert.match(reopened.text, />Hello both<\/textarea>/);
  });

  test('in Chinese too', async () => {
    const user = await buildUser(w.t.s);
    const c = await compose(user);
    const res = await postMultipart(c, '/mail/compose', { to: '张三 <zhang@>', subject: 'x', body: 'x' }).set('Accept-Language', 'zh-CN');
    assert.match(textOf(res.text), /不是有效的邮箱地址：“张三 &lt;zhang@&gt;”/);
    assert.match(textOf(res.text), /已保存到草稿箱/);
  });
});

describe('rich messages', () => {
  test('go out as multipart/alternative with a text part made from the HTML', async () => {
    const user = await buildUser(w.t.s);
    const c = await compose(user);
    const html = '<div>Hello <b>team</b>,</div><ul><li>first point</li><li>second point</li></ul><div>See <a href="https://example.org/agenda">the agenda</a>.</div><blockquote>earlier words</blockquote>';
    const res = await postMultipart(c, '/mail/compose', { to: 'team@example.org', subject: 'Rich one', body: 'ignored when HTML is given', html });
    assert.equal(res.status, 303, textOf(res.text));
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Rich one');
    assert.match(got.raw.toString(), /Content-Type: multipart\/alternative/);
    assert.equal(got.parsed.html, html);
    assert.equal(got.parsed.text?.trim(), 'Hello team,\n* first point\n* second point\n\nSee the agenda [https://example.org/agenda].\n\n> earlier words');
    const [sent] = await w.sourcesIn(user.email, 'Sent');
    assert.match(sent!.toString(), /multipart\/alternative/);
  });

  test('abuse: scripts, handlers, javascript: and data: links, styles and frames reach neither the recipient nor Drafts', async () => {
    const user = await buildUser(w.t.s);
    const c = await compose(user);
    const evil = [
      '<div>Visible text</div>',
      '<script>alert("pwned")</script>',
      '<img src="x" onerror="alert(1)">',
      '<a href="javascript:alert(1)">click</a>',
      '<a href="JaVaScRiPt:alert(2)">click2</a>',
      '<style>body{background:url(https://tracker.example/x)}</style>',
      '<iframe src="https://evil.example/"></iframe>',
      '<img src="data:image/png;base64,iVBORw0KGgo=">',
      '<a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>',
      '<div onmouseover="steal()" style="position:fixed">hover</div>',
    ].join('');
    const forbidden = /<script|onerror|onmouseover|javascript:|<style|<iframe|data:|tracker\.example|evil\.example|<img|style=|alert\(/i;
    const res = await postMultipart(c, '/mail/compose', { to: 'victim@example.org', subject: 'Abuse', body: 'x', html: evil });
    assert.equal(res.status, 303);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Abuse');
    // The bytes as the relay received them (7bit/quoted-printable: soft line breaks joined).
    const wire = got.raw.toString().replace(/=\r\n/g, '');
    assert.doesNotMatch(wire, forbidden);
    assert.match(got.parsed.html as string, /Visible text/);

    const saved = await postMultipart(c, '/mail/compose/save', { to: 'victim@example.org', subject: 'Abuse draft', body: 'x', html: evil });
    assert.equal(saved.status, 303);
    const [draft] = await w.sourcesIn(user.email, 'Drafts');
    assert.doesNotMatch(draft!.toString().replace(/=\r\n/g, ''), forbidden);
    // The page that shows the draft again holds only the sanitized markup.
    const page = await c.get(saved.headers.location!);
    const editor = page.text.match(/data-html="([^"]*)"/)![1]!;
    assert.doesNotMatch(editor.replace(/&lt;/g, '<').replace(/&#34;|&quot;/g, '"'), forbidden);
  });

  test('a reply quotes the original as a blockquote for the editor and with "> " for plain text', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: 'Ann <ann@example.org>', to: user.email, subject: 'Question', html: '<p>Can you <b>check</b> this?</p><script>x()</script>', text: 'Can you check this?' });
    const c = await w.t.signIn(user.email);
    const form = await c.get(`/mail/compose?mode=reply&folder=INBOX&uid=${uid}`);
    assert.match(form.text, /&gt; Can you check this\?/);
    const editor = form.text.match(/data-html="([^"]*)"/)![1]!;
    assert.match(editor, /&lt;blockquote&gt;&lt;p&gt;Can you &lt;b&gt;check&lt;\/b&gt; this\?&lt;\/p&gt;&lt;\/blockquote&gt;/);
    assert.doesNotMatch(editor, /script/);
  });

  test('the quoted original is dated in the writer’s own time zone, not bare UTC', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: 'Ann <ann@example.org>', to: user.email, subject: 'When', text: 'x', date: new Date('2026-03-04T23:30:00Z') });
    const c = await w.t.signIn(user.email);
    await c.get('/mail');
    assert.equal((await c.post('/mail/preferences/time-zone', { zone: 'Asia/Shanghai' })).status, 204);
    const form = await c.get(`/mail/compose?mode=reply&folder=INBOX&uid=${uid}`);
    // 23:30 UTC on the 4th is 07:30 on the 5th in Shanghai.
    assert.match(form.text, /On Thu, 5 Mar 2026, 07:30 GMT\+8 \(Asia\/Shanghai\), Ann &lt;ann@example.org&gt; wrote:/);
    assert.doesNotMatch(form.text, /UTC, Ann/);
  });
});

describe('signatures', () => {
  test('the own signature is added to new messages, and to replies between the text and the quote', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    const page = await c.get('/settings/signature');
    assert.equal(page.status, 200);
    assert.match(textOf(page.text), /My mailbox/);
    const saved = await c.post('/settings/signature', { mailbox: user.email, format: 'text', signature: 'Ann Lee\nResearch Office' });
    assert.equal(saved.status, 303);
    assert.match(textOf((await c.get('/settings/signature')).text), new RegExp(`Signature for ${user.email.replace(/\./g, '\\.')} saved\\.`));

    const fresh = await c.get('/mail/compose');
    assert.match(fresh.text, />\n\n-- \nAnn Lee\nResearch Office<\/textarea>/);
    assert.match(fresh.text, /data-html="&lt;div&gt;&lt;br&gt;&lt;\/div&gt;&lt;div&gt;&lt;br&gt;&lt;\/div&gt;&lt;div&gt;-- &lt;br&gt;Ann Lee&lt;br \/&gt;Research Office&lt;\/div&gt;&lt;div&gt;&lt;br&gt;&lt;\/div&gt;"/);

    const uid = await w.seed(user.email, { from: 'bob@example.org', to: user.email, subject: 'Hi', text: 'Original words' });
    const reply = await c.get(`/mail/compose?mode=reply&folder=INBOX&uid=${uid}`);
    const body = reply.text.match(/<textarea name="body"[^>]*>([\s\S]*?)<\/textarea>/)![1]!;
    assert.ok(body.indexOf('Research Office') < body.indexOf('&gt; Original words'), body);

    // Emptying it removes it.
    await c.get('/settings/signature');
    await c.post('/settings/signature', { mailbox: user.email, format: 'text', signature: '  ' });
    assert.doesNotMatch((await c.get('/mail/compose')).text, /Research Office/);
  });

  test('an HTML signature is sanitized with the compose allow-list, and one over 10 KB is refused', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await c.get('/settings/signature');
    await c.post('/settings/signature', { mailbox: user.email, format: 'html', signature: '<b>Ann</b> <a href="https://example.org">site</a><script>alert(1)</script><img src=x onerror=alert(1)>' });
    const row = await w.t.s.mail.signatures.forCompose({ owner: user, actor: user, level: 'owner' });
    assert.deepEqual(row, { html: '<b>Ann</b> <a href="https://example.org">site</a>', text: 'Ann site [https://example.org]' });
    const page = await c.get('/settings/signature');
    assert.match(page.text, /value="html" checked/);
    const big = await c.post('/settings/signature', { mailbox: user.email, format: 'text', signature: '签'.repeat(3500) });
    assert.equal(big.status, 400);
    assert.match(textOf(big.text), /at most 10 KB/);
  });

  test('a delegate who may send sets a signature for the shared mailbox and it is used there', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    await new GrantRepo(w.t.s.db).save(owner.id, delegate.id, 'send_as');
    const c = await w.t.signIn(delegate.email);
    const page = await c.get('/settings/signature');
    assert.match(textOf(page.text), /Shared mailbox · Send as/);
    assert.equal((await c.post('/settings/signature', { mailbox: owner.email, format: 'text', signature: 'For the office' })).status, 303);
    const shared = await c.get(`/mail/shared/${encodeURIComponent(owner.email)}/compose`);
    assert.match(shared.text, /-- \nFor the office/);
    assert.doesNotMatch((await c.get('/mail/compose')).text, /For the office/, 'not in the delegate’s own mailbox');
    // The owner's own compose does not get the delegate's signature.
    const oc = await w.t.signIn(owner.email);
    assert.doesNotMatch((await oc.get('/mail/compose')).text, /For the office/);
  });

  test('abuse: a read-only delegate, or anyone for a mailbox not shared with them, cannot set a signature', async () => {
    const owner = await buildUser(w.t.s);
    const reader = await buildUser(w.t.s);
    const stranger = await buildUser(w.t.s);
    await new GrantRepo(w.t.s.db).save(owner.id, reader.id, 'read');
    const rc = await w.t.signIn(reader.email);
    const page = await rc.get('/settings/signature');
    assert.doesNotMatch(page.text, new RegExp(owner.email.replace(/\./g, '\\.')), 'the page offers no form for it');
    const res = await rc.post('/settings/signature', { mailbox: owner.email, format: 'text', signature: 'Injected' });
    assert.equal(res.status, 403);
    assert.match(textOf(res.text), /neither yours nor shared with you for sending/);
    const sc = await w.t.signIn(stranger.email);
    await sc.get('/settings/signature');
    assert.equal((await sc.post('/settings/signature', { mailbox: owner.email, format: 'text', signature: 'Injected' })).status, 403);
    assert.equal((await sc.post('/settings/signature', { mailbox: 'nobody@example.org', format: 'text', signature: 'Injected' })).status, 403);
    assert.equal((await sc.post('/settings/signature', { mailbox: 'a\n@example.org', format: 'text', signature: 'x' })).status, 400);
    assert.equal(await w.t.s.mail.signatures.forCompose({ owner, actor: reader, level: 'send_as' }), undefined);
    assert.equal(await w.t.s.mail.signatures.forCompose({ owner, actor: stranger, level: 'send_as' }), undefined);
  });
});

describe('recipient suggestions', () => {
  test('offer Postern’s enabled users and the addresses the user wrote to, never another user’s', async () => {
    const user = await buildUser(w.t.s);
    const other = await buildUser(w.t.s);
    const colleague = await buildUser(w.t.s);
    const gone = await buildUser(w.t.s, { disabled: true });
    await w.t.s.users.update(colleague.id, { displayName: 'Zelda Quimby' });
    await w.t.s.users.update(gone.id, { displayName: 'Zelda Gone' });
    const c = await compose(user);
    assert.equal((await postMultipart(c, '/mail/compose', { to: 'Frieda Friend <frieda.friend@example.org>', subject: 'hi', body: 'x' })).status, 303);
    await postMultipart(c, '/mail/compose', { to: 'frieda.friend@example.org', subject: 'hi again', body: 'x' });

    const mine = await c.get('/mail/contacts?q=frie');
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body, { results: [{ name: 'Frieda Friend', address: 'frieda.friend@example.org' }] });
    assert.deepEqual((await c.get('/mail/contacts?q=FRIEND')).body.results.map((r: { address: string }) => r.address), ['frieda.friend@example.org'], 'a word of the name, any case');
    const users = await c.get('/mail/contacts?q=zelda');
    assert.deepEqual(users.body.results, [{ name: 'Zelda Quimby', address: colleague.email }]);
    const rows = await w.t.s.db.select().from(mailContacts).where(eq(mailContacts.userId, user.id));
    assert.deepEqual(rows.map((r) => [r.address, r.uses]), [['frieda.friend@example.org', 2]]);

    const oc = await w.t.signIn(other.email);
    assert.deepEqual((await oc.get('/mail/contacts?q=frie')).body, { results: [] });
  });

  test('abuse: wildcards match literally, the query is bounded, and a signed-out caller gets nothing', async () => {
    const user = await buildUser(w.t.s);
    const c = await compose(user);
    await postMultipart(c, '/mail/compose', { to: 'a_b@example.org, percent@example.org', subject: 'x', body: 'x' });
    assert.deepEqual((await c.get('/mail/contacts?q=%25')).body, { results: [] }, '% is not a wildcard');
    assert.deepEqual((await c.get('/mail/contacts?q=_')).body, { results: [] }, '_ is not a wildcard');
    assert.deepEqual((await c.get('/mail/contacts?q=a_')).body.results.map((r: { address: string }) => r.address), ['a_b@example.org']);
    assert.deepEqual((await c.get('/mail/contacts?q=a%5C')).body, { results: [] }, 'a backslash is literal too');
    assert.equal((await c.get('/mail/contacts?q=')).status, 400);
    assert.equal((await c.get('/mail/contacts')).status, 400);
    assert.equal((await c.get(`/mail/contacts?q=${'a'.repeat(101)}`)).status, 400);
    assert.equal((await c.get('/mail/contacts?q=a&q=b')).status, 400);
    // 10 KB of query: refused by the schema; 1 MB: refused by Node before any handler runs.
    assert.equal((await c.get(`/mail/contacts?q=${'a'.repeat(10_000)}`)).status, 400);
    const huge = await c.agent.get(`/mail/contacts?q=${'a'.repeat(1_000_000)}`).ok(() => true);
    assert.ok([400, 414, 431].includes(huge.status), `1 MB query: ${huge.status}`);
    const anon = await (await import('supertest')).default(w.t.app).get('/mail/contacts?q=a').set('Accept', 'application/json');
    assert.ok([302, 303, 401].includes(anon.status), `signed out: ${anon.status}`);
    assert.doesNotMatch(JSON.stringify(anon.body ?? {}), /example\.org/);
  });

  test('each user keeps the most recently used addresses only', async () => {
    assert.equal(CONTACTS_KEPT, 2000);
    const user = await buildUser(w.t.s);
    const repo = new ContactRepo(w.t.s.db);
    for (let i = 0; i < 8; i++) {
      await repo.save(user.id, [{ name: '', address: `p${i}@example.org` }], 5);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(await repo.count(user.id), 5);
    const left = (await repo.load(user.id, 'p', 10)).map((r) => r.address).sort();
    assert.deepEqual(left, ['p3@example.org', 'p4@example.org', 'p5@example.org', 'p6@example.org', 'p7@example.org']);
  });
});

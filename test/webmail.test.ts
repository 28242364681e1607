import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import { buildUser } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { startApp } from './helpers/app.ts';
import { freePort } from './harness/index.ts';
import { postMultipart, startMailWorld, type MailWorld } from './helpers/mail.ts';

let w: MailWorld;
before(async () => {
  w = await startMailWorld();
});
after(() => w?.close());

const folderPath = (folder: string) => `/mail/folder/${encodeURIComponent(folder)}`;

describe('webmail: reading (real Dovecot, opened with the master user)', () => {
  test('the inbox lists messages newest first with sender, subject, unread and attachment marks', async () => {
    const user = await buildUser(w.t.s);
    await w.seed(user.email, { from: 'Old Sender <old@example.org>', to: user.email, subject: 'Older news', text: 'first' }, 'INBOX', ['\\Seen']);
    await w.seed(user.email, {
      from: '张三 <zhang@example.org>',
      to: user.email,
      subject: '季度报告',
      text: 'see attached',
      attachments: [{ filename: 'report.pdf', content: Buffer.from('%PDF-1.4 fake'), contentType: 'application/pdf' }],
    });
    const c = await w.t.signIn(user.email);
    const home = await c.get('/');
    assert.equal(home.status, 303);
    assert.equal(home.headers.location, '/mail');
    const res = await c.get('/mail');
    assert.equal(res.status, 200);
    const page = textOf(res.text);
    assert.match(page, /Inbox/);
    assert.ok(page.indexOf('季度报告') < page.indexOf('Older news'), 'newest first');
    assert.match(page, /张三/);
    const rows = res.text.split('<tr').slice(1);
    assert.match(rows.find((r) => r.includes('季度报告'))!, /^ class="unread"/);
    assert.doesNotMatch(rows.find((r) => r.includes('Older news'))!, /^ class="unread"/);
    assert.match(res.text, /aria-label="Has attachments"/);
    assert.match(page, /2 messages/);
  });

  test('search finds by sender and by subject', async () => {
    const user = await buildUser(w.t.s);
    await w.seed(user.email, { from: 'alice@example.org', to: user.email, subject: 'Lunch', text: 'x' });
    await w.seed(user.email, { from: 'bob@example.org', to: user.email, subject: 'Budget 2027', text: 'x' });
    const c = await w.t.signIn(user.email);
    const bySender = textOf((await c.get(`${folderPath('INBOX')}?q=alice`)).text);
    assert.match(bySender, /Lunch/);
    assert.doesNotMatch(bySender, /Budget 2027/);
    const bySubject = textOf((await c.get(`${folderPath('INBOX')}?q=budget`)).text);
    assert.match(bySubject, /Budget 2027/);
    assert.doesNotMatch(bySubject, /Lunch/);
    assert.match(textOf((await c.get(`${folderPath('INBOX')}?q=nothing-like-this`)).text), /No messages match/);
  });

  test('pages hold 50 messages each', async () => {
    const user = await buildUser(w.t.s);
    await w.imap(user.email, async (imap) => {
      for (let i = 1; i <= 55; i++) await imap.append('INBOX', Buffer.from(`From: a@example.org\r\nSubject: Number ${i}\r\n\r\nx\r\n`));
    });
    const c = await w.t.signIn(user.email);
    const first = textOf((await c.get('/mail')).text);
    assert.match(first, /Number 55/);
    assert.doesNotMatch(first, /Number 5 /);
    assert.match(first, /page 1 of 2/);
    const second = textOf((await c.get(`${folderPath('INBOX')}?page=2`)).text);
    assert.match(second, /Number 5 /);
    assert.doesNotMatch(second, /Number 6 /);
  });

  test('the owner opening a message marks it read', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Plain', text: 'Hello there,\nline two' });
    const c = await w.t.signIn(user.email);
    const res = await c.get(`${folderPath('INBOX')}/${uid}`);
    assert.equal(res.status, 200);
    assert.match(textOf(res.text), /Hello there, line two/);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', uid), ['\\Seen']);
  });

  test('HTML with scripts, event handlers and remote images is rendered inert; images load only when asked', async () => {
    const user = await buildUser(w.t.s);
    const html = [
      '<p onclick="steal()">Dear reader <b>bold</b></p>',
      '<script>alert("x")</script>',
      '<img src="https://tracker.example/pixel.gif" alt="logo">',
      '<img src="x" onerror="alert(1)">',
      '<a href="javascript:alert(1)">bad link</a> <a href="https://example.org/ok">good link</a>',
      '<iframe src="https://evil.example/"></iframe><form action="https://evil.example/"><input name="p"></form>',
      '<div style="background:url(https://tracker.example/bg.png)">styled</div>',
      '<svg><circle onload="alert(1)"/></svg>',
    ].join('');
    const uid = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Fancy', html });
    const c = await w.t.signIn(user.email);
    const res = await c.get(`${folderPath('INBOX')}/${uid}`);
    const body = res.text.slice(res.text.indexOf('class="mail-body'));
    assert.match(body, /Dear reader <b>bold<\/b>/);
    assert.doesNotMatch(body, /<script|alert\(|onerror|onclick|onload|javascript:|<iframe|<form|<input|style=|tracker\.example/i);
    assert.match(body, /href="https:\/\/example.org\/ok" target="_blank" rel="noopener noreferrer nofollow"/);
    assert.match(textOf(res.text), /Remote images in this message were blocked/);
    assert.match(res.headers['content-security-policy']!, /img-src 'self' data:(;|$)/);
    assert.match(res.headers['content-security-policy']!, /script-src 'self'/);

    const shown = await c.get(`${folderPath('INBOX')}/${uid}?images=1`);
    assert.match(shown.text, /<img src="https:\/\/tracker.example\/pixel.gif" alt="logo" \/>/);
    assert.match(shown.headers['content-security-policy']!, /img-src 'self' data: https: http:/);
    assert.match(shown.headers['content-security-policy']!, /script-src 'self'/);
    assert.doesNotMatch(shown.text.slice(shown.text.indexOf('class="mail-body')), /<script|onerror|onclick/);
  });

  test('attachments download with a safe Content-Disposition and nosniff', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, {
      from: 'a@example.org',
      to: user.email,
      subject: 'Files',
      text: 'two files',
      attachments: [
        { filename: '报告 "final".html', content: Buffer.from('<script>alert(1)</script>'), contentType: 'text/html' },
        { filename: 'data.csv', content: Buffer.from('a,b\n1,2\n'), contentType: 'text/csv' },
      ],
    });
    const c = await w.t.signIn(user.email);
    const page = await c.get(`${folderPath('INBOX')}/${uid}`);
    assert.match(page.text, /报告 &#34;final&#34;.html/);
    const res = await c.get(`${folderPath('INBOX')}/${uid}/attachments/2`);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-disposition']!, /^attachment; filename="[^"]*"; filename\*=UTF-8''%E6%8A%A5%E5%91%8A/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.headers['content-security-policy']!, /sandbox/);
    const csv = await c.get(`${folderPath('INBOX')}/${uid}/attachments/3`);
    assert.equal(csv.text ?? csv.body.toString(), 'a,b\n1,2\n');
    assert.equal((await c.get(`${folderPath('INBOX')}/${uid}/attachments/7`)).status, 404);
  });
});

describe('webmail: changing mail', () => {
  test('mark unread, move, delete to Trash, then delete from Trash for good', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Move me', text: 'x' }, 'INBOX', ['\\Seen']);
    await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'placeholder', text: 'x' }, 'Archive');
    const c = await w.t.signIn(user.email);
    await c.get(`${folderPath('INBOX')}/${uid}`);
    const unread = await c.post(`${folderPath('INBOX')}/${uid}/seen`, { seen: '0' });
    assert.equal(unread.status, 303);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', uid), []);

    await c.get(`${folderPath('INBOX')}/${uid}`);
    const moved = await c.post(`${folderPath('INBOX')}/${uid}/move`, { to: 'Archive' });
    assert.equal(moved.status, 303);
    assert.deepEqual(await w.uidsIn(user.email, 'INBOX'), []);
    const archived = await w.uidsIn(user.email, 'Archive');
    assert.equal(archived.length, 2);

    const inArchive = archived.at(-1)!;
    await c.get(`${folderPath('Archive')}/${inArchive}`);
    assert.equal((await c.post(`${folderPath('Archive')}/${inArchive}/delete`)).status, 303);
    assert.match(textOf((await c.get(folderPath('Archive'))).text), /Moved to Trash/);
    const trash = await w.uidsIn(user.email, 'Trash');
    assert.equal(trash.length, 1);
    assert.equal((await c.post(`${folderPath('Trash')}/${trash[0]}/delete`)).status, 303);
    assert.deepEqual(await w.uidsIn(user.email, 'Trash'), []);
    assert.match(textOf((await c.get(folderPath('Trash'))).text), /Deleted permanently/);
  });

  test('moving to a folder that does not exist is refused', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Stay', text: 'x' });
    const c = await w.t.signIn(user.email);
    await c.get(`${folderPath('INBOX')}/${uid}`);
    assert.equal((await c.post(`${folderPath('INBOX')}/${uid}/move`, { to: 'Nowhere' })).status, 404);
    assert.deepEqual(await w.uidsIn(user.email, 'INBOX'), [uid]);
  });
});

describe('webmail: sending', () => {
  test('compose with an attachment goes through the relay and a copy lands in Sent', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await c.get('/mail/compose');
    const res = await postMultipart(c, '/mail/compose', { to: 'friend@example.org', cc: 'Boss <boss@example.org>', subject: 'Hello 你好', body: 'Body text' }, [
      { name: '附件.txt', content: Buffer.from('attached text'), type: 'text/plain' },
    ]);
    assert.equal(res.status, 303, res.text);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Hello 你好');
    assert.deepEqual(got.to.sort(), ['boss@example.org', 'friend@example.org']);
    assert.equal(got.from, user.email);
    assert.equal(got.parsed.from?.value[0]?.address, user.email);
    assert.equal(got.parsed.attachments[0]?.filename, '附件.txt');
    assert.equal(got.parsed.attachments[0]?.content.toString(), 'attached text');
    const sent = await w.sourcesIn(user.email, 'Sent');
    assert.equal(sent.length, 1);
    const copy = await simpleParser(sent[0]!);
    assert.equal(copy.messageId, got.parsed.messageId);
    assert.match(textOf((await c.get('/mail')).text), /Message sent\./);
  });

  test('reply quotes the original, threads it and answers the sender; reply all copies the others', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: 'Ann <ann@example.org>', to: [user.email, 'carl@example.org'], cc: 'dora@example.org', subject: 'Plan', text: 'Shall we meet?', messageId: '<plan-1@example.org>' });
    const c = await w.t.signIn(user.email);
    const form = await c.get(`/mail/compose?mode=all&folder=INBOX&uid=${uid}`);
    assert.match(form.text, /name="to" value="Ann &lt;ann@example.org&gt;"/);
    assert.match(form.text, /name="cc" value="carl@example.org, dora@example.org"/);
    assert.match(form.text, /name="subject" value="Re: Plan"/);
    assert.match(form.text, /&gt; Shall we meet\?/);
    const res = await postMultipart(c, '/mail/compose', { to: 'Ann <ann@example.org>', cc: 'carl@example.org, dora@example.org', subject: 'Re: Plan', body: 'Yes.\n\n> Shall we meet?', inReplyTo: '<plan-1@example.org>', references: '<plan-1@example.org>' });
    assert.equal(res.status, 303);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Re: Plan');
    assert.equal(got.parsed.inReplyTo, '<plan-1@example.org>');
    assert.deepEqual(got.to.sort(), ['ann@example.org', 'carl@example.org', 'dora@example.org']);
  });

  test('forward carries the original attachments', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Slides', text: 'here', attachments: [{ filename: 'deck.pdf', content: Buffer.from('PDFDATA'), contentType: 'application/pdf' }] });
    const c = await w.t.signIn(user.email);
    const form = await c.get(`/mail/compose?mode=forward&folder=INBOX&uid=${uid}`);
    assert.match(form.text, /name="subject" value="Fwd: Slides"/);
    assert.match(form.text, /name="keep" value="0" checked> deck.pdf/);
    const res = await postMultipart(c, '/mail/compose', { to: 'other@example.org', subject: 'Fwd: Slides', body: 'fyi', srcFolder: 'INBOX', srcUid: String(uid), keep: '0' });
    assert.equal(res.status, 303);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Fwd: Slides');
    assert.equal(got.parsed.attachments[0]?.filename, 'deck.pdf');
    assert.equal(got.parsed.attachments[0]?.content.toString(), 'PDFDATA');
  });

  test('a compose form without its CSRF token is refused, multipart or not', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    const before = w.sink.messages.length;
    const res = await c.agent.post('/mail/compose').field('_csrf', 'forged').field('to', 'x@example.org').field('subject', 'csrf').attach('attachments', Buffer.from('x'), 'x.txt');
    assert.equal(res.status, 403);
    const plain = await c.agent.post('/mail/compose').field('to', 'x@example.org').field('subject', 'csrf');
    assert.equal(plain.status, 403);
    assert.equal(w.sink.messages.length, before);
  });

  test('bad recipients bring the form back filled in', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await c.get('/mail/compose');
    const res = await postMultipart(c, '/mail/compose', { to: 'not an address', subject: 'Keep me', body: 'my long text' });
    assert.equal(res.status, 400);
    assert.match(textOf(res.text), /Please check the recipients/);
    assert.match(res.text, /name="subject" value="Keep me"/);
    assert.match(res.text, />my long text<\/textarea>/);
  });
});

describe('webmail: kept drafts', () => {
  test('a forged draftUid drops nothing: the owner’s other drafts stay', async () => {
    const user = await buildUser(w.t.s);
    const other = await w.seed(user.email, { from: user.email, to: 'x@example.org', subject: 'Written in another client', text: 'keep me' }, 'Drafts', ['\\Draft']);
    const c = await w.t.signIn(user.email);
    await c.get('/mail/compose');
    const res = await postMultipart(c, '/mail/compose', { to: 'friend@example.org', subject: 'Forged draft', body: 'x', draftUid: String(other) });
    assert.equal(res.status, 303);
    await w.sink.waitFor((m) => m.parsed.subject === 'Forged draft');
    assert.deepEqual(await w.uidsIn(user.email, 'Drafts'), [other]);
  });

  test('the draft kept after a refused send is dropped once the message goes out', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await c.get('/mail/compose');
    const kept = await postMultipart(c, '/mail/compose', { to: 'not an address', subject: 'Second try', body: 'text' }, [{ name: 'notes.txt', content: Buffer.from('notes'), type: 'text/plain' }]);
    assert.equal(kept.status, 400);
    const draftUid = kept.text.match(/name="draftUid" value="(\d+)"/)![1]!;
    assert.deepEqual(await w.uidsIn(user.email, 'Drafts'), [Number(draftUid)]);
    const sent = await postMultipart(c, '/mail/compose', { to: 'friend@example.org', subject: 'Second try', body: 'text', srcFolder: 'Drafts', srcUid: draftUid, keep: '0', draftUid });
    assert.equal(sent.status, 303);
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Second try');
    assert.equal(got.parsed.attachments[0]?.content.toString(), 'notes');
    assert.deepEqual(await w.uidsIn(user.email, 'Drafts'), []);
  });
});

describe('webmail: malformed addresses and input', () => {
  /** refused fetches a URL and checks the status, the message a person reads, and that nothing was logged as an error. */
  async function refused(c: WebClient, path: string, status: number, message: RegExp) {
    const from = w.t.s.logLines.length;
    const res = await c.get(path);
    assert.equal(res.status, status, `${path}: ${textOf(res.text)}`);
    assert.match(textOf(res.text), message, path);
    assert.doesNotMatch(res.text, /at .*\.ts:\d+/, path);
    const lines = w.t.s.logLines.slice(from);
    assert.deepEqual(lines.filter((l) => l.includes('"level":"error"')), [], path);
    const warned = lines.filter((l) => l.includes('"level":"warn"'));
    assert.equal(warned.length, 1, `${path}: one warn line, got ${JSON.stringify(lines)}`);
    assert.doesNotMatch(warned[0]!, /\\n\s+at /, 'no stack in the log line');
  }

  test('unknown, invalid and control-character folders are 404 or 400, never 500', async () => {
    const user = await buildUser(w.t.s);
    await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Hello', text: 'x' });
    const c = await w.t.signIn(user.email);
    await refused(c, '/mail/folder/~', 404, /This folder does not exist/);
    await refused(c, '/mail/folder/a%2Fb', 404, /This folder does not exist/);
    await refused(c, '/mail/folder/NoSuch', 404, /This folder does not exist/);
    await refused(c, '/mail/folder/IN%00BOX', 400, /could not be understood/);
    await refused(c, '/mail/folder/INBOX%0A', 400, /could not be understood/);
    await refused(c, '/mail/folder/NoSuch/1', 404, /This folder does not exist/);
    await refused(c, '/mail/folder/INBOX/4000000', 404, /This message does not exist/);
  });

  test('a reply to a message in an unknown folder is 404', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await refused(c, '/mail/compose?mode=reply&folder=NoSuch&uid=1', 404, /This folder does not exist/);
    await refused(c, '/mail/compose?mode=reply&folder=IN%00BOX&uid=1', 400, /could not be understood/);
    await refused(c, '/mail/compose?to=a%00b', 400, /could not be understood/);
  });

  test('a search with a line break or NUL is refused with a message', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await refused(c, '/mail/folder/INBOX?q=a%0ab', 400, /Search for plain text/);
    await refused(c, '/mail/folder/INBOX?q=a%09b', 400, /Search for plain text/);
    await refused(c, '/mail/folder/INBOX?q=%00', 400, /could not be understood/);
    assert.equal((await c.get('/mail/folder/INBOX?q=plain')).status, 200);
  });

  test('a shared-mailbox address with control characters is 400', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await refused(c, '/mail/shared/%00/folder/INBOX', 400, /could not be understood/);
    await refused(c, '/mail/shared/a%00%40example.org', 400, /could not be understood/);
    await refused(c, `/mail/shared/${encodeURIComponent('x\n@example.org')}/compose`, 400, /could not be understood/);
  });
});

describe('webmail: when a backend is down', () => {
  test('a failed send keeps the draft: the form comes back filled and the attachment is kept in Drafts', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    await c.get('/mail/compose');
    // The relay goes away (the last sending test of this file).
    await w.sink.stop();
    const res = await postMultipart(c, '/mail/compose', { to: 'someone@example.org', subject: 'Important', body: 'Do not lose this.' }, [{ name: 'plan.txt', content: Buffer.from('the plan'), type: 'text/plain' }]);
    assert.equal(res.status, 502);
    assert.match(textOf(res.text), /could not be sent/);
    assert.match(res.text, /name="to" value="someone@example.org"/);
    assert.match(res.text, /name="subject" value="Important"/);
    assert.match(res.text, />Do not lose this\.<\/textarea>/);
    assert.match(res.text, /name="keep" value="0" checked> plan.txt/);
    const drafts = await w.sourcesIn(user.email, 'Drafts');
    assert.equal(drafts.length, 1);
    const draft = await simpleParser(drafts[0]!);
    assert.equal(draft.subject, 'Important');
    assert.equal(draft.attachments[0]?.content.toString(), 'the plan');
    assert.deepEqual(await w.uidsIn(user.email, 'Sent'), []);

    // Sending again (still failing) replaces the kept draft rather than piling copies up.
    const draftUid = res.text.match(/name="draftUid" value="(\d+)"/)![1]!;
    const again = await postMultipart(c, '/mail/compose', { to: 'someone@example.org', subject: 'Important', body: 'Do not lose this.', srcFolder: 'Drafts', srcUid: draftUid, keep: '0', draftUid });
    assert.equal(again.status, 502);
    assert.match(again.text, /name="keep" value="0" checked> plan.txt/);
    assert.equal((await w.sourcesIn(user.email, 'Drafts')).length, 1);
  });

  test('an unreachable IMAP backend gives a clear page quickly, and settings keep working', async () => {
    const down = await startApp({ ...w.env, IMAP_PORT: String(await freePort()) });
    try {
      const user = await buildUser(down.s);
      const c = await down.signIn(user.email);
      const started = Date.now();
      const res = await c.get('/mail');
      assert.equal(res.status, 503);
      assert.ok(Date.now() - started < 6000);
      assert.match(textOf(res.text), /The mail server did not answer in time/);
      assert.doesNotMatch(res.text, /at .*\.ts:\d+/);
      assert.equal((await c.get('/settings/security')).status, 200);
      assert.equal((await c.get('/settings/sharing')).status, 200);
    } finally {
      await down.s.mail.close();
      await down.close();
    }
  });

  test('without a configured mail backend the start page stays and /mail says so', async () => {
    const bare = await startApp();
    try {
      const user = await buildUser(bare.s);
      const c = await bare.signIn(user.email);
      assert.equal((await c.get('/')).status, 200);
      const res = await c.get('/mail');
      assert.equal(res.status, 503);
      assert.match(textOf(res.text), /no mail backend is configured/);
    } finally {
      await bare.close();
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { User } from '../src/users/repo.ts';
import { buildUser, eventsOf, PASSWORD } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { startMailWorld, type MailWorld } from './helpers/mail.ts';

let w: MailWorld;
before(async () => {
  w = await startMailWorld();
});
after(() => w?.close());

const msgPath = (uid: number, base = '/mail') => `${base}/folder/INBOX/${uid}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** download fetches a response body as bytes, whatever its type. */
async function download(c: WebClient, path: string) {
  return c.agent.get(path).responseType('blob');
}

/** share has the owner grant a permission to the delegate through the settings page; returns the delegate's client. */
async function share(owner: User, delegate: User, permission: string): Promise<WebClient> {
  const oc = await w.t.signIn(owner.email);
  await oc.get('/settings/security/verify?next=/settings/sharing');
  assert.equal((await oc.post('/settings/security/verify', { password: PASSWORD, next: '/settings/sharing' })).status, 303);
  await oc.get('/settings/sharing');
  assert.equal((await oc.post('/settings/sharing', { email: delegate.email, permission })).status, 303);
  return w.t.signIn(delegate.email);
}

/** raw writes a message by hand, for structures and charsets a composer would never produce. */
function raw(lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

describe('webmail: reading from the message structure', () => {
  test('HTML with a text alternative: the HTML is shown, sanitized; the plain text is not', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, {
      from: 'News <news@example.org>',
      to: user.email,
      subject: 'Alternative',
      text: 'PLAIN VERSION ONLY',
      html: '<p>Rich <b>version</b></p><script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">j</a>',
    });
    const c = await w.t.signIn(user.email);
    const res = await c.get(msgPath(uid));
    assert.equal(res.status, 200);
    const body = res.text.slice(res.text.indexOf('class="mail-body'));
    assert.match(body, /Rich <b>version<\/b>/);
    assert.doesNotMatch(res.text, /PLAIN VERSION ONLY/);
    assert.doesNotMatch(body, /<script|onerror|javascript:/);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', uid), ['\\Seen']);
  });

  test('a picture embedded by cid: shows inline; the page lists no file for it', async () => {
    const user = await buildUser(w.t.s);
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const uid = await w.seed(user.email, {
      from: 'a@example.org',
      to: user.email,
      subject: 'Logo',
      html: '<p>Our logo: <img src="cid:logo@example.org" alt="logo"></p>',
      attachments: [{ filename: 'logo.png', content: png, contentType: 'image/png', cid: 'logo@example.org' }],
    });
    const c = await w.t.signIn(user.email);
    const res = await c.get(msgPath(uid));
    assert.match(res.text, new RegExp(`<img src="data:image/png;base64,${png.toString('base64').replace(/[+/]/g, '\\$&')}"`));
    assert.doesNotMatch(res.text, /class="mail-attachments"/);
  });

  test('a 5 MB attachment is listed by part number and downloads byte-identical, streamed', async () => {
    const user = await buildUser(w.t.s);
    const big = randomBytes(5 * 1024 * 1024);
    const uid = await w.seed(user.email, {
      from: 'a@example.org',
      to: user.email,
      subject: 'Big file',
      text: 'see attached',
      attachments: [
        { filename: 'scan.bin', content: big, contentType: 'application/octet-stream' },
        { filename: 'notes.txt', content: Buffer.from('caf\xe9 latin-1 text\n', 'latin1'), contentType: 'text/plain; charset=iso-8859-1' },
      ],
    });
    const c = await w.t.signIn(user.email);
    const page = await c.get(msgPath(uid));
    assert.match(page.text, new RegExp(`href="${msgPath(uid)}/attachments/2" download>scan.bin</a>\\s*<span class="muted">5\\.0 MB</span>`));
    assert.match(page.text, new RegExp(`href="${msgPath(uid)}/attachments/3" download>notes.txt</a>`));
    const res = await download(c, `${msgPath(uid)}/attachments/2`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.match(res.headers['content-disposition']!, /^attachment; filename="?scan\.bin"?/);
    assert.match(res.headers['content-security-policy']!, /sandbox/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.headers['cache-control']!, /no-store/);
    assert.equal(res.headers['content-length'], undefined, 'streamed, not buffered: no length known up front');
    assert.equal(res.body.length, big.length);
    assert.equal(sha(res.body), sha(big));
    // A text file downloads as it was attached: no charset conversion.
    const txt = await download(c, `${msgPath(uid)}/attachments/3`);
    assert.deepEqual(txt.body, Buffer.from('caf\xe9 latin-1 text\n', 'latin1'));
    // The connection the download used serves the next request.
    assert.equal((await c.get(msgPath(uid))).status, 200);
  });

  test('a part the message does not have, or a container part, is 404; a part number that is not one is 400', async () => {
    const user = await buildUser(w.t.s);
    const withFiles = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Files', text: 't', html: '<p>h</p>', attachments: [{ filename: 'a.txt', content: 'a' }, { filename: 'b.txt', content: 'b' }] });
    const plain = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Plain', text: 'only text' });
    const c = await w.t.signIn(user.email);
    assert.equal((await c.get(`${msgPath(withFiles)}/attachments/3`)).status, 200);
    // Part 3 belongs to the other message; 1 is the alternative container; 9 is nowhere.
    for (const path of [`${msgPath(plain)}/attachments/3`, `${msgPath(plain)}/attachments/2`, `${msgPath(withFiles)}/attachments/1`, `${msgPath(withFiles)}/attachments/9`, `${msgPath(withFiles)}/attachments/1.9`, `${msgPath(999999)}/attachments/2`]) {
      const res = await c.get(path);
      assert.equal(res.status, 404, path);
      assert.match(textOf(res.text), /does not exist/, path);
    }
    for (const part of ['..%2F..%2Fetc%2Fpasswd', '..', '2.MIME', 'HEADER', '1%00', '0', '-1', '2.', '1.1.1.1.1.1.1.1.1.1.1', 'x'.repeat(2000), '%E2%80%AE2']) {
      const res = await c.get(`${msgPath(withFiles)}/attachments/${part}`);
      assert.equal(res.status, 400, part);
    }
  });

  test('a broken or unknown charset still shows the text; GB2312 quoted-printable shows Chinese', async () => {
    const user = await buildUser(w.t.s);
    const broken = await w.seed(
      user.email,
      raw(['From: a@example.org', `To: ${user.email}`, 'Subject: Broken charset', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset="x-no-such-charset"', '', 'Readable words \xff\xfe here.', '']),
    );
    const badUtf8 = await w.seed(user.email, raw(['From: a@example.org', `To: ${user.email}`, 'Subject: Bad bytes', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', '<p>Before \xc3\x28 after</p>', '']));
    const gb = await w.seed(
      user.email,
      raw([
        'From: =?GB2312?B?1cXI/Q==?= <zhang@example.cn>',
        `To: ${user.email}`,
        'Subject: =?GB2312?B?1tDOxLLiytQ=?=',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=GB2312',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        '=C4=E3=BA=C3=A3=AC=CA=C0=BD=E7',
        '',
      ]),
    );
    const c = await w.t.signIn(user.email);
    const b = await c.get(msgPath(broken));
    assert.equal(b.status, 200);
    assert.match(textOf(b.text), /Readable words .* here\./);
    const u = await c.get(msgPath(badUtf8));
    assert.equal(u.status, 200);
    assert.match(textOf(u.text), /Before \ufffd\( after/);
    const g = await c.get(msgPath(gb));
    assert.match(textOf(g.text), /中文测试/);
    assert.match(textOf(g.text), /张三 &lt;zhang@example\.cn&gt;/);
    assert.match(textOf(g.text), /你好，世界/);
  });

  test('an attached message is listed as one file; its text is not mixed into the body', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(
      user.email,
      raw([
        'From: a@example.org',
        `To: ${user.email}`,
        'Subject: Fwd as attachment',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="outer"',
        '',
        '--outer',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Outer text.',
        '--outer',
        'Content-Type: message/rfc822',
        '',
        'From: b@example.org',
        'Subject: Inner subject',
        'Content-Type: text/plain',
        '',
        'INNER TEXT',
        '--outer--',
        '',
      ]),
    );
    const c = await w.t.signIn(user.email);
    const page = await c.get(msgPath(uid));
    assert.match(textOf(page.text), /Outer text\./);
    assert.doesNotMatch(page.text, /INNER TEXT/);
    assert.match(page.text, /attachments\/2" download>Inner subject\.eml</);
    const eml = await download(c, `${msgPath(uid)}/attachments/2`);
    assert.match(eml.body.toString(), /Subject: Inner subject[\s\S]*INNER TEXT/);
  });
});

describe('webmail: reading a shared mailbox', () => {
  test('a delegate downloads from the shared mailbox (audited with the subject), never from one not shared', async () => {
    const owner = await buildUser(w.t.s);
    const other = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    const file = { filename: 'budget.xlsx', content: Buffer.from('XLSX'), contentType: 'application/vnd.ms-excel' };
    const uid = await w.seed(owner.email, { from: 'a@example.org', to: owner.email, subject: 'Budget', text: 'attached', attachments: [file] });
    const otherUid = await w.seed(other.email, { from: 'a@example.org', to: other.email, subject: 'Private', text: 'attached', attachments: [file] });
    const dc = await share(owner, delegate, 'read');
    const base = `/mail/shared/${encodeURIComponent(owner.email)}`;
    const ok = await download(dc, `${msgPath(uid, base)}/attachments/2`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'XLSX');
    const audited = (await eventsOf(w.t.s, owner.id)).filter((e) => e.event === 'delegate.viewed').pop();
    assert.equal(audited?.details?.subject, 'Budget');
    assert.equal(audited?.details?.attachment, 'budget.xlsx');

    const notShared = `/mail/shared/${encodeURIComponent(other.email)}`;
    for (const path of [`${msgPath(otherUid, notShared)}/attachments/2`, `${msgPath(otherUid, notShared)}/attachments/1`, `${msgPath(otherUid, notShared)}`]) assert.equal((await dc.get(path)).status, 403, path);
    // The owner's UID under the delegate's own mailbox names nothing of the owner's.
    assert.equal((await dc.get(`${msgPath(uid)}/attachments/2`)).status, 404);
    assert.equal((await eventsOf(w.t.s, other.id)).filter((e) => e.event.startsWith('delegate.')).length, 0);
  });

  test('send on behalf: opening leaves the owner’s mail unread; the banner speaks to the delegate', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    await w.t.s.users.update(owner.id, { displayName: 'Alice Example' });
    const uid = await w.seed(owner.email, { from: 'a@example.org', to: owner.email, subject: 'Unread one', text: 'x' });
    const dc = await share(owner, delegate, 'send_on_behalf');
    const page = await dc.get(msgPath(uid, `/mail/shared/${encodeURIComponent(owner.email)}`));
    assert.equal(page.status, 200);
    assert.ok(textOf(page.text).includes(`You can send on behalf of Alice Example (${owner.email}).`));
    assert.deepEqual(await w.flagsOf(owner.email, 'INBOX', uid), []);
    const zh = await dc.agent.get(msgPath(uid, `/mail/shared/${encodeURIComponent(owner.email)}`)).set('accept-language', 'zh-CN');
    assert.ok(textOf(zh.text).includes(`你可以代表 Alice Example（${owner.email}）发信。`));
  });
});

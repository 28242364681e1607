import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUser, eventsOf } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { startMailWorld, type MailWorld } from './helpers/mail.ts';
import { GrantRepo } from '../src/sharing/repo.ts';
import type { Permission } from '../src/sharing/policy.ts';
import type { User } from '../src/users/repo.ts';

/*
 * The message list over HTTP against a real Dovecot: previews, dates in the
 * reader's zone, plurals, search of the body, and bulk actions with every
 * way of asking for more than the page offers.
 */

let w: MailWorld;
before(async () => {
  w = await startMailWorld();
});
after(() => w?.close());

const folderPath = (folder: string, base = '/mail') => `${base}/folder/${encodeURIComponent(folder)}`;
const sharedBase = (owner: User) => `/mail/shared/${encodeURIComponent(owner.email)}`;

/** postRaw submits a form body as written, for repeated fields and forged shapes. */
function postRaw(c: WebClient, path: string, body: string, csrf = true) {
  return c.agent
    .post(path)
    .type('form')
    .send(csrf ? `_csrf=${encodeURIComponent(c.csrf)}&${body}` : body);
}

async function share(owner: User, delegate: User, permission: Permission) {
  await new GrantRepo(w.t.s.db).save(owner.id, delegate.id, permission);
}

async function seedMany(owner: string, n: number, folder = 'INBOX', subject = (i: number) => `Note ${i}`) {
  const uids: number[] = [];
  for (let i = 1; i <= n; i++) uids.push(await w.seed(owner, { from: `sender${i}@example.org`, to: owner, subject: subject(i), text: `text ${i}` }, folder));
  return uids;
}

describe('the message list', () => {
  test('each row has sender, subject and a line of the text, read from a partial fetch of the text part', async () => {
    const user = await buildUser(w.t.s);
    await w.seed(user.email, { from: '李明 <liming@example.org>', to: user.email, subject: '组会安排', text: '各位好，\n\n下周三下午两点在 302 会议室开组会。' });
    await w.seed(user.email, {
      from: 'Library <news@example.org>',
      to: user.email,
      subject: 'New arrivals',
      html: '<html><head><style>p { color: red }</style></head><body><p>Twelve new titles in <b>computer science</b>.</p></body></html>',
      attachments: [{ filename: 'list.pdf', content: Buffer.from('%PDF'), contentType: 'application/pdf' }],
    });
    await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Long', text: `${'word '.repeat(2000)}THE-END-OF-A-LONG-TEXT` });
    const c = await w.t.signIn(user.email);
    const res = await c.get('/mail');
    assert.equal(res.status, 200);
    const page = textOf(res.text);
    assert.match(page, /组会安排 – 各位好， 下周三下午两点在 302 会议室开组会。/);
    assert.match(page, /New arrivals – Twelve new titles in computer science\./);
    assert.doesNotMatch(page, /color: red/);
    assert.doesNotMatch(page, /THE-END-OF-A-LONG-TEXT/, 'only the start of a body is fetched');
    assert.match(page, /3 messages/);
  });

  test('one message is "1 message", and Chinese has no plural', async () => {
    const user = await buildUser(w.t.s);
    await seedMany(user.email, 1);
    const c = await w.t.signIn(user.email);
    assert.match(textOf((await c.get('/mail')).text), /1 message ·/);
    assert.match(textOf((await c.get('/mail?lang=zh-CN')).text), /1 封邮件/);
  });

  test('dates are in the zone the browser reported, never bare UTC; the zone is validated', async () => {
    const user = await buildUser(w.t.s);
    // 23:30 UTC on 2 March is 07:30 on 3 March in Shanghai.
    await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Late', text: 'x', date: new Date('2025-03-02T23:30:00Z') });
    const c = await w.t.signIn(user.email);
    const before = await c.get('/mail');
    assert.match(before.text, /class="mail-zone" method="post" action="\/mail\/preferences\/time-zone" data-zone=""/);
    assert.match(before.text, /<time datetime="2025-03-02T23:30:00.000Z" title="Sun, 2 Mar 2025, 23:30 GMT\+0 \(UTC\)">2025-03-02<\/time>/);

    assert.equal((await c.post('/mail/preferences/time-zone', { zone: 'Asia/Shanghai' })).status, 204);
    const after = await c.get('/mail');
    assert.match(after.text, /data-zone="Asia\/Shanghai"/);
    assert.match(after.text, /title="Mon, 3 Mar 2025, 07:30 GMT\+8 \(Asia\/Shanghai\)">2025-03-03<\/time>/);
    assert.match(textOf(after.text), /Times in Asia\/Shanghai/);

    for (const zone of ['Mars/Olympus', 'Asia/Shanghai\r\nX: y', 'A'.repeat(65), '', '../../etc/passwd']) {
      assert.equal((await c.post('/mail/preferences/time-zone', { zone })).status, 400, zone);
    }
    assert.equal((await postRaw(c, '/mail/preferences/time-zone', 'zone=Europe%2FParis', false)).status, 403, 'no CSRF token');
    assert.equal((await w.t.s.mail.prefs.load(user.id)).timeZone, 'Asia/Shanghai');
  });
});

describe('search', () => {
  test('a word only in the body is found; fields and the date range narrow it', async () => {
    const user = await buildUser(w.t.s);
    await w.seed(user.email, { from: 'alice@example.org', to: user.email, subject: 'Plans', text: 'The password for the wifi is zebracorn.', date: new Date('2026-11-10T10:00:00Z') });
    await w.seed(user.email, { from: 'zebracorn@example.org', to: user.email, subject: 'Hello', text: 'nothing here', date: new Date('2026-10-01T10:00:00Z') });
    await w.seed(user.email, { from: 'bob@example.org', to: user.email, subject: 'Other', text: 'unrelated', date: new Date('2026-11-12T10:00:00Z') });
    const c = await w.t.signIn(user.email);
    const list = (q: string) => c.get(`${folderPath('INBOX')}?${q}`).then((r) => ({ status: r.status, text: textOf(r.text) }));

    const all = await list('q=zebracorn');
    assert.match(all.text, /Plans/);
    assert.match(all.text, /Hello/);
    assert.doesNotMatch(all.text, /Other/);
    assert.match(all.text, /2 messages found/);
    const body = await list('q=zebracorn&field=body');
    assert.match(body.text, /Plans/);
    assert.doesNotMatch(body.text, /Hello/);
    const from = await list('q=zebracorn&field=from');
    assert.doesNotMatch(from.text, /Plans/);
    assert.match(from.text, /Hello/);
    const dated = await list('since=2026-11-01&before=2026-11-10');
    assert.match(dated.text, /Plans/);
    assert.doesNotMatch(dated.text, /Hello|Other/);
    assert.match(dated.text, /1 message found/);
    assert.match((await list('q=no-such-word-anywhere')).text, /No messages match “no-such-word-anywhere”/);
  });

  test('bad searches are refused with a clear message', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    for (const q of ['since=2026-02-30', 'before=yesterday', 'since=2026-1-1', `q=${'x'.repeat(201)}`, 'q=a%0Ab', 'q=a&q=b']) {
      const res = await c.get(`${folderPath('INBOX')}?${q}`);
      assert.equal(res.status, 400, q);
      assert.match(textOf(res.text), /dates as YYYY-MM-DD/, q);
    }
    assert.equal((await c.get(`${folderPath('INBOX')}?field=nonsense&q=x`)).status, 200, 'an unknown field searches everywhere');
    // A pathological string is only text to the server's substring search.
    assert.equal((await c.get(`${folderPath('INBOX')}?q=${encodeURIComponent('(a+)+'.repeat(40))}`)).status, 200);
  });
});

describe('bulk actions', () => {
  test('mark read and unread, move, delete to Trash and then for good; the flash says how many', async () => {
    const user = await buildUser(w.t.s);
    const [a, b, c3] = await seedMany(user.email, 3);
    await w.seed(user.email, { from: 'x@example.org', to: user.email, subject: 'placeholder', text: 'x' }, 'Archive');
    const c = await w.t.signIn(user.email);
    await c.get('/mail');
    const bulk = folderPath('INBOX') + '/bulk';

    let res = await postRaw(c, bulk, `action=read&uid=${a}&uid=${b}`);
    assert.equal(res.status, 303);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', a!), ['\\Seen']);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', c3!), []);
    assert.match(textOf((await c.get('/mail')).text), /2 messages marked as read\./);

    res = await c.post(bulk, { action: 'unread', uids: `${a}` });
    assert.equal(res.status, 303);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', a!), []);
    assert.match(textOf((await c.get('/mail')).text), /1 message marked as unread\./);

    res = await c.post(bulk, { action: 'move', uids: `${a},${b}`, to: 'Archive' });
    assert.equal(res.status, 303);
    assert.deepEqual(await w.uidsIn(user.email, 'INBOX'), [c3]);
    assert.equal((await w.uidsIn(user.email, 'Archive')).length, 3);
    assert.match(textOf((await c.get('/mail')).text), /2 messages moved to Archive\./);

    // "Select all on this page" without a script: the page's own rows.
    const page = await c.get(folderPath('Archive'));
    const shown = page.text.match(/name="shown" value="([\d,]+)"/)![1]!;
    res = await c.post(folderPath('Archive') + '/bulk', { action: 'delete', page: '1', shown });
    assert.equal(res.status, 303);
    assert.deepEqual(await w.uidsIn(user.email, 'Archive'), []);
    assert.equal((await w.uidsIn(user.email, 'Trash')).length, 3);
    assert.match(textOf((await c.get(folderPath('Archive'))).text), /3 messages moved to Trash\./);

    const trash = await w.uidsIn(user.email, 'Trash');
    await c.get(folderPath('Trash'));
    res = await c.post(folderPath('Trash') + '/bulk', { action: 'delete', uids: trash.join(',') });
    assert.equal(res.status, 303);
    assert.deepEqual(await w.uidsIn(user.email, 'Trash'), []);
    assert.match(textOf((await c.get(folderPath('Trash'))).text), /3 messages deleted permanently\./);
  });

  test('"all matching" acts on what the search found when the page was made, not on newer mail', async () => {
    const user = await buildUser(w.t.s);
    await seedMany(user.email, 55, 'INBOX', (i) => (i % 5 === 0 ? `Invoice ${i}` : `Note ${i}`));
    const c = await w.t.signIn(user.email);
    const all = await c.get('/mail');
    assert.match(textOf(all.text), /Include all 55 matching messages/);
    const searched = await c.get(`${folderPath('INBOX')}?q=invoice&field=subject`);
    assert.match(textOf(searched.text), /11 messages found/);
    assert.doesNotMatch(searched.text, /name="all"/, 'one page holds every result: no "all matching" choice');
    const upto = searched.text.match(/name="upto" value="(\d+)"/)![1]!;
    // Mail that arrives after the page was shown is not part of "all".
    const late = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'Invoice late', text: 'x' });
    const res = await c.post(folderPath('INBOX') + '/bulk', { action: 'read', all: '1', upto, q: 'invoice', field: 'subject' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `${folderPath('INBOX')}?q=invoice&field=subject`);
    assert.match(textOf((await c.get(res.headers.location!)).text), /11 messages marked as read\./);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', late), []);
    const seen = await w.imap(user.email, async (imap) => {
      await imap.mailboxOpen('INBOX', { readOnly: true });
      return ((await imap.search({ seen: true }, { uid: true })) || []).length;
    });
    assert.equal(seen, 11);
  });

  test('a read-only or send-on-behalf delegate may not flag, move or delete, and is refused before IMAP', async () => {
    const owner = await buildUser(w.t.s);
    const uids = await seedMany(owner.email, 2);
    for (const level of ['read', 'send_on_behalf'] as const) {
      const delegate = await buildUser(w.t.s);
      await share(owner, delegate, level);
      const c = await w.t.signIn(delegate.email);
      const page = await c.get(folderPath('INBOX', sharedBase(owner)));
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.text, /name="action"|type="checkbox" name="uid"/, 'no selection or buttons are offered');
      const forms: Array<Record<string, string>> = [
        { action: 'delete', uids: uids.join(',') },
        { action: 'move', uids: uids.join(','), to: 'Archive' },
        { action: 'read', uids: uids.join(',') },
        { action: 'unread', all: '1', upto: '100' },
      ];
      for (const form of forms) {
        const res = await c.post(folderPath('INBOX', sharedBase(owner)) + '/bulk', form);
        assert.equal(res.status, 403, `${level} ${form.action}`);
      }
    }
    assert.deepEqual(await w.uidsIn(owner.email, 'INBOX'), uids);
    for (const uid of uids) assert.deepEqual(await w.flagsOf(owner.email, 'INBOX', uid), []);
    assert.deepEqual((await eventsOf(w.t.s, owner.id)).filter((e) => e.event.startsWith('delegate.')), []);
  });

  test('a send-as delegate may, and the owner sees it in the audit log with the subjects', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    await share(owner, delegate, 'send_as');
    const uids = await seedMany(owner.email, 2);
    const c = await w.t.signIn(delegate.email);
    const page = await c.get(folderPath('INBOX', sharedBase(owner)));
    assert.match(page.text, /value="delete"/);
    const res = await c.post(folderPath('INBOX', sharedBase(owner)) + '/bulk', { action: 'delete', uids: uids.join(',') });
    assert.equal(res.status, 303);
    assert.deepEqual(await w.uidsIn(owner.email, 'INBOX'), []);
    const events = (await eventsOf(w.t.s, owner.id)).filter((e) => e.event === 'delegate.deleted');
    assert.equal(events.length, 1);
    assert.deepEqual(
      { ...(events[0]!.details as Record<string, unknown>), delegateId: undefined },
      { delegate: delegate.email, delegateId: undefined, permission: 'send_as', folder: 'INBOX', count: 2, bulk: true, permanently: false, uids, subjects: ['Note 1', 'Note 2'] },
    );
  });

  test('forged, oversized and malformed selections change nothing', async () => {
    const owner = await buildUser(w.t.s);
    const other = await buildUser(w.t.s);
    const inbox = await seedMany(owner.email, 2);
    const archived = await seedMany(owner.email, 1, 'Archive');
    const othersMail = await seedMany(other.email, 1);
    const c = await w.t.signIn(owner.email);
    await c.get('/mail');
    const bulk = folderPath('INBOX') + '/bulk';

    // A UID of another folder (Archive's UIDs start at 1 too, so pick one INBOX does not hold).
    const foreign = Math.max(...inbox, ...archived) + 1000;
    let res = await c.post(bulk, { action: 'delete', uids: String(foreign) });
    assert.equal(res.status, 303);
    assert.match(textOf((await c.get('/mail')).text), /None of the selected messages is in this folder any more/);

    // 10,000 UIDs in one field pass the form's size limit (413); 51, one more than a page, are refused by the schema (400).
    const tooMany = Array.from({ length: 10_000 }, (_, i) => i + 1).join(',');
    assert.equal((await c.post(bulk, { action: 'delete', uids: tooMany })).status, 413);
    assert.equal((await c.post(bulk, { action: 'delete', uids: Array.from({ length: 51 }, (_, i) => i + 1).join(',') })).status, 400);
    res = await postRaw(c, bulk, `action=delete&${Array.from({ length: 10_000 }, (_, i) => `uid=${i + 1}`).join('&')}`);
    assert.ok(res.status === 400 || res.status === 413, `10,000 uid fields: ${res.status}`);
    for (const body of ['action=delete&uids=1%2Cabc', 'action=delete&uid=abc', 'action=delete&uid=-1', 'action=delete&uids=1%2C%2C2', 'action=explode&uids=1', 'action=delete&all=1', 'action=delete&uids=' + '9'.repeat(1_000_000)]) {
      res = await postRaw(c, bulk, body);
      assert.ok(res.status === 400 || res.status === 413, `${body.slice(0, 40)}: ${res.status}`);
    }
    // Moving into a folder that is not there.
    assert.equal((await c.post(bulk, { action: 'move', uids: inbox.join(','), to: 'Nowhere' })).status, 404);
    // Without the CSRF token.
    assert.equal((await postRaw(c, bulk, `action=delete&uids=${inbox.join('%2C')}`, false)).status, 403);
    // Another user's mailbox, never shared.
    assert.equal((await c.post(folderPath('INBOX', sharedBase(other)) + '/bulk', { action: 'delete', uids: othersMail.join(',') })).status, 403);

    assert.deepEqual(await w.uidsIn(owner.email, 'INBOX'), inbox);
    assert.deepEqual(await w.uidsIn(owner.email, 'Archive'), archived);
    assert.deepEqual(await w.uidsIn(other.email, 'INBOX'), othersMail);
    assert.deepEqual(await w.uidsIn(owner.email, 'Trash'), []);
  });
});

describe('the reading pane', () => {
  test('turned on, an opened message is shown beside its folder; turned off, alone; the way back stays on /mail', async () => {
    const user = await buildUser(w.t.s);
    const [first, second] = await seedMany(user.email, 2);
    const c = await w.t.signIn(user.email);
    const list = await c.get('/mail');
    assert.match(list.text, /name="pane" value="1"/);
    let res = await c.post('/mail/preferences/reading-pane', { pane: '1', back: `${folderPath('INBOX')}?q=Note` });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `${folderPath('INBOX')}?q=Note`);
    assert.equal((await w.t.s.mail.prefs.load(user.id)).readingPane, true);

    const opened = await c.get(`${folderPath('INBOX')}/${second}`);
    assert.equal(opened.status, 200);
    assert.match(opened.text, /class="mail-main card mail-listing mail-pane-list"/);
    assert.match(opened.text, /<tr class="unread">[\s\S]*?Note 1/);
    assert.match(opened.text, /<tr class="read opened">[\s\S]*?Note 2/, 'the opened message is marked in the list, and read');
    assert.match(textOf(opened.text), /text 2/);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', second!), ['\\Seen']);
    assert.deepEqual(await w.flagsOf(user.email, 'INBOX', first!), []);

    for (const back of ['https://evil.example/', '//evil.example/mail', '/mailbox', '/\\evil.example']) {
      res = await c.post('/mail/preferences/reading-pane', { pane: '0', back });
      assert.equal(res.headers.location, '/mail', back);
    }
    assert.equal((await c.post('/mail/preferences/reading-pane', { pane: 'yes' })).status, 400);
    assert.equal((await postRaw(c, '/mail/preferences/reading-pane', 'pane=1', false)).status, 403, 'no CSRF token');
    const alone = await c.get(`${folderPath('INBOX')}/${second}`);
    assert.doesNotMatch(alone.text, /mail-pane-list/);
    assert.match(textOf(alone.text), /text 2/);
  });
});

describe('icons', () => {
  test('every page names the SVG favicon and the touch icon, served from the site itself', async () => {
    const user = await buildUser(w.t.s);
    const c = await w.t.signIn(user.email);
    const page = await c.get('/mail');
    assert.match(page.text, /<link rel="icon" href="\/static\/icons\/favicon.svg" type="image\/svg\+xml">/);
    assert.match(page.text, /<link rel="apple-touch-icon" href="\/static\/icons\/apple-touch-icon.png">/);
    const svg = await c.get('/static/icons/favicon.svg');
    assert.equal(svg.status, 200);
    assert.match(svg.headers['content-type']!, /^image\/svg\+xml/);
    const png = await c.get('/static/icons/apple-touch-icon.png');
    assert.equal(png.status, 200);
    assert.equal((png.body as Buffer).readUInt32BE(16), 180, 'a 180 px wide PNG');
  });
});

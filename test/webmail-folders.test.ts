import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { User } from '../src/users/repo.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { startMailWorld, type MailWorld } from './helpers/mail.ts';

let w: MailWorld;
before(async () => {
  w = await startMailWorld();
});
after(() => w?.close());

/** foldersOf lists a mailbox's folders as the backend itself reports them. */
const foldersOf = (owner: string) => w.imap(owner, async (c) => (await c.list()).map((b) => b.path).sort());

/** delimiterOf is the backend's hierarchy delimiter. */
const delimiterOf = (owner: string) => w.imap(owner, async (c) => (await c.list())[0]!.delimiter);

/** owned signs in a user whose mailbox already has INBOX, Sent, Drafts, Trash and Junk. */
async function owned(): Promise<{ user: User; c: WebClient }> {
  const user = await buildUser(w.t.s);
  await w.imap(user.email, async (c) => {
    for (const name of ['Sent', 'Drafts', 'Trash', 'Junk']) await c.mailboxCreate(name);
  });
  const c = await w.t.signIn(user.email);
  await c.get('/mail/folders');
  return { user, c };
}

/** flashAfter follows a POST's redirect and returns what the page then says. */
async function flashAfter(c: WebClient, res: { status: number; headers: Record<string, string> }): Promise<string> {
  assert.equal(res.status, 303);
  assert.equal(res.headers.location, '/mail/folders');
  const page = await c.get('/mail/folders');
  assert.equal(page.status, 200);
  return textOf(page.text);
}

describe('webmail folders: the owner arranges their own folders (real Dovecot)', () => {
  test('create at the top level, in Chinese, and inside another folder; the folders appear on the server', async () => {
    const { user, c } = await owned();
    assert.match(await flashAfter(c, await c.post('/mail/folders', { name: 'Projects' })), /Folder “Projects” created/);
    assert.match(await flashAfter(c, await c.post('/mail/folders', { name: '项目资料' })), /Folder “项目资料” created/);
    const sep = await delimiterOf(user.email);
    const page = await flashAfter(c, await c.post('/mail/folders', { name: '2026', parent: 'Projects' }));
    assert.match(page, new RegExp(`Folder “Projects\\${sep}2026” created`));
    const on = await foldersOf(user.email);
    for (const f of ['Projects', '项目资料', `Projects${sep}2026`]) assert.ok(on.includes(f), `${f} in ${on.join(', ')}`);
    // The Chinese folder works end to end: listed, opened, and a message filed there is shown.
    await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: '资料清单', text: 'x' }, '项目资料');
    const list = await c.get(`/mail/folder/${encodeURIComponent('项目资料')}`);
    assert.equal(list.status, 200);
    assert.match(textOf(list.text), /资料清单/);
    assert.match((await c.get('/mail')).text, /href="\/mail\/folders"/);
  });

  test('rename in place and delete; the server follows', async () => {
    const { user, c } = await owned();
    await c.post('/mail/folders', { name: 'Old name' });
    await c.get('/mail/folders');
    assert.match(await flashAfter(c, await c.post('/mail/folders/rename', { folder: 'Old name', name: '新名字' })), /Folder renamed to “新名字”/);
    let on = await foldersOf(user.email);
    assert.ok(on.includes('新名字') && !on.includes('Old name'), on.join(', '));
    // Deleting asks first: a post without the confirmation goes to the question, and changes nothing.
    const unconfirmed = await c.post('/mail/folders/delete', { folder: '新名字' });
    assert.equal(unconfirmed.status, 303);
    assert.equal(unconfirmed.headers.location, `/mail/folders/delete?folder=${encodeURIComponent('新名字')}`);
    assert.ok((await foldersOf(user.email)).includes('新名字'));
    const ask = await c.get(unconfirmed.headers.location!);
    assert.match(textOf(ask.text), /Delete the folder “新名字”\?/);
    assert.match(await flashAfter(c, await c.post('/mail/folders/delete', { folder: '新名字', confirm: 'yes' })), /Folder “新名字” deleted/);
    on = await foldersOf(user.email);
    assert.ok(!on.includes('新名字'), on.join(', '));
  });

  test('empty Trash expunges its messages after a confirmation; other folders keep theirs', async () => {
    const { user, c } = await owned();
    for (const subject of ['one', 'two', 'three']) await w.seed(user.email, { from: 'a@example.org', to: user.email, subject, text: 'x' }, 'Trash');
    const kept = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'keep', text: 'x' }, 'INBOX');
    await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'spam', text: 'x' }, 'Junk');
    const ask = await c.get('/mail/folders/empty?folder=Trash');
    assert.equal(ask.status, 200);
    assert.match(textOf(ask.text), /All 3 messages in this folder will be deleted for good/);
    assert.equal((await c.post('/mail/folders/empty', { folder: 'Trash' })).headers.location, '/mail/folders/empty?folder=Trash');
    assert.equal((await w.uidsIn(user.email, 'Trash')).length, 3);
    assert.match(await flashAfter(c, await c.post('/mail/folders/empty', { folder: 'Trash', confirm: 'yes' })), /3 messages deleted for good/);
    assert.deepEqual(await w.uidsIn(user.email, 'Trash'), []);
    assert.deepEqual(await w.uidsIn(user.email, 'INBOX'), [kept]);
    assert.equal((await w.uidsIn(user.email, 'Junk')).length, 1);
    // Junk may be emptied too; no other folder can be.
    await c.get('/mail/folders');
    assert.match(await flashAfter(c, await c.post('/mail/folders/empty', { folder: 'INBOX', confirm: 'yes' })), /Only Trash and Junk can be emptied/);
    assert.deepEqual(await w.uidsIn(user.email, 'INBOX'), [kept]);
    assert.match(await flashAfter(c, await c.post('/mail/folders/empty', { folder: 'Junk', confirm: 'yes' })), /1 messages deleted for good/);
    assert.deepEqual(await w.uidsIn(user.email, 'Junk'), []);
  });
});

describe('webmail folders: refusals change nothing and are never a fault', () => {
  test('special folders cannot be deleted or renamed', async () => {
    const { user, c } = await owned();
    const before = await foldersOf(user.email);
    for (const folder of ['INBOX', 'Sent', 'Trash', 'Drafts', 'Junk']) {
      assert.match(await flashAfter(c, await c.post('/mail/folders/delete', { folder, confirm: 'yes' })), /special folders cannot be renamed or deleted/, folder);
      assert.match(await flashAfter(c, await c.post('/mail/folders/rename', { folder, name: `My ${folder}` })), /special folders cannot be renamed or deleted/, folder);
    }
    const ask = await c.get('/mail/folders/delete?folder=INBOX');
    assert.equal(ask.status, 303);
    assert.deepEqual(await foldersOf(user.email), before);
  });

  test('bad names are refused with a message each: control characters, wildcards, paths, dots, INBOX, too long, taken', async () => {
    const { user, c } = await owned();
    await c.post('/mail/folders', { name: 'Taken' });
    await c.post('/mail/folders', { name: 'Other' });
    await c.get('/mail/folders');
    const before = await foldersOf(user.email);
    const sep = await delimiterOf(user.email);
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ name: 'line\nbreak' }, /cannot contain line breaks, control characters/],
      [{ name: 'all*' }, /cannot contain line breaks/],
      [{ name: '50%' }, /cannot contain line breaks/],
      [{ name: '../../etc/passwd' }, /cannot contain line breaks/],
      [{ name: '..\\..\\windows' }, /cannot contain line breaks/],
      [{ name: '..' }, /cannot be made of dots only/],
      [{ name: 'inbox' }, /INBOX is the name of your inbox/],
      [{ name: '   ' }, /Enter a name for the folder/],
      [{ name: 'x'.repeat(201) }, /at most 200 characters/],
      [{ name: `a${sep}b` }, /folder separator/],
      [{ name: 'Taken' }, /already exists/],
      [{ name: 'Sub', parent: 'NoSuchParent' }, /This folder does not exist/],
    ];
    for (const [form, message] of cases) {
      const from = w.t.s.logLines.length;
      assert.match(await flashAfter(c, await c.post('/mail/folders', form)), message, JSON.stringify(form));
      assert.deepEqual(w.t.s.logLines.slice(from).filter((l) => l.includes('"level":"error"')), [], JSON.stringify(form));
    }
    // A NUL is refused before any handler, for every form (http/input.ts).
    const nul = await c.post('/mail/folders', { name: 'nul\u0000here' });
    assert.equal(nul.status, 400);
    assert.match(textOf(nul.text), /could not be understood/);
    assert.match(await flashAfter(c, await c.post('/mail/folders/rename', { folder: 'Other', name: 'Taken' })), /already exists/);
    assert.match(await flashAfter(c, await c.post('/mail/folders/rename', { folder: 'Other', name: 'a%b' })), /cannot contain line breaks/);
    assert.match(await flashAfter(c, await c.post('/mail/folders/rename', { folder: 'Nowhere', name: 'Fine' })), /This folder does not exist/);
    assert.deepEqual(await foldersOf(user.email), before);
  });

  test('a 1 MB name is refused as too large, and a forged folder path is 400, never 500', async () => {
    const { user, c } = await owned();
    const before = await foldersOf(user.email);
    const huge = await c.post('/mail/folders', { name: 'x'.repeat(1024 * 1024) });
    assert.equal(huge.status, 413);
    assert.doesNotMatch(huge.text, /at .*\.ts:\d+/);
    const nul = await c.post('/mail/folders/delete', { folder: 'IN\u0000BOX', confirm: 'yes' });
    assert.equal(nul.status, 400);
    assert.equal((await c.get('/mail/folders/empty?folder=')).status, 400);
    assert.deepEqual(await foldersOf(user.email), before);
  });

  test('a folder with subfolders is not deleted', async () => {
    const { user, c } = await owned();
    await c.post('/mail/folders', { name: 'Parent' });
    await c.post('/mail/folders', { name: 'Child', parent: 'Parent' });
    await c.get('/mail/folders');
    assert.match(await flashAfter(c, await c.post('/mail/folders/delete', { folder: 'Parent', confirm: 'yes' })), /has subfolders/);
    assert.ok((await foldersOf(user.email)).includes('Parent'));
  });
});

describe('webmail folders: owner only', () => {
  /** shareAs has the owner share their mailbox with the delegate at a level (with the fresh check sharing needs). */
  async function shareAs(owner: User, delegate: User, permission: string): Promise<void> {
    const c = await w.t.signIn(owner.email);
    await c.get('/settings/security/verify?next=/settings/sharing');
    assert.equal((await c.post('/settings/security/verify', { password: PASSWORD, next: '/settings/sharing' })).status, 303);
    await c.get('/settings/sharing');
    assert.equal((await c.post('/settings/sharing', { email: delegate.email, permission })).status, 303);
  }

  test('a delegate at the highest level gets 403 on every folder route of the shared mailbox, and nothing changes', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    const stranger = await buildUser(w.t.s);
    await w.seed(owner.email, { from: 'a@example.org', to: owner.email, subject: 'x', text: 'x' }, 'Trash');
    await w.imap(owner.email, (c) => c.mailboxCreate('Keep'));
    await shareAs(owner, delegate, 'send_as');
    const before = await foldersOf(owner.email);
    for (const who of [delegate, stranger]) {
      const dc = await w.t.signIn(who.email);
      await dc.get('/mail/folders');
      const base = `/mail/shared/${encodeURIComponent(owner.email)}`;
      const expected = who === delegate ? /Only the owner of a mailbox can create, rename, delete or empty its folders/ : /You do not have access to this mailbox/;
      for (const path of [`${base}/folders`, `${base}/folders/delete?folder=Keep`, `${base}/folders/empty?folder=Trash`]) {
        const res = await dc.get(path);
        assert.equal(res.status, 403, `${who.email} GET ${path}`);
        assert.match(textOf(res.text), expected);
      }
      const posts: Array<[string, Record<string, string>]> = [
        ['/folders', { name: 'Injected' }],
        ['/folders/rename', { folder: 'Keep', name: 'Renamed' }],
        ['/folders/delete', { folder: 'Keep', confirm: 'yes' }],
        ['/folders/empty', { folder: 'Trash', confirm: 'yes' }],
      ];
      for (const [path, form] of posts) {
        const res = await dc.post(`${base}${path}`, form);
        assert.equal(res.status, 403, `${who.email} POST ${path}`);
      }
      // A forged owner field on the delegate's own folder page acts on the delegate's own mailbox only.
      await dc.post('/mail/folders', { name: 'Mine', owner: owner.email });
    }
    assert.deepEqual(await foldersOf(owner.email), before);
    assert.equal((await w.uidsIn(owner.email, 'Trash')).length, 1);
    assert.ok((await foldersOf(delegate.email)).includes('Mine'));
  });

  test('the shared mailbox pages show no link to folder management', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    await w.seed(owner.email, { from: 'a@example.org', to: owner.email, subject: 'x', text: 'x' });
    await shareAs(owner, delegate, 'send_as');
    const dc = await w.t.signIn(delegate.email);
    const page = await dc.get(`/mail/shared/${encodeURIComponent(owner.email)}`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /\/folders"/);
  });
});

describe('webmail folders: moving and Sent', () => {
  test('the Move menu lists INBOX and own folders first, Trash last, and neither Drafts nor the current folder', async () => {
    const { user, c } = await owned();
    await w.imap(user.email, async (imap) => {
      for (const name of ['Zeta', 'Alpha']) await imap.mailboxCreate(name);
    });
    const uid = await w.seed(user.email, { from: 'a@example.org', to: user.email, subject: 'File me', text: 'x' }, 'Alpha');
    const page = await c.get(`/mail/folder/Alpha/${uid}`);
    const select = page.text.slice(page.text.indexOf('<select name="to"'), page.text.indexOf('</select>'));
    const options = [...select.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
    assert.equal(options[0], 'INBOX');
    assert.equal(options.at(-1), 'Trash');
    assert.ok(!options.includes('Drafts'), options.join(', '));
    assert.ok(!options.includes('Alpha'), options.join(', '));
    assert.ok(options.indexOf('Zeta') < options.indexOf('Sent'), options.join(', '));
    assert.ok(options.includes('Junk'));
  });

  test('Sent lists whom each message went to, other folders who sent it', async () => {
    const { user, c } = await owned();
    await w.seed(user.email, { from: user.email, to: ['Wang Fang <wang@example.org>', 'li@example.org'], subject: 'Quarterly plan', text: 'x' }, 'Sent', ['\\Seen']);
    await w.seed(user.email, { from: 'Boss <boss@example.org>', to: user.email, subject: 'Hello', text: 'x' });
    const sent = await c.get('/mail/folder/Sent');
    const row = textOf(sent.text.slice(sent.text.indexOf('<tbody')));
    assert.match(row, /To: Wang Fang, li@example\.org/);
    assert.doesNotMatch(row, new RegExp(user.email.replace(/[.]/g, '\\.')));
    assert.match(sent.text, /title="wang@example.org, li@example.org"/);
    const inbox = textOf((await c.get('/mail')).text);
    assert.match(inbox, /Boss/);
    assert.doesNotMatch(inbox, /To: /);
  });
});

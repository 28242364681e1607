import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openPage, screenshot } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import type { MailWorld } from './helpers/mail.ts';
import { startBrowserMailWorld, type BrowserMailWorld } from './helpers/mail-browser.ts';

/*
 * A person in Chromium reads and answers mail, shares the mailbox, and a
 * colleague with read-only access finds no way to change it. Screenshots of
 * every mail page in English and Chinese go to test-results/screenshots.
 */


let world: BrowserMailWorld;
let w: MailWorld;
let url: string;
let browser: Browser;
let contexts: BrowserContext[];

before(async () => {
  world = await startBrowserMailWorld();
  ({ w, url, browser, contexts } = world);
});

after(() => world?.close());

function open(locale: string): Promise<Page> {
  return openPage(browser, contexts, locale);
}

const visible = async (page: Page) => (await page.locator('body').innerText()).replace(/\s+/g, ' ');

async function signIn(page: Page, email: string, labels: { email: string; password: string; submit: string }) {
  await page.goto(`${url}/login`);
  await page.getByLabel(labels.email).fill(email);
  await page.getByLabel(labels.password).fill(PASSWORD);
  await page.getByRole('button', { name: labels.submit, exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/mail');
}

const EN = { email: 'Email address', password: 'Password', submit: 'Sign in' };
const ZH = { email: '邮箱地址', password: '密码', submit: '登录' };

async function seedMailbox(owner: string) {
  await w.seed(owner, { from: 'Registrar <registrar@example.org>', to: owner, subject: 'Enrollment numbers for spring', text: 'Numbers attached.', attachments: [{ filename: 'enrollment-2027.xlsx', content: Buffer.from('xlsx'), contentType: 'application/vnd.ms-excel' }] }, 'INBOX', ['\\Seen']);
  await w.seed(owner, { from: '李明 <liming@example.org>', to: owner, subject: '关于下周组会的安排', text: '各位好，\n\n下周三下午两点在 302 会议室开组会，请提前准备进展汇报。\n\n李明' });
  await w.seed(owner, {
    from: 'Library <news@library.example.org>',
    to: owner,
    subject: 'New arrivals this month',
    html: '<h2>New arrivals</h2><p>Twelve new titles in <b>computer science</b> this month.</p><img src="https://tracker.example/open.gif" alt="banner"><p onclick="x()">Visit <a href="https://library.example.org/new">the catalogue</a>.</p><script>alert(1)</script>',
  });
  return w.seed(owner, { from: 'Dr. Ada Chen <ada@example.org>', to: owner, cc: 'lab@example.org', subject: 'Draft of the grant proposal', text: 'Hi,\n\nCould you review section 3 of the proposal by Friday?\n\nThanks,\nAda', messageId: '<grant-7@example.org>' });
}

describe('webmail in a browser', () => {
  test('read, reply, share read-only; the delegate finds no way to change the mailbox; screenshots in both languages', async () => {
    const owner = await buildUser(w.t.s);
    const delegate = await buildUser(w.t.s);
    await w.t.s.users.update(owner.id, { displayName: 'Research Office' });
    const grantUid = await seedMailbox(owner.email);

    // The owner's inbox, in English.
    const page = await open('en-US');
    await signIn(page, owner.email, EN);
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    assert.match(await visible(page), /Draft of the grant proposal/);
    await screenshot(page, 'mail-inbox-en');

    // An HTML newsletter: no script ran, the tracker stayed blocked until asked.
    await page.getByRole('link', { name: 'New arrivals this month' }).click();
    await page.getByText('Remote images in this message were blocked').waitFor();
    assert.equal(await page.locator('.mail-body img').count(), 0);
    await screenshot(page, 'mail-message-html-en');

    // Reading and replying.
    await page.goto(`${url}/mail`);
    await page.getByRole('link', { name: 'Draft of the grant proposal' }).click();
    await page.getByText('Could you review section 3').waitFor();
    await screenshot(page, 'mail-message-en');
    assert.deepEqual(await w.flagsOf(owner.email, 'INBOX', grantUid), ['\\Seen']);
    await page.getByRole('link', { name: 'Reply', exact: true }).click();
    await page.getByRole('heading', { name: 'New message' }).waitFor();
    assert.equal(await page.getByLabel('Subject').inputValue(), 'Re: Draft of the grant proposal');
    // The reply opens in the editor; this person writes plain text.
    await page.getByRole('button', { name: 'Plain text' }).click();
    const body = page.locator('textarea[name="body"]');
    await body.fill(`Happy to — I will send comments on Thursday.\n\n${await body.inputValue()}`);
    await screenshot(page, 'mail-compose-en');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Message sent.').waitFor();
    const sent = await w.sink.waitFor((m) => m.parsed.subject === 'Re: Draft of the grant proposal');
    assert.deepEqual(sent.to, ['ada@example.org']);
    assert.equal(sent.parsed.inReplyTo, '<grant-7@example.org>');

    // Settings → Shared mailbox: verify, then share read-only.
    await page.goto(`${url}/settings/sharing`);
    await page.getByRole('link', { name: 'Verify to share' }).click();
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/settings/sharing', { timeout: 20_000 }).catch(async () => {
        throw new Error(`the fresh check did not lead back to sharing; ${page.url()} reads: ${await visible(page)}`);
      }),
      page.locator('form[action="/settings/security/verify"] button[type=submit]').click(),
    ]);
    await page.getByLabel('Share with').fill(delegate.email);
    await page.getByRole('radio', { name: /Read only/ }).check();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByText(`Your mailbox is now shared with ${delegate.email} (Read only).`).waitFor();
    await screenshot(page, 'sharing-en');

    // The delegate, in Chinese, switches to the shared mailbox.
    const dp = await open('zh-CN');
    await signIn(dp, delegate.email, ZH);
    await screenshot(dp, 'mail-inbox-empty-zh-CN');
    await dp.getByRole('navigation', { name: '邮箱' }).getByRole('link', { name: new RegExp(owner.email.replace(/[.]/g, '\\.')) }).click();
    await dp.getByRole('heading', { name: '收件箱', level: 1 }).waitFor();
    assert.match(await visible(dp), /你可以查看 .+（.+@.+）的邮箱。/);
    await screenshot(dp, 'mail-inbox-zh-CN');
    await dp.getByRole('link', { name: '关于下周组会的安排' }).click();
    await dp.getByText('请提前准备进展汇报').waitFor();
    await screenshot(dp, 'mail-message-zh-CN');

    // Nothing on the page changes the mailbox, and viewing left it unread for the owner.
    for (const name of ['回复', '回复全部', '转发', '标为未读', '删除', '移动', '写信']) {
      assert.equal(await dp.getByRole('button', { name, exact: true }).count(), 0, name);
      assert.equal(await dp.getByRole('link', { name, exact: true }).count(), 0, name);
    }
    // Only the reader's own forms: signing out, and the time zone the browser reports.
    assert.equal(await dp.locator('form[method="post"]:not([action="/logout"]):not([action^="/mail/preferences/"])').count(), 0);
    const liUid = (await w.uidsIn(owner.email, 'INBOX'))[1]!;
    assert.deepEqual(await w.flagsOf(owner.email, 'INBOX', liUid), []);

    // The delegate's own mailbox compose page, and the owner's pages in Chinese.
    await dp.goto(`${url}/mail/compose`);
    await dp.getByRole('heading', { name: '写信' }).waitFor();
    await screenshot(dp, 'mail-compose-zh-CN');
    await page.goto(`${url}/settings/sharing?lang=zh-CN`);
    await page.getByRole('heading', { name: '共享邮箱', level: 1 }).waitFor();
    assert.match(await visible(page), /共享用户查看了邮件/);
    await screenshot(page, 'sharing-zh-CN');
    await page.goto(`${url}/mail/folder/INBOX/${grantUid}`);
    await screenshot(page, 'mail-message-owner-zh-CN');
    await page.goto(`${url}/mail?lang=en`);
  });
});

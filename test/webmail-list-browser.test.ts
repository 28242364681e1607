import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fits, newContext, screenshot, wide } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import type { MailWorld } from './helpers/mail.ts';
import { startBrowserMailWorld, type BrowserMailWorld } from './helpers/mail-browser.ts';

/*
 * The message list in Chromium: the browser's time zone reaches the server,
 * rows are selected and acted on in bulk, a word only in a body is found,
 * and on a phone the folders open from a menu button. Screenshots in both
 * languages go to test-results/screenshots.
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

const LABELS = {
  en: { email: 'Email address', password: 'Password', submit: 'Sign in' },
  'zh-CN': { email: '邮箱地址', password: '密码', submit: '登录' },
} as const;

async function open(locale: 'en' | 'zh-CN', width: number, email: string, timezoneId = 'Asia/Shanghai'): Promise<Page> {
  const context = await newContext(browser, { locale, timezoneId, viewport: { width, height: 860 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const l = LABELS[locale];
  await page.goto(`${url}/login`);
  await page.getByLabel(l.email).fill(email);
  await page.getByLabel(l.password).fill(PASSWORD);
  await page.getByRole('button', { name: l.submit, exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/mail');
  return page;
}

async function shot(page: Page, name: string) {
  const path = await screenshot(page, name);
  if (process.env.SHOTS_DIR) {
    mkdirSync(process.env.SHOTS_DIR, { recursive: true });
    copyFileSync(path, `${process.env.SHOTS_DIR}/${name}.png`);
  }
}

async function seedInbox(owner: string) {
  const day = (h: number) => new Date(Date.now() - h * 3600_000);
  await w.seed(owner, { from: 'Registrar <registrar@example.org>', to: owner, subject: 'Enrollment numbers for spring', text: 'The numbers for the spring term are attached; the deadline is Friday.', date: new Date('2025-11-30T02:00:00Z'), attachments: [{ filename: 'enrollment.xlsx', content: Buffer.from('x'), contentType: 'application/vnd.ms-excel' }] }, 'INBOX', ['\\Seen']);
  await w.seed(owner, { from: '李明 <liming@example.org>', to: owner, subject: '关于下周组会的安排', text: '各位好，\n\n下周三下午两点在 302 会议室开组会，请提前准备进展汇报。\n\n李明', date: day(30) });
  await w.seed(owner, { from: 'Library <news@library.example.org>', to: owner, subject: 'New arrivals this month', html: '<p>Twelve new titles in <b>computer science</b> this month, among them a field guide to the okapi.</p>', date: day(3) });
  await w.seed(owner, { from: 'Dr. Ada Chen <ada@example.org>', to: owner, subject: 'Draft of the grant proposal with a rather long subject line that goes on', text: 'Hi,\n\nCould you review section 3 of the proposal by Friday?\n\nThanks,\nAda', date: day(1) });
}

describe('the message list in a browser', () => {
  test('the browser’s zone is stored; rows are selected and deleted in bulk; a body-only word is found; screenshots', async () => {
    const user = await buildUser(w.t.s);
    await seedInbox(user.email);

    const page = await open('en', 1280, user.email);
    // The page reports Asia/Shanghai and shows itself again in it.
    await page.getByText('Times in Asia/Shanghai').waitFor();
    assert.equal((await w.t.s.mail.prefs.load(user.id)).timeZone, 'Asia/Shanghai');
    const older = page.locator('time[datetime="2025-11-30T02:00:00.000Z"]');
    assert.equal(await older.textContent(), '2025-11-30');
    assert.match((await older.getAttribute('title'))!, /Sun, 30 Nov 2025, 10:00 GMT\+8 \(Asia\/Shanghai\)/);

    // Nothing selected: the actions wait. Select all on the page, then take one row back.
    const del = page.getByRole('button', { name: 'Delete', exact: true });
    assert.equal(await del.isDisabled(), true);
    await page.getByLabel('Select all on this page').check();
    assert.equal(await del.isDisabled(), false);
    assert.equal(await page.locator('input[name=uid]:checked').count(), 4);
    await page.getByLabel('Select: Enrollment numbers for spring').uncheck();
    assert.equal(await page.getByLabel('Select all on this page').isChecked(), false);
    await shot(page, 'mail-list-selected-en-1280');
    await del.click();
    await page.getByText('3 messages moved to Trash.').waitFor();
    assert.equal((await w.uidsIn(user.email, 'INBOX')).length, 1);
    assert.equal((await w.uidsIn(user.email, 'Trash')).length, 3);

    // A word that is only in a body.
    await page.goto(`${url}/mail/folder/Trash`);
    await page.getByRole('searchbox').fill('okapi');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('1 message found').waitFor();
    assert.match(await page.locator('.mail-list').innerText(), /New arrivals this month/);
    await page.locator('.mail-search-options summary').click();
    await shot(page, 'mail-list-search-en-1280');

    // The reading pane: the list beside the message on a desktop, the message alone on a phone.
    await page.goto(`${url}/mail`);
    await page.getByRole('button', { name: 'Reading pane' }).click();
    await page.getByRole('button', { name: 'List only' }).waitFor();
    await page.goto(`${url}/mail/folder/Trash`);
    await page.locator('.mail-list a', { hasText: 'Draft of the grant proposal' }).first().click();
    await page.locator('.mail-pane-message').getByText('Could you review section 3').waitFor();
    assert.equal(await page.locator('.mail-pane-list').isVisible(), true);
    assert.ok(await fits(page), await wide(page));
    await shot(page, 'mail-pane-en-1280');
    await page.setViewportSize({ width: 390, height: 800 });
    assert.equal(await page.locator('.mail-pane-list').isVisible(), false);
    assert.ok(await fits(page), await wide(page));
  });

  test('on a phone each message is one block, and the folders open from the menu button (both languages)', async () => {
    const user = await buildUser(w.t.s);
    await seedInbox(user.email);
    for (const locale of ['en', 'zh-CN'] as const) {
      const page = await open(locale, 390, user.email);
      await page.locator('form.mail-zone[data-zone="Asia/Shanghai"]').waitFor({ state: 'attached' });
      assert.ok(await fits(page), await wide(page));
      const folders = page.locator('.mail-folders');
      assert.equal(await folders.isVisible(), false, 'folders fold away on a phone');
      // One block per message: the subject and the preview each on a line of their own, the full width.
      const row = page.locator('tr', { hasText: '关于下周组会的安排' });
      // The subject's line (the subject, and a conversation's count beside it) spans the row.
      const subject = await row.locator('.mail-subject-line').boundingBox();
      const preview = await row.locator('.mail-preview').boundingBox();
      const from = await row.locator('.mail-col-from').boundingBox();
      assert.ok(subject && preview && from);
      assert.ok(preview.y >= subject.y + subject.height - 1, 'the preview is below the subject');
      assert.ok(subject.y >= from.y + from.height - 1, 'the subject is below the sender');
      assert.ok(subject.width > 250, `the subject has the row's width (${subject.width})`);
      await page.getByLabel(locale === 'en' ? 'Select all on this page' : '选择本页全部').check();
      await shot(page, `mail-list-selected-${locale}-390`);
      await page.locator('label.mail-menu-button').click();
      assert.equal(await folders.isVisible(), true);
      assert.ok(await fits(page), await wide(page));
      await shot(page, `mail-list-menu-${locale}-390`);
      if (locale === 'zh-CN') {
        const wide = await open(locale, 1280, user.email);
        await wide.locator('form.mail-zone[data-zone="Asia/Shanghai"]').waitFor({ state: 'attached' });
        await wide.getByLabel('选择本页全部').check();
        await shot(wide, 'mail-list-selected-zh-CN-1280');
        assert.match(await wide.locator('.mail-pager').innerText(), /4 封邮件/);
      }
    }
  });

  test('without scripts, ticking rows and a button still acts', async () => {
    const user = await buildUser(w.t.s);
    await seedInbox(user.email);
    const context = await newContext(browser, { locale: 'en', javaScriptEnabled: false });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${url}/login`);
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/mail');
    await page.getByLabel('Select: New arrivals this month').check();
    await page.getByLabel('Select: 关于下周组会的安排').check();
    await page.getByRole('button', { name: 'Mark unread' }).click();
    await page.getByText('2 messages marked as unread.').waitFor();
    await page.setViewportSize({ width: 390, height: 800 });
    await page.locator('label.mail-menu-button').click();
    assert.equal(await page.locator('.mail-folders').isVisible(), true, 'the menu opens without scripts');
  });
});

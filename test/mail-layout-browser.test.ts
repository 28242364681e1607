import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fits, newContext, screenshot, wide } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import type { MailWorld } from './helpers/mail.ts';
import { startBrowserMailWorld, type BrowserMailWorld } from './helpers/mail-browser.ts';

/*
 * Every mail page fits the window, with no sideways scrolling, on a small
 * phone (360), a large one (390), a tablet (768) and a desktop (1280), in
 * English and in Chinese, with long names, subjects and addresses.
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

const WIDTHS = [360, 390, 768, 1280];

/**
 * landed waits for the inbox after signing in, and for the page's script to
 * have reported the browser's time zone (it reloads the page once), so the
 * next navigation is not cut short by that reload.
 */
async function landed(page: Page, zone: string): Promise<void> {
  await page.waitForURL((u) => u.pathname === '/mail');
  await page.locator(`form.mail-zone[data-zone="${zone}"]`).waitFor({ state: 'attached' });
}
const LABELS = {
  en: { email: 'Email address', password: 'Password', submit: 'Sign in' },
  'zh-CN': { email: '邮箱地址', password: '密码', submit: '登录' },
} as const;

test('every mail page fits at 360, 390, 768 and 1280 pixels in English and Chinese', async () => {
  const owner = await buildUser(w.t.s);
  const long = 'a-very-long-unbroken-address-of-a-sender-who-likes-hyphens@subdomain.of.an.institution.example.org';
  const uid = await w.seed(owner.email, {
    from: `Someone With An Exceptionally Long Display Name For Testing <${long}>`,
    to: owner.email,
    cc: long,
    subject: '一个非常非常长的中文主题，用来检查手机上的邮件列表是否会横向滚动，以及换行是否正常 and some English too',
    text: `${'Lorem ipsum dolor sit amet, '.repeat(20)}\n${'x'.repeat(300)}`,
    attachments: [{ filename: `${'report-'.repeat(12)}.pdf`, content: Buffer.from('%PDF'), contentType: 'application/pdf' }],
  });
  for (let i = 0; i < 5; i++) await w.seed(owner.email, { from: `sender${i}@example.org`, to: owner.email, subject: `Message ${i}`, text: 'short' });
  await w.seed(owner.email, { from: 'x@example.org', to: owner.email, subject: 'In a folder with a long name', text: 'x' }, 'Grant applications and their many attachments of 2027');

  const pages = [
    '/mail',
    `/mail/folder/INBOX?q=Message&field=subject&since=2020-01-01`,
    `/mail/folder/INBOX/${uid}`,
    '/mail/compose',
  ];
  const failures: string[] = [];
  for (const locale of ['en', 'zh-CN'] as const) {
    const context = await newContext(browser, { locale, timezoneId: 'Asia/Shanghai' });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const l = LABELS[locale];
    await page.goto(`${url}/login`);
    await page.getByLabel(l.email).fill(owner.email);
    await page.getByLabel(l.password).fill(PASSWORD);
    await page.getByRole('button', { name: l.submit, exact: true }).click();
    await landed(page, 'Asia/Shanghai');
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 800 });
      for (const path of pages) {
        await page.goto(url + path);
        // Open every fold (search options, the phone's folder menu) so what it hides is measured too.
        await page.evaluate(() => {
          document.querySelectorAll('details').forEach((d) => (d.open = true));
          const menu = document.getElementById('mail-menu') as HTMLInputElement | null;
          if (menu) menu.checked = true;
        });
        if (!(await fits(page))) failures.push(`${locale} ${width} ${path}: ${await wide(page)}`);
        if (width === 360 && path === '/mail') await screenshot(page, `mail-layout-${locale}-360`);
      }
    }
  }
  assert.deepEqual(failures, []);
});

// A long folder name beside its rename field and buttons: the table becomes cards on a phone.
test('the folders page fits a phone too', async () => {
  const owner = await buildUser(w.t.s);
  await w.seed(owner.email, { from: 'x@example.org', to: owner.email, subject: 'x', text: 'x' }, 'Grant applications and their many attachments of 2027');
  const context = await newContext(browser, { locale: 'en', viewport: { width: 360, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.getByLabel('Email address').fill(owner.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // A context without a zone of its own runs in this process's (Chromium inherits TZ).
  await landed(page, Intl.DateTimeFormat().resolvedOptions().timeZone);
  await page.goto(`${url}/mail/folders`);
  assert.ok(await fits(page), await wide(page));
});

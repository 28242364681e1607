import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { fits, launchBrowser, newContext, screenshot, serveApp, SCREENSHOT_DIR, wide, type ServedApp } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import { AppPasswordRepo } from '../src/apppasswords/repo.ts';

let served: ServedApp;
let browser: Browser;
before(async () => {
  served = await serveApp({ MAIL_CLIENT_HOST: 'mail.example.edu' });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await served?.close();
});

/** signIn types the address and password on the login page. */
async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(`${served.url}/login`);
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.locator('button[type=submit].primary').click();
}

for (const locale of ['en', 'zh-CN'] as const) {
  test(`a staff member creates a client-specific password and copies it (${locale})`, async () => {
    const user = await buildUser(served.t.s, { phone: '+8613000130000' });
    const context = await newContext(browser, { locale, permissions: ['clipboard-read', 'clipboard-write'] });
    try {
      const page = await context.newPage();
      await signIn(page, user.email);
      await page.locator('input[name=code]').fill(served.t.s.lastCode());
      await page.locator('form[action="/login/code"] button[type=submit]').click();
      await page.goto(`${served.url}/settings/app-passwords`);
      await page.locator('input[name=name]').fill('iPhone');
      await page.screenshot({ path: join(SCREENSHOT_DIR, `apppasswords-new-${locale}.png`), fullPage: true });
      await page.locator('form[action="/settings/app-passwords"] button[type=submit]').click();
      const shown = (await page.locator('#app-password').innerText()).trim();
      assert.match(shown, /^[a-z2-9]{4} [a-z2-9]{4} [a-z2-9]{4} [a-z2-9]{4}$/);
      const copy = page.locator('button[data-copy]');
      assert.equal(await copy.isVisible(), true, 'the copy button appears with scripts on');
      await copy.click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown.replace(/ /g, ''));
      await page.screenshot({ path: join(SCREENSHOT_DIR, `apppasswords-created-${locale}.png`), fullPage: true });
      await page.locator('a.primary-link').click();
      const list = await page.locator('main').innerText();
      assert.ok(list.includes('iPhone'));
      assert.ok(!list.includes(shown.replace(/ /g, '')), 'the password is gone from the list page');
      assert.ok(!(await page.content()).includes(shown.replace(/ /g, '')));
      await page.screenshot({ path: join(SCREENSHOT_DIR, `apppasswords-list-${locale}.png`), fullPage: true });
      await page.goto(`${served.url}/settings/security`);
      await page.screenshot({ path: join(SCREENSHOT_DIR, `security-overview-${locale}.png`), fullPage: true });
    } finally {
      await context.close();
    }
  });
}

const LABELS = { en: { column: 'Mail app', unknown: 'Not reported' }, 'zh-CN': { column: '客户端软件', unknown: '未提供' } };

for (const locale of ['en', 'zh-CN'] as const) {
  test(`the list of client-specific passwords names each one’s mail app, on a desktop and on a phone (${locale})`, async () => {
    const s = served.t.s;
    const user = await buildUser(s);
    const origin = { ip: '127.0.0.1', userAgent: 'test' };
    const laptop = await s.appPasswords.create(user, { name: 'Laptop', scopes: ['imap', 'smtp'] }, origin);
    const odd = await s.appPasswords.create(user, { name: 'Odd one', scopes: ['imap'] }, origin);
    await s.appPasswords.create(user, { name: 'Unused', scopes: ['smtp'] }, origin);
    // What noteUse and noteClientFrom write, awaited here; the longest name and version a client can leave.
    const repo = new AppPasswordRepo(s.db);
    await repo.updateLastUsed(laptop.row.id, new Date(), '203.0.113.7', 'imap', { name: 'Thunderbird', version: '115.3.1' });
    await repo.updateLastUsed(odd.row.id, new Date(), '2001:db8:1234:5678:9abc:def0:1234:5678', 'imap', { name: 'X'.repeat(64), version: '9'.repeat(64) });

    const context = await newContext(browser, { locale });
    try {
      const page = await context.newPage();
      await signIn(page, user.email);
      await page.waitForURL(`${served.url}/`);
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: width > 600 ? 800 : 844 });
        await page.goto(`${served.url}/settings/app-passwords`);
        const rows = page.locator('table.cards tbody tr');
        assert.equal(await rows.count(), 3);
        const cells = page.locator(`table.cards td[data-label="${LABELS[locale].column}"]`);
        assert.deepEqual(
          (await cells.allInnerTexts()).map((x) => x.trim()),
          ['Thunderbird 115.3.1', `${'X'.repeat(64)} ${'9'.repeat(64)}`, LABELS[locale].unknown],
        );
        if (width > 600) assert.ok((await page.locator('table.cards thead').innerText()).includes(LABELS[locale].column));
        await screenshot(page, `apppasswords-clients-${locale}-${width}`);
        assert.ok(await fits(page), `no sideways scrolling at ${width} px; too wide: ${await wide(page)}`);
      }
    } finally {
      await context.close();
    }
  });
}

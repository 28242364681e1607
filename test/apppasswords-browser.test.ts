import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, newContext, serveApp, SCREENSHOT_DIR, type ServedApp } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';

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

for (const locale of ['en', 'zh-CN'] as const) {
  test(`a staff member creates a client-specific password and copies it (${locale})`, async () => {
    const user = await buildUser(served.t.s, { phone: '+8613000130000' });
    const context = await newContext(browser, { locale, permissions: ['clipboard-read', 'clipboard-write'] });
    try {
      const page = await context.newPage();
      await page.goto(`${served.url}/login`);
      await page.locator('input[name=email]').fill(user.email);
      await page.locator('input[name=password]').fill(PASSWORD);
      await page.locator('button[type=submit].primary').click();
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

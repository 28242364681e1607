import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { fits, launchBrowser, newContext, serveApp, wide, type ServedApp } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';

// Looked at by people, not kept: the settings pages at a phone's width, in both languages.
const SHOTS = '/tmp/shots';

let served: ServedApp;
let browser: Browser;
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  served = await serveApp();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await served?.close();
});

const PAGES = ['/settings/security', '/settings/security/devices', '/settings/app-passwords', '/settings/sharing', '/settings/security/sms', '/settings/security/app', '/settings/security/backup-codes', '/settings/security/email', '/settings/security/hardware', '/settings/password'];

test('every settings page fits a phone (360 and 390 px) in both languages, its tables as cards with their buttons in reach', async () => {
  const user = await buildUser(served.t.s, { phone: '+8613500135000' });
  const origin = { ip: '203.0.113.77', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1' };
  await served.t.s.appPasswords.create(user, { name: 'iPhone Mail on the phone with a rather long name', scopes: ['imap', 'smtp'] }, origin);
  await served.t.s.trusted.trust(user.id, origin.userAgent, origin.ip);
  for (const locale of ['en', 'zh-CN']) {
    for (const width of [360, 390]) {
      const context = await newContext(browser, { locale, viewport: { width, height: 800 } });
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(10_000);
        await page.goto(`${served.url}/login?lang=${locale}`);
        await page.locator('input[name=email]').fill(user.email);
        await page.locator('input[name=password]').fill(PASSWORD);
        await page.locator('form[action="/login"] button[type=submit]').click();
        await page.waitForURL(/\/login\/code/);
        await page.locator('input[name=code]').fill(served.t.s.lastCode());
        await page.locator('form[action="/login/code"] button[type=submit]').click();
        await page.waitForURL(`${served.url}/`);
        for (const path of PAGES) {
          await page.goto(`${served.url}${path}`);
          const tag = `${path.replace(/\W+/g, '-')}-${locale}-${width}`;
          if (width === 390) await page.screenshot({ path: join(SHOTS, `layout${tag}.png`) });
          assert.ok(await fits(page), `${path} fits at ${width} px in ${locale}: ${await wide(page)}`);
          // Every button on the page can be reached without scrolling sideways.
          const outside = await page.evaluate(() => [...document.querySelectorAll('main button')].filter((b) => b.getBoundingClientRect().right > window.innerWidth).length);
          assert.equal(outside, 0, `${path}: buttons beyond the right edge at ${width} px`);
        }
      } finally {
        await context.close();
      }
    }
  }
});

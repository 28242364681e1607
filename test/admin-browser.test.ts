import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { fits, launchBrowser, newContext, serveApp, wide, type ServedApp } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import { hashPassword } from '../src/auth/password.ts';

// Looked at by people, not kept: the console at a phone's width and a desktop's, in both languages.
const SHOTS = '/tmp/shots';

let served: ServedApp;
let browser: Browser;
let adminEmail: string;
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  served = await serveApp();
  browser = await launchBrowser();
  adminEmail = (await buildUser(served.t.s, { admin: true })).email;
  const hash = await hashPassword(PASSWORD);
  await served.t.s.users.saveMany(Array.from({ length: 60 }, (_, i) => ({ email: `staff${String(i).padStart(2, '0')}-with-a-rather-long-address@faculty-of-engineering.example.edu`, displayName: `张伟 Staff ${i}`, passwordHash: hash })));
});
after(async () => {
  await browser?.close();
  await served?.close();
});

/** adminPage signs the administrator in and passes the console's check with the password, in one language at one width. */
async function adminPage(locale: string, width: number): Promise<Page> {
  const context = await newContext(browser, { locale, viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${served.url}/login?lang=${locale}`);
  await page.locator('input[name=email]').fill(adminEmail);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.locator('form[action="/login"] button[type=submit]').click();
  await page.waitForURL(`${served.url}/`);
  await page.goto(`${served.url}/admin/users`);
  assert.match(page.url(), /\/settings\/security\/verify\?/);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.locator('form[action="/settings/security/verify"] button[type=submit]').click();
  await page.waitForURL(`${served.url}/admin/users`);
  return page;
}



test('an administrator finds a user, issues an access pass after a check, and the pages fit a phone in both languages', async () => {
  const lost = await buildUser(served.t.s, { phone: '+8613900139000' });
  for (const locale of ['en', 'zh-CN']) {
    for (const width of [1280, 390]) {
      const page = await adminPage(locale, width);
      try {
        const tag = `${locale}-${width}`;
        await page.screenshot({ path: join(SHOTS, `admin-users-${tag}.png`), fullPage: width > 400 });
        assert.ok(await fits(page), `users page fits at ${tag}: ${await wide(page)}`);
        await page.locator('input[name=q]').fill(lost.email);
        await page.locator('form.admin-search button').click();
        await page.getByRole('link', { name: lost.email }).click();
        await page.waitForURL(`${served.url}/admin/users/${lost.id}`);
        assert.ok(await fits(page), `user page fits at ${tag}`);
        await page.screenshot({ path: join(SHOTS, `admin-user-${tag}.png`), fullPage: width > 400 });
        const recovery = page.locator(`form[action="/admin/users/${lost.id}/access-pass"]`);
        await recovery.locator('input[name=reason]').fill('phone lost; identity checked by call-back');
        await recovery.locator('button[type=submit]').click();
        await page.waitForURL(`${served.url}/admin/secret`);
        const pass = (await page.locator('.secret code').textContent())!.trim();
        assert.match(pass, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]$/);
        assert.ok(await fits(page), `secret page fits at ${tag}`);
        await page.screenshot({ path: join(SHOTS, `admin-pass-${tag}.png`), fullPage: width > 400 });
        await page.reload();
        assert.equal(await page.locator('.secret code').count(), 0, 'shown once');
        await page.goto(`${served.url}/admin/policy`);
        assert.ok(await fits(page), `policy page fits at ${tag}`);
        await page.screenshot({ path: join(SHOTS, `admin-policy-${tag}.png`), fullPage: width > 400 });
        await page.goto(`${served.url}/admin/users/new`);
        assert.ok(await fits(page), `new users page fits at ${tag}`);
        await page.screenshot({ path: join(SHOTS, `admin-new-${tag}.png`), fullPage: width > 400 });
      } finally {
        await page.context().close();
      }
    }
  }
  // The last pass issued is the one that works; the user signs in with it and is asked for a new factor.
  const context = await newContext(browser, { locale: 'en', viewport: { width: 390, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(`${served.url}/login`);
    await page.locator('input[name=email]').fill(lost.email);
    await page.locator('input[name=password]').fill(PASSWORD);
    await page.locator('form[action="/login"] button[type=submit]').click();
    await page.waitForURL(`${served.url}/login/pass`);
    assert.ok(await fits(page));
    await page.screenshot({ path: join(SHOTS, 'login-pass-en-390.png') });
  } finally {
    await context.close();
  }
});

test('an administrator imports hardware tokens, filters the audit log, and every report page fits a phone in both languages', async () => {
  const csv = 'upn,serial number,secret key,time interval,manufacturer,model\n,HW-BROWSER-1,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Feitian,OTP c200\n,HW-BROWSER-2,KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU,60,Feitian,OTP c300\n';
  const file = join(SHOTS, 'tokens.csv');
  (await import('node:fs')).writeFileSync(file, csv);
  let imported = false;
  for (const locale of ['en', 'zh-CN']) {
    for (const width of [1280, 390]) {
      const page = await adminPage(locale, width);
      try {
        const tag = `${locale}-${width}`;
        await page.goto(`${served.url}/admin/tokens`);
        if (!imported) {
          await page.locator('input[type=file][name=file]').setInputFiles(file);
          await page.locator('form[action^="/admin/tokens/import"] button[type=submit]').click();
          await page.waitForURL(/\/admin\/tokens/);
          imported = true;
        }
        assert.match(await page.locator('main').innerText(), /HW-BROWSER-2/);
        assert.ok(await fits(page), `tokens page fits at ${tag}: ${await wide(page)}`);
        await page.screenshot({ path: join(SHOTS, `admin-tokens-${tag}.png`), fullPage: width > 400 });

        await page.goto(`${served.url}/admin/audit`);
        await page.locator('select[name=event]').selectOption('token.imported');
        await page.locator('form.report-filters button[type=submit]').click();
        await page.waitForURL(/event=token\.imported/);
        const rows = await page.locator('main table tbody tr').count();
        assert.ok(rows >= 1, 'the import is in the log');
        assert.doesNotMatch(await page.locator('main table tbody').innerText(), /Account created|创建账号/, 'only the event asked for');
        assert.ok(await fits(page), `audit page fits at ${tag}: ${await wide(page)}`);
        await page.screenshot({ path: join(SHOTS, `admin-audit-${tag}.png`), fullPage: width > 400 });
        for (const report of ['sms', 'mail-logins', 'notices']) {
          await page.goto(`${served.url}/admin/${report}`);
          assert.ok(await fits(page), `${report} page fits at ${tag}: ${await wide(page)}`);
          await page.screenshot({ path: join(SHOTS, `admin-${report}-${tag}.png`), fullPage: width > 400 });
        }
      } finally {
        await page.context().close();
      }
    }
  }
});

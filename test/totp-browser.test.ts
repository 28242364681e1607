import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newContext, serveApp, type ServedApp } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import { TOTP_PERIOD } from '../src/twofactor/totp/totp.ts';

// Looked at by people, not kept: the layout at a phone's width and a desktop's, in both languages.
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

/** tool runs a command-line program and returns what it printed, failing the test if it failed. */
function tool(cmd: string, args: string[]): string {
  const out = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(out.status, 0, `${cmd} failed: ${out.stderr}`);
  return out.stdout.trim();
}

const stepNow = () => Math.floor(Date.now() / 1000 / TOTP_PERIOD);

/** signInWithPassword fills the sign-in form as a person would. */
async function signInWithPassword(page: Page, email: string): Promise<void> {
  await page.goto(`${served.url}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('a person scans the QR code with a real reader, enables the app with its code, and signs in with it', async () => {
  const user = await buildUser(served.t.s);
  const context = await newContext(browser, { locale: 'en' });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await signInWithPassword(page, user.email);
    await page.waitForURL(`${served.url}/`);

    // Adding a factor asks for the password first (the user has no factor yet), then comes back.
    await page.goto(`${served.url}/settings/security/app/new`);
    assert.match(page.url(), /\/settings\/security\/verify\?/);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.locator('form[action="/settings/security/verify"] button[type=submit]').click();
    await page.waitForURL(`${served.url}/settings/security/app/new`);

    // What the phone's camera would see: the QR code as drawn on screen, read by zbarimg.
    const qr = join(SHOTS, 'totp-qr.png');
    await page.locator('#totp-qr').screenshot({ path: qr });
    const uri = tool('zbarimg', ['-q', '--raw', qr]);
    const link = new URL(uri);
    assert.equal(link.protocol, 'otpauth:');
    assert.equal(link.host, 'totp');
    assert.equal(decodeURIComponent(link.pathname), `/${served.t.s.config.SERVICE_NAME}:${user.email}`);
    assert.equal(link.searchParams.get('issuer'), served.t.s.config.SERVICE_NAME);
    const secret = link.searchParams.get('secret')!;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const shown = (await page.locator('#totp-key').innerText()).replace(/\s+/g, '');
    assert.equal(shown, secret, 'the key for typing by hand is the one in the QR code');

    const enabledStep = stepNow();
    await page.getByLabel('Name').fill('Browser phone');
    await page.getByLabel('Code from the app').fill(tool('oathtool', ['--totp', '-b', secret]));
    await page.getByRole('button', { name: 'Verify and add' }).click();
    // The first factor brings backup codes, shown once on their own page.
    await page.waitForURL(`${served.url}/settings/security/backup-codes/new`);
    await page.screenshot({ path: join(SHOTS, 'totp-backup-codes-en.png'), fullPage: true });
    await page.goto(`${served.url}/settings/security/app`);
    assert.match(await page.locator('main').innerText(), /Browser phone/);
    assert.equal((await served.t.s.totp.list(user.id)).length, 1);

    await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
    await signInWithPassword(page, user.email);
    await page.waitForURL(`${served.url}/login/code`);
    // The code that enabled the app is spent; a phone would show the next one 30 s later at most.
    while (stepNow() <= enabledStep) await page.waitForTimeout(250);
    await page.locator('input[name=code]').fill(tool('oathtool', ['--totp', '-b', secret]));
    await page.locator('form[action="/login/code"] button[type=submit]').first().click();
    await page.waitForURL(`${served.url}/`);

    // Signing in with the app is a fresh proof: the setup page opens without another check.
    for (const locale of ['en', 'zh-CN'] as const) {
      for (const width of [390, 1280]) {
        await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
        await page.goto(`${served.url}/settings/security/app/new?lang=${locale}`);
        assert.match(page.url(), /\/settings\/security\/app\/new/);
        const scroll = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(scroll <= 0, `nothing runs off the side at ${width} px (${locale}): ${scroll} px`);
        const box = await page.locator('#totp-qr').boundingBox();
        assert.ok(box && box.width <= 240 && box.width >= 160, `the QR code is ${box?.width} px wide at ${width} px`);
        await page.screenshot({ path: join(SHOTS, `totp-new-${locale}-${width}.png`), fullPage: true });
        await page.goto(`${served.url}/settings/security/app?lang=${locale}`);
        await page.screenshot({ path: join(SHOTS, `totp-list-${locale}-${width}.png`), fullPage: true });
      }
    }
  } finally {
    await context.close();
  }
});

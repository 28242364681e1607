import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, serveApp, type ServedApp } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';

/*
 * A person in Chromium: signs in with password and texted code, trusts the
 * browser, comes back without a code, cancels the trust from the devices
 * page, and is asked for a code again. Every check reads what the page shows.
 */


let web: ServedApp;
let browser: Browser;
const contexts: BrowserContext[] = [];
const shots: string[] = [];

before(async () => {
  [web, browser] = await Promise.all([serveApp(), launchBrowser()]);
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await web?.close();
  if (shots.length) console.log(`screenshots:\n  ${shots.join('\n  ')}`);
});

function open(locale: string): Promise<Page> {
  return openPage(browser, contexts, locale);
}

/** visible is the text a person sees on the page, whitespace collapsed. */
async function visible(page: Page): Promise<string> {
  return (await page.locator('body').innerText()).replace(/\s+/g, ' ');
}

async function shot(page: Page, name: string): Promise<void> {
  shots.push(await screenshot(page, name));
}

/** signInWithPassword fills the login form as a person would and waits for wherever it leads. */
async function signInWithPassword(page: Page, email: string, labels = { email: 'Email address', password: 'Password', submit: 'Sign in' }): Promise<void> {
  await page.goto(`${web.url}/login`);
  await page.getByLabel(labels.email).fill(email);
  await page.getByLabel(labels.password).fill(PASSWORD);
  await page.getByRole('button', { name: labels.submit, exact: true }).click();
  await page.waitForURL((u) => u.pathname !== '/login').catch(async () => {
    throw new Error(`sign-in did not leave the login page; it reads: ${await visible(page)}`);
  });
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.pathname === '/login');
  assert.match(await visible(page), /Sign in to Postern/);
}

describe('in a browser', () => {
  test('the login page cannot be framed by another site', async () => {
    const page = await open('en-US');
    const res = await page.goto(`${web.url}/login`);
    const csp = res!.headers()['content-security-policy'] ?? '';
    assert.match(csp, /(^|;)\s*frame-ancestors 'none'\s*(;|$)/);

    // And the browser enforces it: a page elsewhere that frames the login form gets nothing.
    await page.route('http://framer.test/', (route) =>
      route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>framer</title><iframe src="${web.url}/login" width="600" height="400"></iframe>` }),
    );
    await page.goto('http://framer.test/');
    const frame = await (await page.waitForSelector('iframe')).contentFrame();
    await frame!.waitForLoadState('load');
    assert.equal(frame!.url(), 'chrome-error://chromewebdata/', 'Chromium refuses to show the login page in a frame');
    assert.equal(await frame!.getByLabel('Password').count(), 0);
  });

  test('password and code, trust the browser, skip the code, cancel the trust, code again', async () => {
    const user = await buildUser(web.t.s, { phone: '+8613800138000' });
    const page = await open('en-US');

    // First visit: the login page.
    await page.goto(`${web.url}/login`);
    await page.getByRole('heading', { name: 'Sign in to Postern' }).waitFor();
    await shot(page, 'login-en');

    // Password, then the code page.
    await signInWithPassword(page, user.email);
    assert.equal(new URL(page.url()).pathname, '/login/code');
    await page.getByRole('heading', { name: 'Enter the code we texted you' }).waitFor();
    assert.match(await visible(page), /We sent a 6-digit code by text message to \+86 138\*\*\*\*8000\./);
    await shot(page, 'code-en');

    // The code from the text message, and "trust this device".
    await page.getByLabel('Verification code').fill(web.t.s.lastCode('+8613800138000'));
    const trust = page.getByLabel(/Trust this device for 7 days/);
    await trust.check();
    assert.equal(await trust.isChecked(), true);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    assert.match(await visible(page), /Welcome, user/);
    assert.match(await visible(page), new RegExp(user.email.replace(/[.+]/g, '\\$&')));

    // Sign out, then back in: this browser is trusted, so no code.
    await signOut(page);
    const textsBefore = web.t.s.texts.length;
    await signInWithPassword(page, user.email);
    assert.equal(new URL(page.url()).pathname, '/', 'a trusted browser goes straight home');
    assert.match(await visible(page), /Welcome, user/);
    assert.doesNotMatch(await visible(page), /verification code/i);
    assert.equal(web.t.s.texts.length, textsBefore, 'no text was sent');

    // Settings → Security shows the trusted browser…
    await page.getByRole('banner').getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL((u) => u.pathname === '/settings/security');
    await page.getByRole('heading', { name: 'Security', level: 1 }).waitFor();
    assert.match(await visible(page), /Two-step verification On .*Codes go by text message to \+86 138\*\*\*\*8000\./);
    assert.match(await visible(page), /Trusted browsers that skip the code: 1\./);
    await shot(page, 'security-en');

    // …and Login devices lists it by name.
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Login devices' }).click();
    await page.waitForURL((u) => u.pathname === '/settings/security/devices');
    const rows = page.locator('table tbody tr');
    assert.equal(await rows.count(), 1);
    const row = await rows.first().innerText();
    const name = row.match(/Chrom(?:e|ium) on Linux/)?.[0];
    assert.ok(name, `device row reads "${row}"`);
    assert.match(row, /127\.0\.0\.1/);
    await shot(page, 'devices-en');

    // The language link switches the page to Chinese, and the choice sticks.
    await page.getByRole('link', { name: '中文' }).click();
    await page.waitForURL((u) => u.searchParams.get('lang') === 'zh-CN');
    await page.getByRole('heading', { name: '登录设备查询' }).waitFor();
    assert.match(await visible(page), /取消可信任/);
    assert.doesNotMatch(await visible(page), /Cancel trust|Login devices/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    await shot(page, 'devices-zh-CN');
    await page.getByRole('navigation', { name: '设置' }).getByRole('link', { name: '安全设置' }).click();
    await page.waitForURL((u) => u.pathname === '/settings/security');
    assert.match(await visible(page), /1 个浏览器已设为可信任，登录时免输验证码。/);
    await shot(page, 'security-zh-CN');
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Security', level: 1 }).waitFor();

    // Cancel the trust.
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Login devices' }).click();
    await page.waitForURL((u) => u.pathname === '/settings/security/devices');
    await page.getByRole('button', { name: 'Cancel trust', exact: true }).click();
    await page.getByText(`Trust cancelled for ${name}.`).waitFor();
    assert.match(await visible(page), /No trusted browsers\./);
    assert.equal(await page.locator('table tbody tr').count(), 0);

    // Signed out and back in, the browser is asked for a code again.
    await signOut(page);
    await signInWithPassword(page, user.email);
    assert.equal(new URL(page.url()).pathname, '/login/code');
    await page.getByRole('heading', { name: 'Enter the code we texted you' }).waitFor();
    assert.match(await visible(page), /We sent a 6-digit code by text message to \+86 138\*\*\*\*8000\./);
    assert.equal(web.t.s.texts.length, textsBefore + 1, 'a new code was texted');
  });

  test('a Chinese browser gets the Chinese login and code pages', async () => {
    const user = await buildUser(web.t.s, { phone: '+8613800138009' });
    const page = await open('zh-CN');
    await page.goto(`${web.url}/login`);
    await page.getByRole('heading', { name: '登录 Postern' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    await shot(page, 'login-zh-CN');

    await signInWithPassword(page, user.email, { email: '邮箱地址', password: '密码', submit: '登录' });
    assert.equal(new URL(page.url()).pathname, '/login/code');
    await page.getByRole('heading', { name: '输入短信验证码' }).waitFor();
    assert.match(await visible(page), /6 位验证码已通过短信发送至 \+86 138\*\*\*\*8009。/);
    await shot(page, 'code-zh-CN');

    await page.getByLabel('验证码', { exact: true }).fill(web.t.s.lastCode('+8613800138009'));
    await page.getByRole('button', { name: '验证' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    assert.match(await visible(page), /欢迎，user/);
  });
});

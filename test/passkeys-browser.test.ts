import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { launchBrowser, newContext, screenshot } from './helpers/browser.ts';
import { startApp, type TestApp } from './helpers/app.ts';
import { freePort } from './harness/ports.ts';
import { buildUser, eventsOf, PASSWORD } from './helpers/factories.ts';

/**
 * Real Chromium with its virtual authenticator (CTAP2, built in, resident
 * keys, user verification): the WebAuthn library from public/vendor, the
 * page's script, the CSP and the server together. WebAuthn needs a secure
 * context, so the app is reached as http://localhost:<port>, PUBLIC_URL
 * the same origin.
 */
let t: TestApp;
let server: Server;
let url: string;
let browser: Browser;
before(async () => {
  const port = await freePort();
  url = `http://localhost:${port}`;
  t = await startApp({ PUBLIC_URL: url });
  server = await new Promise<Server>((resolve, reject) => {
    const srv = t.app.listen(port, '127.0.0.1', () => resolve(srv));
    srv.once('error', reject);
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await t?.close();
});

/** withAuthenticator gives the page a platform authenticator that answers at once, as a fingerprint would. */
async function withAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

async function signInWithPassword(page: Page, email: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.locator('form[action="/login"] button[type=submit]').click();
}

async function signOut(page: Page): Promise<void> {
  await page.locator('form[action="/logout"] button').first().click();
  await page.waitForURL(`${url}/login`);
}

/** shoot saves the page at a desktop's and a phone's width, and checks nothing scrolls sideways. */
async function shoot(page: Page, name: string): Promise<void> {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 800 });
    await screenshot(page, `passkeys-${name}-${width}`);
    const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    assert.ok(fits, `${name} at ${width}px scrolls sideways`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

for (const locale of ['en', 'zh-CN'] as const) {
  test(`${locale}: a person adds a passkey after the password, signs in with password + key, then with the passkey alone; removed, it fails`, async () => {
    const zh = locale === 'zh-CN';
    const user = await buildUser(t.s, { phone: zh ? '+8613500135201' : '+8613500135202' });
    const contexts: BrowserContext[] = [];
    try {
      const context = await newContext(browser, { locale });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      // The refused sign-in page comes with status 401, which the console notes; anything else is a fault.
      page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 401') && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      const { cdp, authenticatorId } = await withAuthenticator(page);

      // The phone is the user's factor: the password, then the texted code.
      await signInWithPassword(page, user.email);
      await page.waitForURL(`${url}/login/code`);
      await page.locator('input[name=code]').fill(t.s.lastCode());
      await page.locator('form[action="/login/code"] button[type=submit]').click();
      await page.waitForURL(`${url}/`);

      // Adding a key needs a fresh factor: the code just typed at sign-in is one, for ten minutes.
      await page.goto(`${url}/settings/security`);
      await page.locator('a[href="/settings/security/passkeys"]').click();
      await page.locator('a[href="/settings/security/passkeys/new"]').click();
      await page.waitForURL(`${url}/settings/security/passkeys/new`);
      await shoot(page, `new-${locale}`);
      await page.locator('input[name=name]').fill(zh ? '工作笔记本' : 'Work laptop');
      await page.locator('form[data-webauthn="register"] button[type=submit]').click();
      await page.waitForURL(/\/settings\/security\/(passkeys|backup-codes\/new)$/);
      await page.goto(`${url}/settings/security/passkeys`);
      const list = await page.locator('main').innerText();
      assert.ok(list.includes(zh ? '工作笔记本' : 'Work laptop'), list);
      assert.ok(list.includes(zh ? '通行密钥' : 'Passkey'), 'a resident key is listed as a passkey');
      assert.ok(list.includes(zh ? '本设备' : 'This device'), 'its transport, as the browser reported it');
      await shoot(page, `list-${locale}`);
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1);
      assert.equal(credentials[0]!.isResidentCredential, true);
      const [stored] = await t.s.webauthn.list(user.id);
      assert.equal(stored!.credentialId, credentials[0]!.credentialId.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));

      // Password + key: the key is offered first, and "use another way" still reaches the phone.
      await signOut(page);
      await signInWithPassword(page, user.email);
      await page.waitForURL(`${url}/login/code`);
      const step = await page.locator('main').innerText();
      assert.ok(step.includes(zh ? '使用安全密钥 / 通行密钥' : 'Use your security key / passkey'), step);
      await page.locator('details.other-ways summary').click();
      assert.ok((await page.locator('details.other-ways').innerText()).includes(zh ? '短信验证码' : 'Text message'));
      await shoot(page, `code-${locale}`);
      await page.goto(`${url}/login/methods`);
      assert.ok((await page.locator('main').innerText()).includes(zh ? '安全密钥或通行密钥' : 'Security key or passkey'));
      await page.goto(`${url}/login/code`);
      await page.locator('form[data-webauthn="authenticate"] button[type=submit]').click();
      await page.waitForURL(`${url}/`);

      // Step-up with the key.
      await page.goto(`${url}/settings/security/verify?next=%2Fsettings%2Fsecurity%2Fpasskeys&need=factors`);
      await shoot(page, `verify-${locale}`);
      await page.locator('form[data-webauthn="authenticate"] button[type=submit]').click();
      await page.waitForURL(`${url}/settings/security/passkeys`);

      // The passkey alone, from the login page.
      await signOut(page);
      await shoot(page, `login-${locale}`);
      await page.locator('form[action="/login/passwordless"] button[type=submit]').click();
      await page.waitForURL(`${url}/`);
      assert.equal((await eventsOf(t.s, user.id)).filter((e) => e.event === 'login.ok').at(-1)?.details?.via, 'passkey');

      // Removed on the server (fresh from that sign-in), still in the authenticator: it no longer signs in.
      await page.goto(`${url}/settings/security/passkeys`);
      await page.locator('form[action$="/remove"] button').click();
      await page.waitForURL(`${url}/settings/security/passkeys`);
      assert.deepEqual(await t.s.webauthn.list(user.id), []);
      assert.equal((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length, 1, 'the authenticator still holds it');
      await signOut(page);
      await page.locator('form[action="/login/passwordless"] button[type=submit]').click();
      await page.waitForURL(`${url}/login/passwordless`);
      const refused = await page.locator('main').innerText();
      assert.ok(refused.includes(zh ? '通行密钥登录未成功' : 'Signing in with a passkey did not work'), refused);
      await shoot(page, `refused-${locale}`);
      assert.deepEqual(errors, [], 'no script errors, no CSP refusals');
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });
}

for (const locale of ['en', 'zh-CN'] as const) {
  test(`${locale}: a person held for forced two-step enrolment adds a passkey there and goes on`, async () => {
    const zh = locale === 'zh-CN';
    const user = await buildUser(t.s, { require2fa: true });
    const context = await newContext(browser, { locale });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await withAuthenticator(page);
      await signInWithPassword(page, user.email);
      await page.waitForURL(`${url}/account-security`);
      await shoot(page, `enroll-choices-${locale}`);
      await page.locator('a[href="/account-security/passkey"]').click();
      await page.waitForURL(`${url}/account-security/passkey`);
      assert.ok((await page.locator('main').innerText()).includes(zh ? '管理员要求开启二次验证' : 'Your administrator requires two-step verification'));
      await shoot(page, `enroll-new-${locale}`);
      await page.locator('input[name=name]').fill(zh ? '我的手机' : 'My phone');
      await page.locator('form[data-webauthn="register"] button[type=submit]').click();
      // A first factor: the backup codes, shown once, then on to the start page.
      await page.waitForURL(`${url}/settings/security/backup-codes/new`);
      assert.deepEqual((await t.s.webauthn.list(user.id)).map((k) => k.name), [zh ? '我的手机' : 'My phone']);
      await page.goto(`${url}/`);
      assert.equal(new URL(page.url()).pathname, '/', 'no longer held');
      assert.deepEqual(errors, [], 'no script errors, no CSP refusals');
    } finally {
      await context.close();
    }
  });
}

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fits, openPage, screenshot, wide } from './helpers/browser.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import type { MailWorld } from './helpers/mail.ts';
import { startBrowserMailWorld, type BrowserMailWorld } from './helpers/mail-browser.ts';

/*
 * A person writes mail in Chromium: formats text in the editor, picks a
 * recipient from the suggestions with the keyboard, and leaves a message
 * to autosave with a file attached. Screenshots of the compose page (en
 * and zh-CN, desktop and phone) and of the signature settings go to
 * test-results/screenshots.
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

const EN = { email: 'Email address', password: 'Password', submit: 'Sign in' };
const ZH = { email: '邮箱地址', password: '密码', submit: '登录' };

async function signIn(locale: string, email: string, labels = locale === 'zh-CN' ? ZH : EN, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await openPage(browser, contexts, locale);
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(`${url}/login`);
  await page.getByLabel(labels.email).fill(email);
  await page.getByLabel(labels.password).fill(PASSWORD);
  await page.getByRole('button', { name: labels.submit, exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/mail');
  // The list reports the browser's time zone once and reloads: let that settle before going elsewhere.
  await page.waitForLoadState('networkidle');
  return page;
}

/** colleague makes a Postern user the suggestions can offer. */
async function colleague(name: string) {
  const u = await buildUser(w.t.s);
  await w.t.s.users.update(u.id, { displayName: name });
  return u;
}

describe('writing mail in a browser', () => {
  test('bold and a list in the editor, a recipient picked with the keyboard: the sink gets multipart/alternative', async () => {
    const user = await buildUser(w.t.s);
    const zhang = await colleague('Zhang Wei');
    const zhao = await colleague('Zhao Min');
    const page = await signIn('en-US', user.email);
    await page.goto(`${url}/mail/compose`);
    const to = page.locator('input[name="to"]');
    await to.pressSequentially('zh');
    const options = page.getByRole('option');
    await options.nth(1).waitFor();
    assert.deepEqual((await options.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')).sort(), [`Zhang Wei ${zhang.email}`, `Zhao Min ${zhao.email}`].sort());
    const selected = async () => (await page.locator('[role="option"][aria-selected="true"]').innerText()).replace(/\s+/g, ' ');
    const firstOne = await selected();
    await to.press('ArrowDown');
    assert.notEqual(await selected(), firstOne, '↓ moves the choice');
    await to.press('ArrowUp');
    assert.equal(await selected(), firstOne, '↑ moves it back');
    if (!(await selected()).startsWith('Zhang')) await to.press('ArrowDown');
    await to.press('Enter');
    assert.equal(await to.inputValue(), `Zhang Wei <${zhang.email}>, `);
    assert.equal(await options.count(), 0, 'the list closed');
    // Esc closes it without picking.
    await to.pressSequentially('zha');
    await options.first().waitFor();
    await to.press('Escape');
    assert.equal(await page.locator('#compose-suggest-to').isVisible(), false);
    await to.fill(`Zhang Wei <${zhang.email}>`);

    await page.getByLabel('Subject').fill('Formatted');
    assert.equal(await page.locator('textarea[name="body"]').isVisible(), false, 'the editor replaces the text box');
    const editor = page.getByRole('textbox', { name: 'Message' });
    await editor.click();
    await page.keyboard.type('Hello ');
    await page.getByRole('button', { name: 'Bold' }).click();
    await page.keyboard.type('world');
    await page.getByRole('button', { name: 'Bold' }).click();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Bulleted list' }).click();
    await page.keyboard.type('one');
    await page.keyboard.press('Enter');
    await page.keyboard.type('two');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Message sent.').waitFor();

    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Formatted');
    assert.match(got.raw.toString(), /Content-Type: multipart\/alternative/);
    assert.match(got.parsed.html as string, /Hello <b>world<\/b>/);
    assert.match(got.parsed.html as string, /<ul><li>one<\/li><li>two<\/li><\/ul>/);
    assert.match(got.parsed.text ?? '', /Hello world\n\* one\n\* two/);
    assert.deepEqual(got.to, [zhang.email]);
  });

  test('autosave files the message in Drafts with its attachment; the file input empties and the send carries the file once', async () => {
    const user = await buildUser(w.t.s);
    const page = await signIn('en-US', user.email);
    await page.goto(`${url}/mail/compose`);
    // The page states its interval; a short one here, instead of 30 s.
    assert.equal(await page.locator('form[data-compose]').getAttribute('data-autosave-ms'), '30000');
    await page.locator('form[data-compose]').evaluate((f) => f.setAttribute('data-autosave-ms', '400'));
    await page.locator('input[name="to"]').fill('later@example.org');
    await page.getByLabel('Subject').fill('Autosaved in a browser');
    await page.getByRole('textbox', { name: 'Message' }).click();
    await page.keyboard.type('First draft of the text.');
    await page.locator('input[type="file"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('my notes') });
    await page.getByText(/Draft saved at/).waitFor();
    await page.locator('.mail-kept').getByText('notes.txt').waitFor();
    assert.equal(await page.locator('input[type="file"]').evaluate((i) => (i as HTMLInputElement).files!.length), 0);
    const first = await w.uidsIn(user.email, 'Drafts');
    assert.equal(first.length, 1);
    assert.equal(await page.locator('input[name="draftUid"]').inputValue(), String(first[0]));

    // More typing: the next autosave replaces the copy, with the file still once.
    const saved = await page.locator('form[data-compose]').getAttribute('data-saved-uid');
    // In one input event: typed key by key, an autosave could land between two words.
    await page.keyboard.insertText(' And a second sentence.');
    await page.waitForFunction((uid) => document.querySelector('form[data-compose]')!.getAttribute('data-saved-uid') !== uid, saved);
    const drafts = await w.sourcesIn(user.email, 'Drafts');
    assert.equal(drafts.length, 1);
    const copy = await simpleParser(drafts[0]!);
    assert.match(copy.text ?? '', /And a second sentence\./);
    assert.deepEqual(copy.attachments.map((a) => a.filename), ['notes.txt']);
    assert.match(copy.html as string, /First draft of the text\. And a second sentence\./);

    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Message sent.').waitFor();
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Autosaved in a browser');
    assert.deepEqual(got.parsed.attachments.map((a) => a.filename), ['notes.txt']);
    assert.deepEqual(await w.uidsIn(user.email, 'Drafts'), []);
  });

  test('a reply can switch to plain text: the quote keeps its "> " and the message goes out as text only', async () => {
    const user = await buildUser(w.t.s);
    const uid = await w.seed(user.email, { from: 'Ann <ann@example.org>', to: user.email, subject: 'Plain please', html: '<p>Line <b>one</b></p><p>Line two</p>', text: 'Line one\n\nLine two' });
    const page = await signIn('en-US', user.email);
    await page.goto(`${url}/mail/compose?mode=reply&folder=INBOX&uid=${uid}`);
    await page.getByRole('textbox', { name: 'Message' }).locator('blockquote').waitFor();
    await page.keyboard.type('Typed in the editor.');
    await page.getByRole('button', { name: 'Plain text' }).click();
    const body = page.locator('textarea[name="body"]');
    assert.match(await body.inputValue(), /^Typed in the editor\.\n\nOn .* wrote:\n\n> Line one\n>\n> Line two$/);
    assert.equal(await page.getByRole('button', { name: 'Bold' }).isVisible(), false);
    await body.press('Control+Home');
    await body.pressSequentially('Plain: ');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Message sent.').waitFor();
    const got = await w.sink.waitFor((m) => m.parsed.subject === 'Re: Plain please');
    assert.equal(got.parsed.html, false);
    assert.match(got.parsed.text ?? '', /^Plain: Typed in the editor\./);
    assert.match(got.parsed.text ?? '', /> Line two/);
  });

  test('screenshots: compose with the toolbar and suggestions open (en, zh-CN; 1280 and 390 px) and the signature page', async () => {
    const user = await buildUser(w.t.s);
    await w.t.s.users.update(user.id, { displayName: 'Ada Chen' });
    await colleague('Liu Yang');
    await colleague('刘洋');
    await w.t.s.mail.signatures.save((await w.t.s.users.load(user.id))!, user.email, 'html', '<b>Ada Chen</b><br>Research Office · <a href="https://example.edu">example.edu</a>');
    for (const [locale, width] of [['en-US', 1280], ['zh-CN', 1280], ['en-US', 390], ['zh-CN', 390]] as const) {
      const page = await signIn(locale, user.email, undefined, { width, height: width > 600 ? 860 : 844 });
      await page.goto(`${url}/mail/compose`);
      await page.getByRole('toolbar').waitFor();
      await page.locator('input[name="subject"]').fill(locale === 'zh-CN' ? '下周组会安排' : 'Plans for next week');
      await page.locator('.compose-editor').click({ position: { x: 200, y: 200 } });
      await page.keyboard.type(locale === 'zh-CN' ? '各位好，' : 'Hello all,');
      await page.locator('input[name="to"]').pressSequentially(locale === 'zh-CN' ? '刘' : 'li');
      await page.getByRole('option').first().waitFor();
      assert.ok(await fits(page), `${locale} ${width}: ${await wide(page)}`);
      await screenshot(page, `mail-compose-${locale === 'zh-CN' ? 'zh-CN' : 'en'}-${width}`);
    }
    const page = await signIn('zh-CN', user.email);
    await page.goto(`${url}/settings/signature`);
    await page.getByRole('heading', { name: '邮件签名' }).waitFor();
    assert.equal(await page.locator('textarea[name="signature"]').inputValue(), '<b>Ada Chen</b><br />Research Office · <a href="https://example.edu">example.edu</a>');
    await screenshot(page, 'settings-signature-zh-CN');
    const en = await signIn('en-US', user.email, EN, { width: 390, height: 844 });
    await en.goto(`${url}/settings/signature`);
    assert.ok(await fits(en), await wide(en));
    await screenshot(en, 'settings-signature-en-390');
  });
});

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import type { ServiceOverrides } from '../../src/services.ts';
import { startApp, type TestApp } from './app.ts';

/** The Debian package's browser; nothing is downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go: git-ignored, kept after the run for people to look at. */
export const SCREENSHOT_DIR = join('test-results', 'screenshots');

/** launchBrowser starts headless Chromium with everything that phones home switched off. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * desktopUserAgent is the user agent the headless browser would send if it
 * had a window: "HeadlessChrome/x" becomes "Chrome/x", so pages see what a
 * person's desktop Chromium sends.
 */
export async function desktopUserAgent(browser: Browser): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const ua = await page.evaluate(() => navigator.userAgent);
    return ua.replace('HeadlessChrome/', 'Chrome/');
  } finally {
    await context.close();
  }
}

/** newContext opens a fresh browser profile (own cookies) with a desktop user agent and window size. */
export async function newContext(browser: Browser, opts: BrowserContextOptions = {}): Promise<BrowserContext> {
  return browser.newContext({
    userAgent: await desktopUserAgent(browser),
    viewport: { width: 1280, height: 800 },
    ...opts,
  });
}

/** openPage opens a page in a new profile for `locale`, remembering the context so the test can close it. */
export async function openPage(browser: Browser, contexts: BrowserContext[], locale: string): Promise<Page> {
  const context = await newContext(browser, { locale });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

export interface ServedApp {
  /** The running test app: its services (captured texts, store) and helpers. */
  t: TestApp;
  server: Server;
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/** serveApp runs the app from startApp on a real socket at 127.0.0.1 on a free port. */
export async function serveApp(env: Record<string, string> = {}, overrides: ServiceOverrides = {}): Promise<ServedApp> {
  const t = await startApp(env, overrides);
  const server = await new Promise<Server>((resolve, reject) => {
    const srv = t.app.listen(0, '127.0.0.1', () => resolve(srv));
    srv.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    t,
    server,
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    },
  };
}

/** screenshot saves a full-page PNG under test-results/screenshots and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** fits tells whether the page needs no sideways scrolling. */
export const fits = (page: Page): Promise<boolean> => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

/** wide names the elements wider than the window, for a failure message. */
export const wide = (page: Page): Promise<string> =>
  page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5)
      .map((e) => `${e.tagName}.${e.className}`)
      .join(', '),
  );

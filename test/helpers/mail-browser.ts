import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { startMailWorld, type MailWorld } from './mail.ts';

/** BrowserMailWorld is a mail world (Postern, Dovecot, SMTP sink) served on a real port, with Chromium to visit it. */
export interface BrowserMailWorld {
  w: MailWorld;
  browser: Browser;
  url: string;
  /** Contexts a test opens; close() closes them. */
  contexts: BrowserContext[];
  close(): Promise<void>;
}

/** startBrowserMailWorld starts the mail world and Chromium side by side and serves the app on a free 127.0.0.1 port. */
export async function startBrowserMailWorld(): Promise<BrowserMailWorld> {
  const [w, browser] = await Promise.all([startMailWorld(), launchBrowser()]);
  const server = await new Promise<Server>((resolve) => {
    const srv = w.t.app.listen(0, '127.0.0.1', () => resolve(srv));
  });
  const contexts: BrowserContext[] = [];
  return {
    w,
    browser,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    contexts,
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await w.close();
    },
  };
}

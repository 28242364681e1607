import type { Express } from 'express';
import { createApp } from '../../src/http/app.ts';
import type { ServiceOverrides } from '../../src/services.ts';
import { startServices, type TestServices } from './services.ts';
import { WebClient } from './client.ts';
import { PASSWORD } from './factories.ts';

export interface TestApp {
  s: TestServices;
  app: Express;
  client(headers?: Record<string, string>): WebClient;
  /** signIn logs a client in with the password and, when a phone is bound, the texted code. */
  signIn(email: string, opts?: { trust?: boolean; client?: WebClient }): Promise<WebClient>;
  /** stepUp passes the fresh check of the verify page: the password for a user without a factor, else a texted code. */
  stepUp(c: WebClient, next?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startApp(env: Record<string, string> = {}, overrides: ServiceOverrides = {}): Promise<TestApp> {
  const s = await startServices(env, overrides);
  const app = createApp(s);
  const client = (headers: Record<string, string> = {}) => new WebClient(app, { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36', ...headers });
  return {
    s,
    app,
    client,
    signIn: (email, opts = {}) => signInWith(s, opts.client ?? client(), email, opts),
    async stepUp(c, next = '/settings/security') {
      const page = await c.get(`/settings/security/verify?next=${encodeURIComponent(next)}`);
      let res;
      const factor = page.text.match(/name="factor" value="(\w+)"/)?.[1];
      if (/name="password"/.test(page.text)) res = await c.post('/settings/security/verify', { password: PASSWORD, next });
      else if (factor === 'sms') {
        await c.post('/settings/security/verify/send', { next, factor });
        res = await c.post('/settings/security/verify', { code: s.lastCode(), next, factor });
      } else throw new Error(`stepUp: the verify page asks for ${factor}; prove it in the test`);
      // A form posted before the check waits on the continue page; tests that want it read it themselves.
      if (res.status !== 303 || (res.headers.location !== next && res.headers.location !== '/settings/security/continue')) throw new Error(`step-up failed: ${res.status}`);
      if (res.headers.location === '/settings/security/continue') await c.get('/settings/security/continue');
      await c.get(next);
    },
    close: () => s.close(),
  };
}

/** signInWith logs a client in with the password and, when a phone is bound, the texted code. */
export async function signInWith(s: TestServices, c: WebClient, email: string, opts: { trust?: boolean } = {}): Promise<WebClient> {
  await c.get('/login');
  const res = await c.post('/login', { email, password: PASSWORD });
  if (res.headers.location === '/login/code') {
    await c.get('/login/code');
    const done = await c.post('/login/code', { code: s.lastCode(), ...(opts.trust ? { trust: 'on' } : {}) });
    if (done.status !== 303) throw new Error(`code step failed: ${done.status}`);
  } else if (res.status !== 303) {
    throw new Error(`password step failed: ${res.status}`);
  }
  await c.get('/');
  return c;
}

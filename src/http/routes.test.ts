import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf, type WebClient } from '../../test/helpers/client.ts';
import { collectRoutes, concrete, type RouteInfo } from '../../test/helpers/routes.ts';

/**
 * The route table is the security map. These tests read it from the
 * running application itself, so a route added without its guard, or a
 * form outside the CSRF check, fails here without anyone listing it.
 */

let t: TestApp;
before(async () => {
  t = await startApp({ MAILAUTH_SECRET: 'mailauth-secret-for-tests', MAIL_MASTER_USER: 'postern', MAIL_MASTER_PASSWORD: 'master-secret' });
});
after(() => t.close());

/** The guards a route may start with; each names the state it admits. */
const GUARDS = new Set(['guest', 'pending2fa', 'enroll', 'session', 'mailauthSecret']);
/** What may stand between the first guard and the handler: narrower guards, then body parsers that run only once admitted. */
const NEXT_STEPS = /^(admin|allowed:(webauthn|totp|hardware|sms|email)|elevated:(factors|sensitive)|mailbox:(view|flag|delete|move|send|owner)|uploads|csvUpload|urlencodedParser|textParser)$/;

/** Routes that need no guard, and why. */
const UNGUARDED: Record<string, string> = {
  'POST /logout': 'anyone may end their own session, whatever state it is in',
  'GET /healthz': 'load balancers ask whether the database answers; it tells nothing else',
  'GET /.well-known/autoconfig/mail/config-v1.1.xml': 'public client settings, as every mail provider publishes them',
  'GET /mail/config-v1.1.xml': 'the same settings at the path Thunderbird also tries',
};

/** GET routes allowed to change stored state, and why. (None today.) */
const GET_WRITES: Record<string, string> = {};

const key = (r: RouteInfo, method: string) => `${method} ${r.path}`;

describe('the route table', () => {
  test('every route starts with a named guard, or is listed as public with its reason', () => {
    const { routes } = collectRoutes(t.app);
    assert.ok(routes.length > 40, `found ${routes.length} routes`);
    const missing: string[] = [];
    for (const r of routes) {
      for (const method of r.methods) {
        if (UNGUARDED[key(r, method)]) continue;
        const [first, ...rest] = r.handlers;
        const steps = rest.slice(0, -1);
        if (!GUARDS.has(first!)) missing.push(`${key(r, method)}: starts with ${first}`);
        else if (r.handlers.at(-1) !== 'handler') missing.push(`${key(r, method)}: does not end in a handler wrapped by h()`);
        else for (const step of steps) if (!NEXT_STEPS.test(step)) missing.push(`${key(r, method)}: ${step} is neither a guard nor a parser`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('every form route sits behind the CSRF check; only the mail-login endpoints, guarded by their secret, do not', () => {
    const { routes, csrfAt } = collectRoutes(t.app);
    assert.ok(csrfAt > 0, 'the CSRF middleware is mounted');
    const outside: string[] = [];
    for (const r of routes) {
      for (const method of r.methods.filter((m) => m !== 'GET' && m !== 'HEAD')) {
        if (r.mount === '/mailauth') {
          if (r.handlers[0] !== 'mailauthSecret') outside.push(`${key(r, method)} lacks the mailauthSecret guard`);
        } else if (r.at < csrfAt) outside.push(`${key(r, method)} is mounted before the CSRF check`);
      }
    }
    assert.deepEqual(outside, []);
  });

  test('every form route refuses a post without the CSRF token and changes nothing', async () => {
    const user = await buildUser(t.s, { phone: '+8613500135099' });
    const c = await t.signIn(user.email);
    await t.stepUp(c);
    const { routes } = collectRoutes(t.app);
    const before = await snapshot();
    for (const r of routes) {
      if (r.mount === '/mailauth') continue;
      for (const method of r.methods.filter((m) => m !== 'GET' && m !== 'HEAD')) {
        const path = concrete(r.path);
        const res = await c.agent[method.toLowerCase() as 'post'](path).type('form').send({ email: user.email, password: PASSWORD, phone: '+8613500135000', name: 'x', imap: 'on', permission: 'send_as', to: 'x@example.test' });
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.match(textOf(res.text), /This form has expired/, `${method} ${path}`);
      }
    }
    assert.deepEqual(await snapshot(), before);
    assert.equal((await c.get('/settings/security')).status, 200, 'still signed in: logout was refused too');
  });

  test('no GET page changes stored state, for a visitor or a signed-in user', async () => {
    const user = await buildUser(t.s, { phone: '+8613500135098' });
    const signedIn = await t.signIn(user.email);
    await t.stepUp(signedIn);
    const visitor = t.client();
    const { routes } = collectRoutes(t.app);
    const writes: string[] = [];
    for (const r of routes) {
      if (!r.methods.includes('GET') || GET_WRITES[`GET ${r.path}`]) continue;
      for (const c of [visitor, signedIn] as WebClient[]) {
        const before = await snapshot();
        const res = await c.agent.get(concrete(r.path));
        assert.ok(res.status < 500 || res.status === 503, `GET ${r.path} answered ${res.status}`);
        const after = await snapshot();
        for (const table of Object.keys(after)) if (after[table] !== before[table]) writes.push(`GET ${r.path} changed ${table}`);
      }
    }
    assert.deepEqual(writes, []);
  });
});

/**
 * snapshot fingerprints every table that holds state. Sessions (which slide
 * on each request) and the audit log (a record of reading, not a change) are
 * left out.
 */
async function snapshot(): Promise<Record<string, string>> {
  // Successes the regulator marks in batches belong to the requests before: written now, they cannot land in between.
  await t.s.regulator.flush();
  const result = await t.s.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`);
  const names = ((result as { rows?: Array<{ table_name: string }> }).rows ?? (result as unknown as Array<{ table_name: string }>)).map((r) => r.table_name);
  const out: Record<string, string> = {};
  for (const name of names.filter((n) => n !== 'sessions' && n !== 'audit_events')) {
    const rows = await t.s.db.execute(sql.raw(`select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) as h from "${name}" t`));
    const list = (rows as { rows?: Array<{ h: string }> }).rows ?? (rows as unknown as Array<{ h: string }>);
    out[name] = list[0]!.h;
  }
  return out;
}

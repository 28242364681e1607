import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { sql } from 'drizzle-orm';
import { startApp, type TestApp } from './helpers/app.ts';
import { addAuthenticator, buildUser, eventsOf, PASSWORD } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { DEFAULT_RULES } from '../src/auth/regulation.ts';
import { newTotpSecret } from '../src/twofactor/totp/totp.ts';
import type { User } from '../src/users/repo.ts';

let t: TestApp;
before(async () => {
  // Waits long enough that a throttled client stays throttled for the rest of its test.
  t = await startApp({}, { rules: { ...DEFAULT_RULES, baseDelaySeconds: 600 } });
});
after(() => t.close());

const HEADER = 'upn,serial number,secret key,time interval,manufacturer,model';
const GENERIC = 'That serial number and code do not match a token you can add.';

let n = 0;
/** serial makes a serial number no other test uses. */
const serial = () => `HW-${process.pid}-${++n}`;

/** oathtool computes the code a token shows, like the token itself: at `at` (unix seconds) or now, for a 30 or 60 s step. */
function oathtool(secret: string, opts: { at?: number; period?: number } = {}): string {
  const args = ['--totp', '-b', secret, ...(opts.period === 60 ? ['--time-step-size=60s'] : []), ...(opts.at === undefined ? [] : ['-N', `@${opts.at}`])];
  const out = spawnSync('oathtool', args, { encoding: 'utf8' });
  assert.equal(out.status, 0, `oathtool failed: ${out.stderr}`);
  return out.stdout.trim();
}

/** step is the current time step for a period; awayFromEdge waits out the last seconds of a step, so a code computed now is checked in the same step. */
const step = (period: number) => Math.floor(Date.now() / 1000 / period);
async function awayFromEdge(period: number): Promise<void> {
  const into = (Date.now() / 1000) % period;
  if (into > period - 4) await new Promise((r) => setTimeout(r, (period - into + 0.5) * 1000));
}

/** asAdmin signs an administrator in and through the console's fresh check. */
async function asAdmin(): Promise<{ admin: User; c: WebClient }> {
  const admin = await buildUser(t.s, { admin: true });
  const c = await t.signIn(admin.email);
  await t.stepUp(c, '/admin/tokens');
  assert.equal((await c.get('/admin/tokens')).status, 200);
  return { admin, c };
}

/** upload posts a CSV file to the import form as a browser does: multipart, the CSRF token in the URL. */
function upload(c: WebClient, text: string, csrf = c.csrf) {
  return c.agent.post(`/admin/tokens/import?_csrf=${encodeURIComponent(csrf)}`).attach('file', Buffer.from(text, 'utf8'), { filename: 'tokens.csv', contentType: 'text/csv' });
}

/** importTokens imports rows through the console and checks it worked. */
async function importTokens(rows: string[]): Promise<void> {
  const { c } = await asAdmin();
  const res = await upload(c, [HEADER, ...rows].join('\n'));
  assert.equal(res.status, 303, textOf(res.text ?? ''));
}

/** tokenRow reads a token's row as stored. */
async function tokenRow(serialNumber: string) {
  const result = (await t.s.db.execute(sql`select * from hardware_tokens where serial = ${serialNumber}`)) as unknown as { rows: Array<Record<string, unknown>> };
  return result.rows[0];
}

/** bindPage steps a signed-in user up with the password (no factor yet) and opens the bind form. */
async function bindPage(c: WebClient): Promise<void> {
  await t.stepUp(c, '/settings/security/hardware/new');
  const page = await c.get('/settings/security/hardware/new');
  assert.equal(page.status, 200);
  assert.match(page.text, /name="serial"/);
}

/** passwordStep signs in with the password and lands on the code page. */
async function passwordStep(c: WebClient, email: string) {
  await c.get('/login');
  const first = await c.post('/login', { email, password: PASSWORD });
  assert.equal(first.headers.location, '/login/code');
  const page = await c.get('/login/code');
  assert.equal(page.status, 200);
  return page;
}

describe('importing hardware tokens (administrators)', () => {
  test('an administrator imports a CSV file; the inventory lists each token and its status, the key is sealed and never shown', async () => {
    const { admin, c } = await asAdmin();
    const owner = await buildUser(t.s);
    const [a, b] = [serial(), serial()];
    const key = newTotpSecret();
    const res = await upload(c, [HEADER, `${owner.email.toUpperCase()},${a},${key},30,Feitian,OTP c200`, `,${b},${newTotpSecret()},60,Feitian,"OTP c100, 60s"`].join('\r\n') + '\r\n');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/admin/tokens');
    const page = await c.get('/admin/tokens');
    const text = textOf(page.text);
    assert.match(text, /2 tokens imported\./);
    assert.ok(text.includes(a) && text.includes(b));
    assert.ok(text.includes(owner.email), 'the owner is shown');
    assert.match(text, /Assigned/);
    assert.match(text, /Available/);
    assert.ok(!page.text.includes(key), 'the key is never shown');

    const assigned = textOf((await c.get('/admin/tokens?status=assigned')).text);
    assert.ok(assigned.includes(a) && !assigned.includes(b));
    const found = textOf((await c.get(`/admin/tokens?q=${encodeURIComponent(b.toLowerCase())}`)).text);
    assert.ok(found.includes(b) && !found.includes(a));
    const byUser = textOf((await c.get(`/admin/tokens?q=${encodeURIComponent(owner.email)}`)).text);
    assert.ok(byUser.includes(a) && !byUser.includes(b));
    assert.equal((await c.get('/admin/tokens?status=nonsense&page=-4&q=' + 'x'.repeat(500))).status, 200, 'odd filters are ignored');

    const row = await tokenRow(a);
    assert.equal(row?.user_id, owner.id);
    assert.equal(row?.period, 30);
    assert.match(String(row?.secret_sealed), /^v1\./);
    assert.ok(!JSON.stringify(row).toLowerCase().includes(key.toLowerCase()), 'the key is not stored in clear');
    assert.equal((await tokenRow(b))?.period, 60);
    const imported = (await eventsOf(t.s, admin.id)).find((e) => e.event === 'token.imported');
    assert.equal(imported?.account, admin.email);
    assert.equal(imported?.details?.count, 2);
  });

  test('a file with any bad row imports nothing and the page lists every problem by row', async () => {
    const { c } = await asAdmin();
    const taken = serial();
    await upload(c, [HEADER, `,${taken},${newTotpSecret()},30,,`].join('\n'));
    const good = serial();
    const dup = serial();
    const res = await upload(
      c,
      [
        HEADER,
        `,${good},${newTotpSecret()},30,Feitian,c200`,
        `,${serial()},NOT-BASE32!,30,,`,
        `nobody-${process.pid}@example.test,${serial()},${newTotpSecret()},30,,`,
        `,${taken.toLowerCase()},${newTotpSecret()},30,,`,
        `,${dup},${newTotpSecret()},60,,`,
        `,${dup},${newTotpSecret()},60,,`,
        `,${serial()},${newTotpSecret()},45,,`,
      ].join('\n'),
    );
    assert.equal(res.status, 400);
    const text = textOf(res.text);
    assert.match(text, /Nothing was imported/);
    assert.match(text, /Row 3: The secret key is missing or not base32/);
    assert.match(text, new RegExp(`Row 4: There is no account nobody-${process.pid}@example\\.test`));
    assert.match(text, new RegExp(`Row 5: Serial number ${taken.toLowerCase()} is already in the inventory`));
    assert.match(text, new RegExp(`Row 7: Serial number ${dup} is also on row 6`));
    assert.match(text, /Row 8: The time interval must be 30 or 60/);
    assert.ok(!/Row 2:/.test(text), 'the good row is not blamed');
    assert.equal(await tokenRow(good), undefined, 'the good row was not imported either');
    assert.equal(await tokenRow(dup), undefined);

    const header = await upload(c, `serial,secret\n${serial()},${newTotpSecret()}\n`);
    assert.equal(header.status, 400);
    assert.match(textOf(header.text), /Row 1: The first line must be the header “upn,serial number,secret key,time interval,manufacturer,model”/);
    const empty = await upload(c, '');
    assert.equal(empty.status, 400);
    assert.match(textOf(empty.text), /The file holds no tokens/);
    const huge = await upload(c, HEADER + '\n' + 'x'.repeat(3 * 1024 * 1024));
    assert.equal(huge.status, 413);
  });

  test('an import without the CSRF token in its address is refused', async () => {
    const { c } = await asAdmin();
    const s1 = serial();
    const res = await upload(c, [HEADER, `,${s1},${newTotpSecret()},30,,`].join('\n'), 'forged');
    assert.equal(res.status, 403);
    assert.equal(await tokenRow(s1), undefined);
  });

  test('anyone but an administrator gets 403 on every token route, and changes nothing', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security');
    await importTokens([`,${serial()},${newTotpSecret()},30,,`]);
    const [victim] = (await t.s.hardwareTokens.inventory({ pageSize: 1 })).items;
    const s1 = serial();
    assert.equal((await c.get('/admin/tokens')).status, 403);
    assert.equal((await c.get('/admin/tokens?status=available')).status, 403);
    await c.get('/settings/security');
    assert.equal((await upload(c, [HEADER, `,${s1},${newTotpSecret()},30,,`].join('\n'))).status, 403);
    assert.equal((await c.post(`/admin/tokens/${victim!.id}/revoke`, { reason: 'mine now' })).status, 403);
    assert.equal(await tokenRow(s1), undefined);
    assert.equal((await tokenRow(victim!.serial))?.revoked_at, null);
    // A visitor is sent to sign in first.
    const visitor = t.client();
    const anon = await visitor.get('/admin/tokens');
    assert.equal(anon.status, 303);
    assert.match(anon.headers.location!, /^\/login/);
  });
});

describe('binding a hardware token (users)', () => {
  for (const period of [30, 60]) {
    test(`a user binds a ${period} s token by serial number and code after a fresh check, then signs in with its next code`, async () => {
      const user = await buildUser(t.s);
      const key = newTotpSecret();
      const sn = serial();
      await importTokens([`${user.email},${sn},${key},${period},Feitian,c200`]);
      const c = await t.signIn(user.email);
      const overview = textOf((await c.get('/settings/security')).text);
      assert.match(overview, /Hardware token/);
      await bindPage(c);
      await awayFromEdge(period);
      const bound = step(period);
      const res = await c.post('/settings/security/hardware/new', { serial: ` ${sn.toLowerCase()} `, code: oathtool(key, { period }) });
      assert.equal(res.status, 303, textOf(res.text ?? ''));
      assert.equal(res.headers.location, '/settings/security/backup-codes/new', 'the first factor brings backup codes');
      assert.equal([...(await c.get('/settings/security/backup-codes/new')).text.matchAll(/<li><code>/g)].length, 10);
      const list = textOf((await c.get('/settings/security/hardware')).text);
      assert.ok(list.includes(sn) && /Feitian c200/.test(list) && /Not used yet/.test(list));
      const row = await tokenRow(sn);
      assert.ok(row?.activated_at, 'activated');
      assert.equal(Number(row?.last_step), bound, 'the step used to bind is spent');
      const events = await eventsOf(t.s, user.id);
      assert.ok(events.some((e) => e.event === 'token.bound' && e.details?.serial === sn));
      assert.ok(events.some((e) => e.event === 'factor.added' && e.details?.factor === 'hardware'));
      await c.post('/logout');

      // Signing in now asks for the token, and takes the code of the next step.
      const b = t.client();
      const ask = await passwordStep(b, user.email);
      assert.match(textOf(ask.text), /Enter the code your hardware token shows/);
      const next = oathtool(key, { period, at: (bound + 1) * period });
      const done = await b.post('/login/code', { code: next });
      assert.equal(done.status, 303);
      assert.equal(done.headers.location, '/');
      assert.ok((await tokenRow(sn))?.last_used_at, 'last used is recorded');

      // The same code again is refused: a code seen over a shoulder cannot be replayed.
      const again = t.client();
      await passwordStep(again, user.email);
      const replay = await again.post('/login/code', { code: next });
      assert.equal(replay.status, 401);
      assert.equal(Number((await tokenRow(sn))?.last_step), bound + 1);
    });
  }

  test('a token running one step fast is accepted, and its drift is remembered for the next sign-in', async () => {
    const user = await buildUser(t.s);
    const key = newTotpSecret();
    const sn = serial();
    await importTokens([`,${sn},${key},30,,`]);
    const c = await t.signIn(user.email);
    await bindPage(c);
    await awayFromEdge(30);
    const now = step(30);
    const res = await c.post('/settings/security/hardware/new', { serial: sn, code: oathtool(key, { at: (now + 1) * 30 }) });
    assert.equal(res.status, 303);
    assert.equal((await tokenRow(sn))?.drift_steps, 1);
    await c.post('/logout');

    // Two steps ahead of the server's clock: outside ±1 of now, inside ±1 of the drift remembered.
    await awayFromEdge(30);
    const b = t.client();
    await passwordStep(b, user.email);
    const done = await b.post('/login/code', { code: oathtool(key, { at: (step(30) + 2) * 30 }) });
    assert.equal(done.status, 303);
    assert.equal((await tokenRow(sn))?.drift_steps, 2);
  });

  test('binding needs a fresh check: a session that proved nothing recently is sent to verify, and nothing is bound', async () => {
    const user = await buildUser(t.s);
    const key = newTotpSecret();
    const sn = serial();
    await importTokens([`${user.email},${sn},${key},30,,`]);
    const c = await t.signIn(user.email);
    const page = await c.get('/settings/security/hardware/new');
    assert.equal(page.status, 303);
    assert.match(page.headers.location!, /^\/settings\/security\/verify\?/);
    await c.get('/settings/security');
    const post = await c.post('/settings/security/hardware/new', { serial: sn, code: oathtool(key) });
    assert.equal(post.status, 303);
    assert.match(post.headers.location!, /^\/settings\/security\/verify\?/);
    assert.equal((await tokenRow(sn))?.activated_at, null);
    // Nor is the enrolment page open to a signed-in user.
    assert.equal((await c.post('/account-security/hardware', { serial: sn, code: oathtool(key) })).status, 303);
    assert.equal((await tokenRow(sn))?.activated_at, null);
  });

  test('another user’s token cannot be bound, and the refusal reads exactly like a wrong code or an unknown serial', async () => {
    const owner = await buildUser(t.s);
    const key = newTotpSecret();
    const theirs = serial();
    const stock = serial();
    const stockKey = newTotpSecret();
    await importTokens([`${owner.email},${theirs},${key},30,,`, `,${stock},${stockKey},30,,`]);
    const other = await buildUser(t.s);
    const c = await t.signIn(other.email);
    await bindPage(c);

    const messageOf = (html: string) => /role="alert">([^<]*)</.exec(html)?.[1];
    const stolen = await c.post('/settings/security/hardware/new', { serial: theirs, code: oathtool(key) });
    const right = oathtool(stockKey);
    const wrong = await c.post('/settings/security/hardware/new', { serial: stock, code: right === '000000' ? '111111' : '000000' });
    const unknown = await c.post('/settings/security/hardware/new', { serial: `NOPE-${process.pid}`, code: '123456' });
    assert.deepEqual([stolen.status, wrong.status, unknown.status], [400, 400, 400]);
    const message = messageOf(stolen.text);
    assert.ok(message?.startsWith(GENERIC), message);
    assert.equal(messageOf(wrong.text), message);
    assert.equal(messageOf(unknown.text), message);
    const row = await tokenRow(theirs);
    assert.equal(row?.user_id, owner.id);
    assert.equal(row?.activated_at, null);
  });

  test('six wrong codes are throttled, and while throttled even the right serial and code are refused', async () => {
    const user = await buildUser(t.s);
    const key = newTotpSecret();
    const sn = serial();
    await importTokens([`,${sn},${key},30,,`]);
    const c = await t.signIn(user.email);
    await bindPage(c);
    const right = oathtool(key);
    const wrong = (i: number) => String((Number(right) + 1000 + i) % 1_000_000).padStart(6, '0');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await c.post('/settings/security/hardware/new', { serial: i % 2 ? sn : `GUESS-${i}`, code: wrong(i) })).status);
    assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429]);
    const refused = await c.post('/settings/security/hardware/new', { serial: sn, code: oathtool(key) });
    assert.equal(refused.status, 429);
    assert.match(textOf(refused.text), /Too many attempts/);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal((await tokenRow(sn))?.activated_at, null);
  });

  test('oversized fields are refused without harm', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await bindPage(c);
    assert.equal((await c.post('/settings/security/hardware/new', { serial: 'S'.repeat(20_000), code: '123456' })).status, 400);
    assert.equal((await c.post('/settings/security/hardware/new', { serial: 'S1', code: '1'.repeat(20_000) })).status, 400);
    assert.equal((await c.post('/settings/security/hardware/new', { serial: 'x'.repeat(1024 * 1024), code: '1' })).status, 413);
  });

  test('a user the policy holds at enrolment binds a token there, sees the backup codes, and ends signed in', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const key = newTotpSecret();
    const sn = serial();
    await importTokens([`${user.email},${sn},${key},60,,`]);
    const c = t.client();
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/account-security');
    assert.match((await c.get('/account-security')).text, /href="\/account-security\/hardware"/, 'the enrolment page offers it');
    const page = await c.get('/account-security/hardware');
    assert.equal(page.status, 200);
    assert.match(textOf(page.text), /requires two-step verification/);
    const res = await c.post('/account-security/hardware', { serial: sn, code: oathtool(key, { period: 60 }) });
    assert.equal(res.headers.location, '/settings/security/backup-codes/new');
    assert.match((await c.get('/settings/security/backup-codes/new')).text, /<a class="button primary" href="\/"/);
    assert.equal((await c.get('/')).status, 200);
  });
});

describe('withdrawing a hardware token', () => {
  test('an administrator revokes a bound token: the user’s sign-in no longer offers it, trusted browsers end, and it is audited', async () => {
    const user = await buildUser(t.s);
    const appKey = await addAuthenticator(t.s, user.id, 'Phone');
    const key = newTotpSecret();
    const sn = serial();
    await importTokens([`${user.email},${sn},${key},30,,`]);
    // Signed in with the app, which is a fresh check, then the token is bound.
    const c = t.client();
    await passwordStep(c, user.email);
    assert.equal((await c.post('/login/code', { code: oathtool(appKey), trust: 'on' })).status, 303);
    await c.get('/settings/security/hardware/new');
    await awayFromEdge(30);
    const bound = step(30);
    assert.equal((await c.post('/settings/security/hardware/new', { serial: sn, code: oathtool(key) })).status, 303);
    assert.equal((await t.s.trusted.list(user.id)).length, 1);
    await c.post('/logout');

    // The code page offers the token among the other ways, and choosing it works.
    const b = t.client();
    const ask = await passwordStep(b, user.email);
    assert.match(ask.text, /name="factor" value="hardware"/);
    await b.post('/login/method', { factor: 'hardware' });
    assert.match(textOf((await b.get('/login/code')).text), /Enter the code your hardware token shows/);
    assert.equal((await b.post('/login/code', { code: oathtool(key, { at: (bound + 1) * 30 }) })).headers.location, '/');

    const { admin, c: adm } = await asAdmin();
    const [item] = (await t.s.hardwareTokens.inventory({ search: sn })).items;
    assert.equal(item?.status, 'activated');
    assert.equal((await adm.post(`/admin/tokens/${item!.id}/revoke`, { reason: '' })).status, 400, 'a reason is needed');
    const res = await adm.post(`/admin/tokens/${item!.id}/revoke`, { reason: 'reported lost' });
    assert.equal(res.status, 303);
    assert.match(textOf((await adm.get('/admin/tokens')).text), new RegExp(`Token ${sn} revoked: it no longer verifies ${user.email.replace(/\./g, '\\.')}`));
    assert.equal((await tokenRow(sn))?.revoked_at !== null, true);
    assert.deepEqual(await t.s.trusted.list(user.id), [], 'trusted browsers end');
    const revoked = (await eventsOf(t.s, user.id)).find((e) => e.event === 'token.revoked');
    assert.deepEqual({ account: revoked?.account, ...revoked?.details }, { account: user.email, admin: admin.email, serial: sn, status: 'activated', reason: 'reported lost' });
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'factor.removed' && e.details?.factor === 'hardware'));
    assert.equal((await adm.post(`/admin/tokens/${item!.id}/revoke`, { reason: 'again' })).status, 303);
    assert.match(textOf((await adm.get('/admin/tokens')).text), /already revoked/);

    // The next sign-in asks for the app only; the token is neither offered nor accepted.
    const d = t.client();
    const page = await passwordStep(d, user.email);
    assert.ok(!/value="hardware"/.test(page.text), 'not offered');
    assert.ok(!textOf(page.text).includes('Hardware token'));
    assert.equal((await d.post('/login/method', { factor: 'hardware' })).status, 400);
    assert.equal((await d.post('/login/code', { code: oathtool(key, { at: (step(30) + 1) * 30 }) })).status, 401, 'its code no longer signs in');
    assert.equal((await d.post('/login/code', { code: oathtool(appKey, { at: (step(30) + 1) * 30 }) })).headers.location, '/');
    // Nor can it be bound again, by its owner or anyone.
    await d.get('/settings/security/hardware/new');
    const again = await d.post('/settings/security/hardware/new', { serial: sn, code: oathtool(key, { at: (step(30) + 2) * 30 }) });
    assert.equal(again.status, 400);
    assert.match(textOf(again.text), new RegExp(GENERIC.replace(/\./g, '\\.')));
    assert.deepEqual(await t.s.hardwareTokens.activeFor(user.id), []);
  });

  test('a user removes their own token after a fresh check with it; the inventory shows it revoked', async () => {
    const user = await buildUser(t.s);
    const key = newTotpSecret();
    const sn = serial();
    await importTokens([`,${sn},${key},30,,`]);
    const c = await t.signIn(user.email);
    await bindPage(c);
    await awayFromEdge(30);
    const bound = step(30);
    assert.equal((await c.post('/settings/security/hardware/new', { serial: sn, code: oathtool(key) })).status, 303);
    const [token] = await t.s.hardwareTokens.activeFor(user.id);
    assert.match((await c.get('/settings/security/hardware')).text, new RegExp(`/settings/security/hardware/${token!.id}/remove`));
    // The password no longer counts as a fresh check now that there is a factor: the token's next code does.
    const post = await c.post(`/settings/security/hardware/${token!.id}/remove`);
    assert.match(post.headers.location!, /^\/settings\/security\/verify\?/);
    await c.get('/settings/security/verify?next=%2Fsettings%2Fsecurity%2Fhardware&need=factors&factor=hardware');
    const verified = await c.post('/settings/security/verify', { code: oathtool(key, { at: (bound + 1) * 30 }), next: '/settings/security/hardware', need: 'factors', factor: 'hardware' });
    assert.equal(verified.status, 303);
    await c.get(verified.headers.location!);
    if (verified.headers.location === '/settings/security/continue') await c.get('/settings/security/hardware');
    const other = await buildUser(t.s);
    const stranger = await t.signIn(other.email);
    await t.stepUp(stranger, '/settings/security/hardware');
    assert.equal((await stranger.post(`/settings/security/hardware/${token!.id}/remove`)).status, 404, 'not theirs');
    const res = await c.post(`/settings/security/hardware/${token!.id}/remove`);
    assert.equal(res.status, 303);
    assert.match(textOf((await c.get('/settings/security/hardware')).text), new RegExp(`Hardware token ${sn} removed`));
    assert.deepEqual(await t.s.hardwareTokens.activeFor(user.id), []);
    assert.equal((await t.s.hardwareTokens.inventory({ search: sn })).items[0]?.status, 'revoked');
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import supertest from 'supertest';
import { appPasswords } from '../db/schema/index.ts';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, soon } from '../../test/helpers/factories.ts';
import { mailauthEnv, nginxAsks } from '../../test/helpers/nginx-ask.ts';
import type { User } from '../users/repo.ts';
import { basicAuthPassword } from './secret-header.ts';

const SECRET = 'mailauth-events-secret-0123456789';

let t: TestApp;
before(async () => {
  t = await startApp(mailauthEnv(SECRET));
});
after(() => t.close());

/** idEvent is the JSON Dovecot 2.3.19's exporter posts for an ID command (exporter_include = name fields). */
function idEvent(user: string, remoteIp: string, args: string) {
  return {
    event: 'imap_command_finished',
    fields: { user, local_port: 10144, remote_ip: remoteIp, session: 'nXACctBhMOd/AAAB', cmd_name: 'ID', cmd_args: args, cmd_human_args: args, tagged_reply_state: 'OK' },
  };
}

/** postEvent posts as Dovecot's exporter does: JSON, the secret as the password of Basic credentials. */
function postEvent(body: unknown, auth: { basic?: string; header?: string } = { basic: SECRET }) {
  const req = supertest(t.app).post('/mailauth/events').set('Content-Type', 'application/json');
  if (auth.basic !== undefined) req.auth('postern', auth.basic);
  if (auth.header !== undefined) req.set('X-Mailauth-Secret', auth.header);
  return req.send(typeof body === 'string' ? body : JSON.stringify(body));
}

async function withPasswords(...names: string[]): Promise<{ user: User; ids: string[]; secrets: string[] }> {
  const user = await buildUser(t.s);
  const made = [];
  for (const name of names) made.push(await t.s.appPasswords.create(user, { name, scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: 'test' }));
  return { user, ids: made.map((m) => m.row.id), secrets: made.map((m) => m.secret) };
}

/** usedAt sets a password's last use as if a login had happened `minutesAgo` from `ip`. */
async function usedAt(id: string, ip: string, minutesAgo: number): Promise<void> {
  await t.s.db.update(appPasswords).set({ lastUsedAt: new Date(Date.now() - minutesAgo * 60_000), lastUsedIp: ip, lastUsedProtocol: 'imap' }).where(eq(appPasswords.id, id));
}

const clientOf = async (userId: string, id: string) => {
  const row = (await t.s.appPasswords.list(userId)).find((p) => p.id === id)!;
  return row.clientName === null ? null : `${row.clientName} ${row.clientVersion ?? ''}`.trim();
};

describe('the events endpoint for Dovecot’s exporter', () => {
  test('takes events with the secret as Basic credentials or the usual header, and refuses the rest', async () => {
    const { user, ids } = await withPasswords('Mac');
    await usedAt(ids[0]!, '192.0.2.40', 0);
    const event = idEvent(user.email, '192.0.2.40', '("name" "Mail" "version" "16.0")');
    for (const auth of [{}, { basic: 'wrong' }, { header: 'wrong' }, { basic: '' }]) assert.equal((await postEvent(event, auth)).status, 401, JSON.stringify(auth));
    assert.equal(await clientOf(user.id, ids[0]!), null);
    assert.equal((await postEvent(event)).status, 204);
    assert.equal(await clientOf(user.id, ids[0]!), 'Mail 16.0');
    assert.equal((await postEvent(idEvent(user.email, '192.0.2.40', '("name" "Mail" "version" "17.0")'), { header: SECRET })).status, 204);
    assert.equal(await clientOf(user.id, ids[0]!), 'Mail 17.0');
  });

  test('Basic credentials open no other mail-login endpoint', async () => {
    const { user, secrets } = await withPasswords('Phone');
    const nginx = await nginxAsks(t.app, user.email, secrets[0]!, { secret: null }).auth('postern', SECRET);
    assert.equal(nginx.status, 401);
    assert.equal(nginx.headers['auth-user'], undefined);
    const dovecot = await supertest(t.app).post('/mailauth/dovecot').auth('postern', SECRET).type('form').send({ user: user.email, password: secrets[0]!, protocol: 'imap' });
    assert.equal(dovecot.status, 401);
  });

  test('names the password its user used last from that address, within five minutes, and no other', async () => {
    const { user, ids } = await withPasswords('Old', 'Recent', 'Stale');
    const other = await withPasswords('Someone else’s');
    await usedAt(ids[0]!, '192.0.2.50', 3);
    await usedAt(ids[1]!, '192.0.2.50', 1);
    await usedAt(ids[2]!, '192.0.2.51', 10);
    await usedAt(other.ids[0]!, '192.0.2.50', 0);
    assert.equal((await postEvent(idEvent(user.email.toUpperCase(), '192.0.2.50', '("name" "Thunderbird" "version" "115.3")'))).status, 204);
    assert.equal((await postEvent(idEvent(user.email, '192.0.2.51', '("name" "Too late")'))).status, 204);
    assert.deepEqual(
      [await clientOf(user.id, ids[0]!), await clientOf(user.id, ids[1]!), await clientOf(user.id, ids[2]!), await clientOf(other.user.id, other.ids[0]!)],
      [null, 'Thunderbird 115.3', null, null],
    );
  });

  test('an ID right behind its login finds the use still being written', async () => {
    const { user, ids, secrets } = await withPasswords('Laptop');
    const login = await nginxAsks(t.app, user.email, secrets[0]!, { secret: SECRET, ip: '192.0.2.60' });
    assert.equal(login.headers['auth-status'], 'OK');
    assert.equal((await postEvent(idEvent(user.email, '192.0.2.60', '("name" "Evolution" "version" "3.50")'))).status, 204);
    assert.equal(await clientOf(user.id, ids[0]!), 'Evolution 3.50');
  });

  test('a 1 MB body gets 413, and the endpoint keeps answering', async () => {
    const { user, ids } = await withPasswords('Big');
    await usedAt(ids[0]!, '192.0.2.70', 0);
    const huge = await postEvent(idEvent(user.email, '192.0.2.70', `("name" "${'x'.repeat(1024 * 1024)}")`)).catch((err: { code?: string }) => ({ status: err.code }));
    assert.ok(huge.status === 413 || huge.status === 'EPIPE' || huge.status === 'ECONNRESET', `a 1 MB event: ${huge.status}`);
    assert.equal((await postEvent(idEvent(user.email, '192.0.2.70', '("name" "Small")'))).status, 204);
    assert.equal(await clientOf(user.id, ids[0]!), 'Small');
  });

  test('malformed bodies get 400, events that name nothing 204, and neither changes anything', async () => {
    const { user, ids } = await withPasswords('Odd');
    await usedAt(ids[0]!, '192.0.2.80', 0);
    for (const body of ['not json', '{"event":', 'null', '"text"', '[]', '{}', '['.repeat(4000) + ']'.repeat(4000), JSON.stringify({ event: 'imap_command_finished', fields: { user: ['x'] } })]) {
      assert.equal((await postEvent(body)).status, 400, body.slice(0, 30));
    }
    const odd = ['NIL', '("name")', '("name" NIL "version" "1")', '(("name" "x"))', `${'('.repeat(2000)}`, '("name" {5}\r\nab)', '("name" "\u0000\u0001")'];
    for (const args of odd) assert.equal((await postEvent(idEvent(user.email, '192.0.2.80', args))).status, 204, JSON.stringify(args));
    const notAnAddress = idEvent(user.email, 'not-an-ip', '("name" "x")');
    const anotherCommand = { ...idEvent(user.email, '192.0.2.80', '("name" "x")'), event: 'imap_command_started' };
    for (const e of [notAnAddress, anotherCommand]) assert.equal((await postEvent(e)).status, 204);
    assert.equal(await clientOf(user.id, ids[0]!), null);
  });
});

describe('the Lua passdb’s client_id', () => {
  const dovecotAsks = (form: Record<string, string>) => supertest(t.app).post('/mailauth/dovecot').set('X-Mailauth-Secret', SECRET).type('form').send(form);

  test('is recorded with the login; one that is odd or too long never refuses it', async () => {
    const { user, ids, secrets } = await withPasswords('Desktop');
    const login = { user: user.email, password: secrets[0]!, protocol: 'imap', client_ip: '192.0.2.90' };
    const first = await dovecotAsks({ ...login, client_id: '"name" "Thunderbird" "version" "115.3" "os" "Linux"' });
    assert.equal(first.status, 200);
    assert.equal(first.text, user.email);
    await soon(async () => assert.equal(await clientOf(user.id, ids[0]!), 'Thunderbird 115.3'));
    for (const client_id of ['x'.repeat(5000), '((((', '"name" {99}\r\nab', '"name" "\u202e\u0000"']) {
      assert.equal((await dovecotAsks({ ...login, client_id })).status, 200, client_id.slice(0, 20));
    }
    assert.equal(await clientOf(user.id, ids[0]!), 'Thunderbird 115.3');
    // Another app with the same password from the same address within the minute: noted, as the app changed.
    assert.equal((await dovecotAsks({ ...login, client_id: '"name" "K-9 Mail" "version" "6.8"' })).status, 200);
    await soon(async () => assert.equal(await clientOf(user.id, ids[0]!), 'K-9 Mail 6.8'));
    assert.equal((await dovecotAsks({ ...login, password: 'wrong-wrong-wrong', client_id: '"name" "Guesser"' })).status, 403);
    assert.equal(await clientOf(user.id, ids[0]!), 'K-9 Mail 6.8');
  });
});

describe('basicAuthPassword', () => {
  test('reads the password of Basic credentials, and nothing else', () => {
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    assert.equal(basicAuthPassword(basic('postern:s3cret')), 's3cret');
    assert.equal(basicAuthPassword(basic('postern:with:colons')), 'with:colons');
    assert.equal(basicAuthPassword(basic(':')), '');
    assert.equal(basicAuthPassword(basic('no-colon')), undefined);
    assert.equal(basicAuthPassword('Bearer abc'), undefined);
    assert.equal(basicAuthPassword(undefined), undefined);
    assert.equal(basicAuthPassword(`Basic ${'A'.repeat(5000)}`), undefined);
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import supertest from 'supertest';
import type { User } from '../src/users/repo.ts';
import { signInWith } from './helpers/app.ts';
import { textOf, WebClient } from './helpers/client.ts';
import { buildUser, soon } from './helpers/factories.ts';
import { MAILAUTH_SECRET, startMailStack, type MailStack } from './helpers/stack.ts';

const ID_CLIENT = fileURLToPath(new URL('./clients/imap-id.py', import.meta.url));
const origin = { ip: '192.0.2.1', userAgent: 'test' };

/** idClient runs the Python client from `source`: it logs in and sends `ID <argument>`; resolves to what it printed. */
function idClient(port: number, user: string, password: string, source: string, argument: string, when: 'before' | 'after' = 'after'): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('python3', [ID_CLIENT, '127.0.0.1', String(port), user, password, source, argument, when], { timeout: 20_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout),
    ),
  );
}

/**
 * idEvent is the JSON Dovecot 2.3.19 posts for an ID command (exporter_include = name fields).
 * `human: false` leaves out cmd_human_args (a copy of cmd_args), so long arguments still fit the body limit.
 */
function idEvent(user: string, remoteIp: string, args: string, human = true) {
  const event = {
    event: 'imap_command_finished',
    fields: {
      user,
      local_ip: '127.0.0.1',
      local_port: 10144,
      remote_ip: remoteIp,
      remote_port: 50123,
      session: 'nXACctBhMOd/AAAB',
      cmd_tag: 'a2',
      cmd_name: 'ID',
      cmd_input_name: 'ID',
      cmd_args: args,
      cmd_human_args: args,
      tagged_reply_state: 'OK',
      tagged_reply: 'OK ID completed.',
      reason_code: ['imap:cmd_id'],
    } as Record<string, unknown>,
  };
  if (!human) delete event.fields.cmd_human_args;
  return event;
}

describe('the mail app of each client-specific password, from IMAP ID', () => {
  let stack: MailStack;
  before(async () => {
    stack = await startMailStack({}, { proxyProtocol: true, front: true, clientIds: true });
  });
  after(() => stack?.stop());

  const withPassword = async (name = 'Laptop', user?: User) => {
    const owner = user ?? (await buildUser(stack.s));
    const { secret, row } = await stack.s.appPasswords.create(owner, { name, scopes: ['imap', 'smtp'] }, origin);
    return { user: owner, secret, id: row.id };
  };
  const rowOf = async (userId: string, id: string) => (await stack.s.appPasswords.list(userId)).find((p) => p.id === id)!;
  /** postEvent posts as Dovecot's exporter does: JSON, with the secret as the URL's password (HTTP Basic). */
  const postEvent = (body: unknown, auth: { basic?: string; header?: string; query?: string } = { basic: MAILAUTH_SECRET }) => {
    const req = supertest(stack.mailauthUrl)
      .post(`/mailauth/events${auth.query ? `?secret=${auth.query}` : ''}`)
      .set('Content-Type', 'application/json');
    if (auth.basic !== undefined) req.auth('postern', auth.basic);
    if (auth.header !== undefined) req.set('X-Mailauth-Secret', auth.header);
    return req.send(typeof body === 'string' ? body : JSON.stringify(body));
  };
  /** usedFrom logs in through nginx from `source` with an ID that names nobody, so the password's last use is that address. */
  const usedFrom = async (who: { user: User; secret: string }, source: string) => {
    assert.match(await idClient(stack.nginx.imapPort, who.user.email, who.secret, source, 'NIL'), /LOGGED-OUT/);
  };

  test('a client that sends ID through nginx is named on its owner’s list of passwords within seconds', async () => {
    const { user, secret, id } = await withPassword('Laptop');
    await withPassword('Phone', user);
    const out = await idClient(stack.nginx.imapPort, user.email, secret, '127.0.0.2', '("name" "PosternTest" "version" "1.0")');
    assert.match(out, /^ID OK /m);
    assert.match(out, /LOGGED-OUT/);
    const web = await signInWith(stack.s, new WebClient(stack.url), user.email);
    await soon(async () => {
      const page = await web.get('/settings/app-passwords');
      assert.equal(page.status, 200);
      assert.match(textOf(page.text), /Laptop .*PosternTest 1\.0/);
    }, 5000);
    const row = await rowOf(user.id, id);
    assert.equal(row.lastUsedIp, '127.0.0.2', 'Dovecot saw the client’s own address (PROXY protocol)');
    assert.deepEqual([row.clientName, row.clientVersion], ['PosternTest', '1.0']);
    const page = textOf((await web.get('/settings/app-passwords')).text);
    assert.match(page, /Phone .*Not reported/, 'the unused password names no app');
  });

  test('an ID sent to Dovecot before LOGIN reaches the Lua passdb and is recorded with the login', async () => {
    const { user, secret, id } = await withPassword('Desktop');
    const out = await idClient(stack.dovecot.imapPort, user.email, secret, '127.0.0.3', '("name" "PosternDirect" "version" "2.0" "os" "Linux")', 'before');
    assert.match(out, /^ID OK /m);
    assert.match(out, /LOGGED-OUT/);
    await soon(async () => assert.deepEqual([(await rowOf(user.id, id)).clientName, (await rowOf(user.id, id)).clientVersion], ['PosternDirect', '2.0']), 3000);
    assert.equal((await rowOf(user.id, id)).lastUsedIp, '127.0.0.3');
  });

  test('an event without the secret is refused and records nothing', async () => {
    const who = await withPassword('Tablet');
    await usedFrom(who, '127.0.0.4');
    const forged = idEvent(who.user.email, '127.0.0.4', '("name" "Forged" "version" "6.6.6")');
    for (const auth of [{}, { basic: 'a-guess' }, { header: 'a-guess' }, { query: MAILAUTH_SECRET }, { basic: '' }]) {
      const res = await postEvent(forged, auth);
      assert.equal(res.status, 401, JSON.stringify(auth));
    }
    const row = await rowOf(who.user.id, who.id);
    assert.equal(row.clientName, null);
    assert.equal(row.clientVersion, null);
    // The same event with the secret is taken: the refusals above were for the secret alone.
    assert.equal((await postEvent(forged)).status, 204);
    assert.equal((await rowOf(who.user.id, who.id)).clientName, 'Forged');
    assert.equal((await postEvent(idEvent(who.user.email, '127.0.0.4', '("name" "Header")'), { header: MAILAUTH_SECRET })).status, 204);
    assert.equal((await rowOf(who.user.id, who.id)).clientName, 'Header');
  });

  test('an event for another user’s address leaves that user’s passwords alone', async () => {
    const alice = await withPassword('Alice laptop');
    const bob = await withPassword('Bob laptop');
    await usedFrom(alice, '127.0.0.5');
    await usedFrom(bob, '127.0.0.6');
    // Bob's session from Alice's address, and Alice's from an address she never used.
    assert.equal((await postEvent(idEvent(bob.user.email, '127.0.0.5', '("name" "Intruder")'))).status, 204);
    assert.equal((await postEvent(idEvent(alice.user.email, '127.0.0.7', '("name" "Elsewhere")'))).status, 204);
    assert.equal((await postEvent(idEvent('nobody@example.test', '127.0.0.5', '("name" "Ghost")'))).status, 204);
    assert.equal((await rowOf(alice.user.id, alice.id)).clientName, null);
    assert.equal((await rowOf(bob.user.id, bob.id)).clientName, null);
  });

  test('a 1 MB body is refused with 413, and the endpoint keeps answering', async () => {
    const who = await withPassword('Big');
    await usedFrom(who, '127.0.0.8');
    const huge = idEvent(who.user.email, '127.0.0.8', `("name" "${'x'.repeat(1024 * 1024)}")`);
    const res = await postEvent(huge).catch((err: { code?: string }) => ({ status: err.code }));
    assert.ok(res.status === 413 || res.status === 'EPIPE' || res.status === 'ECONNRESET', `a 1 MB event: ${res.status}`);
    assert.equal((await rowOf(who.user.id, who.id)).clientName, null);
    assert.equal((await postEvent(idEvent(who.user.email, '127.0.0.8', '("name" "After" "version" "1")'))).status, 204);
    assert.equal((await rowOf(who.user.id, who.id)).clientName, 'After');
  });

  test('malformed JSON and odd ID lists are refused or ignored, and the endpoint keeps answering', async () => {
    const who = await withPassword('Odd');
    await usedFrom(who, '127.0.0.9');
    const event = (args: string) => idEvent(who.user.email, '127.0.0.9', args, false);
    for (const body of ['not json', '{"event":', '', 'null', '[]', '{}', '['.repeat(4000) + ']'.repeat(4000), JSON.stringify({ event: 'imap_command_finished', fields: { user: 1 } })]) {
      assert.equal((await postEvent(body)).status, 400, body.slice(0, 40));
    }
    for (const args of ['NIL', '()', '("name")', '("name" NIL)', '(("name" "x"))', '("name" {99}\r\nab)', `(${'('.repeat(2000)}"name" "x"${')'.repeat(2000)})`, '("version" "1.0")']) {
      assert.equal((await postEvent(event(args))).status, 204, args.slice(0, 40));
    }
    // Other commands and failed IDs say nothing about the client.
    const select = event('("name" "Select")');
    select.fields.cmd_name = 'SELECT';
    const refused = event('("name" "Bad")');
    refused.fields.tagged_reply_state = 'BAD';
    for (const e of [select, refused]) assert.equal((await postEvent(e)).status, 204);
    assert.equal((await rowOf(who.user.id, who.id)).clientName, null);

    // 2,000 characters of escapes: recorded, cut to 64, printable.
    assert.equal((await postEvent(event(`("name" "${'\\"\\\\'.repeat(500)}" "version" "\u0007${'9'.repeat(200)}")`))).status, 204);
    const row = await rowOf(who.user.id, who.id);
    assert.equal(row.clientName, '"\\'.repeat(32));
    assert.equal(row.clientVersion, '9'.repeat(64));
  });

  test('a real client’s ID of 2,000 escaped characters is cut or dropped, and the next one is recorded', async () => {
    const { user, secret, id } = await withPassword('Escapes');
    const out = await idClient(stack.nginx.imapPort, user.email, secret, '127.0.0.10', `("name" "${'\\\\'.repeat(2000)}" "version" "1")`);
    assert.match(out, /LOGGED-OUT/);
    // Dovecot's event is larger than the endpoint takes: refused (Dovecot logs it), or cut if it fits.
    await new Promise((r) => setTimeout(r, 1500));
    const name = (await rowOf(user.id, id)).clientName;
    assert.ok(name === null || name === '\\'.repeat(64), String(name));
    assert.match(await idClient(stack.nginx.imapPort, user.email, secret, '127.0.0.10', '("name" "Sane" "version" "3")'), /LOGGED-OUT/);
    await soon(async () => assert.equal((await rowOf(user.id, id)).clientName, 'Sane'), 5000);
    const log = fs.readFileSync(stack.dovecot.logFile, 'utf8');
    if (name === null) assert.match(log, /Failed to export event via HTTP POST: 413/);
    assert.doesNotMatch(log, /Fatal|Panic/);
  });
});

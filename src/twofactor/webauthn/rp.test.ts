import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { counterAccepted, relyingParty } from './rp.ts';
import { CHALLENGE_TTL_MS, keepChallenge, openChallenge, sealChallenge, takeChallenge } from './challenge.ts';
import { readAuthentication, readRegistration } from './schema.ts';

describe('the relying party comes from PUBLIC_URL', () => {
  test('https: the host is the RP id and the origin keeps a port, never a path', () => {
    assert.deepEqual(relyingParty('https://Mail.Example.edu/postern/', 'Postern'), { ok: true, id: 'mail.example.edu', origin: 'https://mail.example.edu', name: 'Postern' });
    assert.deepEqual(relyingParty('https://mail.example.edu:8443', 'P'), { ok: true, id: 'mail.example.edu', origin: 'https://mail.example.edu:8443', name: 'P' });
  });

  test('http is refused except on localhost, which browsers treat as secure', () => {
    assert.deepEqual(relyingParty('http://localhost:8080', 'P'), { ok: true, id: 'localhost', origin: 'http://localhost:8080', name: 'P' });
    assert.deepEqual(relyingParty('http://mail.localhost', 'P'), { ok: true, id: 'mail.localhost', origin: 'http://mail.localhost', name: 'P' });
    assert.deepEqual(relyingParty('http://mail.example.edu', 'P'), { ok: false, reason: 'insecure' });
    assert.deepEqual(relyingParty('http://localhost.example.edu', 'P'), { ok: false, reason: 'insecure' });
  });

  test('unset, an IP address (no RP id can be one) and other schemes are refused with their reason', () => {
    assert.deepEqual(relyingParty(undefined, 'P'), { ok: false, reason: 'unset' });
    assert.deepEqual(relyingParty('', 'P'), { ok: false, reason: 'unset' });
    assert.deepEqual(relyingParty('https://192.0.2.10', 'P'), { ok: false, reason: 'ip' });
    assert.deepEqual(relyingParty('http://127.0.0.1:8080', 'P'), { ok: false, reason: 'ip' });
    assert.deepEqual(relyingParty('https://[2001:db8::1]/', 'P'), { ok: false, reason: 'ip' });
    assert.deepEqual(relyingParty('ftp://mail.example.edu', 'P'), { ok: false, reason: 'invalid' });
    assert.deepEqual(relyingParty('not a url', 'P'), { ok: false, reason: 'invalid' });
  });
});

describe('the sign-counter rule', () => {
  test('a counter must move on; one that goes back or stands still is a possible copy', () => {
    assert.equal(counterAccepted(0, 1), true);
    assert.equal(counterAccepted(41, 42), true);
    assert.equal(counterAccepted(42, 42), false);
    assert.equal(counterAccepted(42, 7), false);
    assert.equal(counterAccepted(42, 0), false, 'a key that kept a counter cannot start reporting none');
  });

  test('authenticators that keep no counter report zero every time, and are accepted', () => {
    assert.equal(counterAccepted(0, 0), true);
  });
});

describe('a session’s challenge', () => {
  const T = 1_800_000_000_000;
  test('is taken once, for its purpose and account only, within five minutes', () => {
    const session: Record<string, unknown> = {};
    keepChallenge(session, 'login', 'abc', 'user-1', T);
    assert.equal(takeChallenge(session, 'login', 'user-1', T + 1000), 'abc');
    assert.equal(takeChallenge(session, 'login', 'user-1', T + 1000), undefined, 'single use');

    keepChallenge(session, 'login', 'abc', 'user-1', T);
    assert.equal(takeChallenge(session, 'stepup', 'user-1', T), undefined, 'another purpose');
    assert.equal(takeChallenge(session, 'login', 'user-1', T), undefined, 'and a wrong try uses it up');

    keepChallenge(session, 'login', 'abc', 'user-1', T);
    assert.equal(takeChallenge(session, 'login', 'user-2', T), undefined, 'another account');

    keepChallenge(session, 'stepup', 'abc', 'user-1', T);
    assert.equal(takeChallenge(session, 'stepup', 'user-1', T + CHALLENGE_TTL_MS), undefined, 'expired');
    keepChallenge(session, 'stepup', 'abc', 'user-1', T);
    assert.equal(takeChallenge(session, 'stepup', 'user-1', T + CHALLENGE_TTL_MS - 1), 'abc');
  });
});

describe('a passkey sign-in’s sealed challenge', () => {
  const T = 1_800_000_000_000;
  const key = Buffer.alloc(32, 7);
  test('opens to its challenge within five minutes, under our key only', () => {
    const sealed = sealChallenge(key, 'abc_-1', T);
    assert.equal(openChallenge(key, sealed, T + CHALLENGE_TTL_MS - 1), 'abc_-1');
    assert.equal(openChallenge(key, sealed, T + CHALLENGE_TTL_MS), undefined, 'expired');
    assert.equal(openChallenge(key, sealed, T - 1), undefined, 'from the future');
    assert.equal(openChallenge(Buffer.alloc(32, 8), sealed, T), undefined, 'another key');
  });

  test('a changed challenge or time, junk and oversized values open to nothing', () => {
    const [, at, mac] = sealChallenge(key, 'abc', T).split('.');
    assert.equal(openChallenge(key, `abd.${at}.${mac}`, T), undefined);
    assert.equal(openChallenge(key, `abc.${Number(at) + 1}.${mac}`, T), undefined);
    for (const junk of [undefined, '', 'abc', 'abc..', `abc.${at}.${mac}.x`, `abc.1e3.${mac}`, 'a.'.repeat(400)]) assert.equal(openChallenge(key, junk, T), undefined, String(junk));
  });
});

describe('the browser’s answer is read strictly', () => {
  test('junk, wrong shapes and oversized fields are refused', () => {
    assert.equal(readAuthentication('not json'), undefined);
    assert.equal(readAuthentication('{}'), undefined);
    assert.equal(readAuthentication(JSON.stringify({ id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'x', authenticatorData: 'y', signature: 'z'.repeat(3000) } })), undefined);
    assert.equal(readAuthentication(JSON.stringify({ id: 'a<b', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'x', authenticatorData: 'y', signature: 'z' } })), undefined);
    assert.equal(readRegistration(JSON.stringify({ id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'x' } })), undefined);
    const ok = readAuthentication(JSON.stringify({ id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'x', authenticatorData: 'y', signature: 'z' }, extra: 1 }));
    assert.equal(ok?.id, 'a');
  });
});

describe('the WebAuthn browser library served from public/', () => {
  test('is byte for byte the installed @simplewebauthn/browser build, so an upgrade cannot leave it stale', () => {
    const root = new URL('../../../', import.meta.url);
    const pkg = new URL('node_modules/@simplewebauthn/browser/', root);
    const version = (JSON.parse(readFileSync(new URL('package.json', pkg), 'utf8')) as { version: string }).version;
    const installed = readFileSync(new URL('dist/bundle/index.umd.min.js', pkg));
    const served = readFileSync(new URL(`public/vendor/simplewebauthn-browser-${version}.umd.min.js`, root));
    assert.ok(served.equals(installed), `public/vendor/simplewebauthn-browser-${version}.umd.min.js differs from the package's dist/bundle/index.umd.min.js`);
    const view = readFileSync(new URL('views/security/_webauthn-form.ejs', root), 'utf8');
    assert.ok(view.includes(`/static/vendor/simplewebauthn-browser-${version}.umd.min.js`), 'the pages load that file');
  });
});

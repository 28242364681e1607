import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonical, loginKey, nginxRequest } from './login-request.ts';

const ask = (headers: Record<string, string>) => (name: string) => headers[name];
const nginx = { 'auth-method': 'plain', 'auth-protocol': 'IMAP', 'auth-user': 'alice%40example.test', 'auth-pass': 'a%20b%25', 'client-ip': '192.0.2.1' };

describe('nginxRequest', () => {
  test('reads the URL-escaped credentials, the protocol and the client’s address', () => {
    assert.deepEqual(nginxRequest(ask(nginx)), { user: 'alice@example.test', secret: 'a b%', protocol: 'imap', clientIp: '192.0.2.1', attempt: 1 });
    assert.equal(nginxRequest(ask({ ...nginx, 'auth-login-attempt': '3' }))?.attempt, 3);
  });

  test('takes a malformed escape as typed rather than failing', () => {
    assert.equal(nginxRequest(ask({ ...nginx, 'auth-pass': '100%' }))?.secret, '100%');
  });

  test('falls back to the caller’s address when nginx sends none', () => {
    const { 'client-ip': _, ...rest } = nginx;
    assert.equal(nginxRequest(ask(rest), '198.51.100.7')?.clientIp, '198.51.100.7');
    assert.equal(nginxRequest(ask(rest))?.clientIp, 'unknown');
  });

  test('takes only IMAP and SMTP, with PLAIN or LOGIN', () => {
    assert.equal(nginxRequest(ask({ ...nginx, 'auth-protocol': 'pop3' })), undefined);
    assert.equal(nginxRequest(ask({ ...nginx, 'auth-method': 'cram-md5' })), undefined);
    assert.equal(nginxRequest(ask({ ...nginx, 'auth-method': 'LOGIN', 'auth-protocol': 'smtp' }))?.protocol, 'smtp');
  });
});

describe('canonical and loginKey', () => {
  const login = { user: ' Alice@Example.TEST ', secret: 's3cret', protocol: 'imap' as const, clientIp: '192.0.2.1' };

  test('the name is trimmed and lower-cased, an address that is no IP is unknown', () => {
    assert.equal(canonical(login).user, 'alice@example.test');
    assert.equal(canonical({ ...login, clientIp: 'not-an-ip' }).clientIp, 'unknown');
    assert.equal(canonical({ ...login, clientIp: '2001:db8::1' }).clientIp, '2001:db8::1');
  });

  test('one key for the ways of typing one name; another for another password, protocol or address', () => {
    const key = loginKey(login);
    assert.equal(loginKey({ ...login, user: 'alice@example.test' }), key);
    assert.notEqual(loginKey({ ...login, secret: 's3creT' }), key);
    assert.notEqual(loginKey({ ...login, protocol: 'smtp' }), key);
    assert.notEqual(loginKey({ ...login, clientIp: '192.0.2.2' }), key);
    assert.doesNotMatch(key, /alice|s3cret/);
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import supertest from 'supertest';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser } from '../../test/helpers/factories.ts';
import { createMailauthApp } from './mailauth-app.ts';

const SECRET = 'mailauth-listen-secret-0123456789';
const MAIL_ENV = {
  MAILAUTH_SECRET: SECRET,
  MAILAUTH_LISTEN: '127.0.0.1:9143',
  IMAP_HOST: '127.0.0.1',
  IMAP_PORT: '10143',
  SUBMISSION_HOST: '127.0.0.1',
  SUBMISSION_PORT: '10587',
  MAIL_MASTER_USER: 'postern',
  MAIL_MASTER_PASSWORD: 'master-pw-123',
};

let t: TestApp;
before(async () => {
  t = await startApp(MAIL_ENV);
});
after(() => t.close());

/** withAppPassword makes a user who may log in to IMAP with the returned secret. */
async function withAppPassword(): Promise<{ email: string; secret: string }> {
  const user = await buildUser(t.s);
  const { secret } = await t.s.appPasswords.create(user, { name: 'Thunderbird', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: 'test' });
  return { email: user.email, secret };
}

/** nginxAsks sends what nginx's auth_http sends to `app`. */
function nginxAsks(app: Parameters<typeof supertest>[0], user: string, pass: string) {
  return supertest(app)
    .get('/mailauth/nginx')
    .set('X-Mailauth-Secret', SECRET)
    .set('Auth-Method', 'plain')
    .set('Auth-User', encodeURIComponent(user))
    .set('Auth-Pass', encodeURIComponent(pass))
    .set('Auth-Protocol', 'imap')
    .set('Auth-Login-Attempt', '1')
    .set('Client-IP', '192.0.2.20');
}

describe('with MAILAUTH_LISTEN set', () => {
  test('the public web app answers 404 to nginx and Dovecot, even with the right secret and password', async () => {
    const { email, secret } = await withAppPassword();
    const nginx = await nginxAsks(t.app, email, secret);
    assert.equal(nginx.status, 404);
    assert.equal(nginx.headers['auth-status'], undefined);
    assert.equal(nginx.headers['auth-pass'], undefined);
    const dovecot = await supertest(t.app)
      .post('/mailauth/dovecot')
      .set('X-Mailauth-Secret', SECRET)
      .type('form')
      .send({ user: email, password: secret, protocol: 'imap', client_ip: '192.0.2.20' });
    assert.equal(dovecot.status, 404);
  });

  test('the mail-login app answers nginx and Dovecot, and nothing else', async () => {
    const mailauth = createMailauthApp(t.s);
    const { email, secret } = await withAppPassword();
    const nginx = await nginxAsks(mailauth, email, secret);
    assert.equal(nginx.headers['auth-status'], 'OK');
    assert.equal(nginx.headers['auth-server'], '127.0.0.1');
    assert.equal(nginx.headers['auth-port'], '10143');
    assert.equal(nginx.headers['auth-user'], `${email}*postern`);
    const wrong = await nginxAsks(mailauth, email, 'not-the-app-password');
    assert.notEqual(wrong.headers['auth-status'], 'OK');
    const dovecot = await supertest(mailauth)
      .post('/mailauth/dovecot')
      .set('X-Mailauth-Secret', SECRET)
      .type('form')
      .send({ user: email, password: secret, protocol: 'imap', client_ip: '192.0.2.20' });
    assert.equal(dovecot.status, 200);
    for (const path of ['/', '/login', '/healthz', '/static/app.css']) assert.equal((await supertest(mailauth).get(path)).status, 404, path);
  });
});

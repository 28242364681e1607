import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import supertest from 'supertest';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser } from '../../test/helpers/factories.ts';
import { startMailauthFront, type MailauthFront } from './front.ts';
import { mailauthEnv, nginxAsks as askAsNginx } from '../../test/helpers/nginx-ask.ts';

const SECRET = 'mailauth-listen-secret-0123456789';
const MAIL_ENV = mailauthEnv(SECRET, { MAILAUTH_LISTEN: '127.0.0.1:0' });

let t: TestApp;
let front: MailauthFront;
let url: string;
before(async () => {
  t = await startApp(MAIL_ENV);
  front = await startMailauthFront(t.s, { host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${front.port}`;
});
after(async () => {
  await front.close();
  await t.close();
});

/** withAppPassword makes a user who may log in to IMAP with the returned secret. */
async function withAppPassword(): Promise<{ email: string; secret: string }> {
  const user = await buildUser(t.s);
  const { secret } = await t.s.appPasswords.create(user, { name: 'Thunderbird', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: 'test' });
  return { email: user.email, secret };
}

/** nginxAsks asks `target` as nginx does, with this suite's secret unless told otherwise. */
function nginxAsks(target: string | TestApp['app'], user: string, pass: string, secret = SECRET) {
  return askAsNginx(target, user, pass, { secret, ip: '192.0.2.20' });
}

function dovecotAsks(form: string | Record<string, string>, secret = SECRET) {
  return supertest(url).post('/mailauth/dovecot').set('X-Mailauth-Secret', secret).type('form').send(form);
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

  test('its own address answers nginx and Dovecot, and nothing else', async () => {
    const { email, secret } = await withAppPassword();
    const nginx = await nginxAsks(url, email, secret);
    assert.equal(nginx.headers['auth-status'], 'OK');
    assert.equal(nginx.headers['auth-server'], '127.0.0.1');
    assert.equal(nginx.headers['auth-port'], '10143');
    assert.equal(nginx.headers['auth-user'], `${email}*postern`);
    const wrong = await nginxAsks(url, email, 'not-the-app-password');
    assert.equal(wrong.headers['auth-status'], 'Authentication failed.');
    const dovecot = await dovecotAsks({ user: email, password: secret, protocol: 'imap', client_ip: '192.0.2.20' });
    assert.equal(dovecot.status, 200);
    assert.equal(dovecot.text, email);
    for (const path of ['/', '/login', '/healthz', '/static/app.css', '/mailauth/nginx/']) assert.equal((await supertest(url).get(path)).status, 404, path);
    assert.equal((await supertest(url).post('/mailauth/nginx')).status, 404, 'nginx asks with GET only');
  });

  test('callers without the secret, oversized and repeated fields get no verdict', async () => {
    const { email, secret } = await withAppPassword();
    const stranger = await nginxAsks(url, email, secret, 'a-guess');
    assert.equal(stranger.status, 401);
    assert.equal(stranger.headers['auth-status'], 'Temporary authentication failure. Try again later.');
    assert.equal(stranger.headers['auth-user'], undefined);
    assert.equal((await dovecotAsks({ user: email, password: secret, protocol: 'imap' }, 'a-guess')).status, 401);
    const huge = await dovecotAsks({ user: email, password: 'x'.repeat(1024 * 1024), protocol: 'imap' }).catch((err: { code?: string }) => ({ status: err.code }));
    assert.ok(huge.status === 413 || huge.status === 'EPIPE' || huge.status === 'ECONNRESET', `a 1 MB form: ${huge.status}`);
    assert.equal((await dovecotAsks(`user=${encodeURIComponent(email)}&user=other%40example.test&password=${secret}&protocol=imap`)).status, 400);
    // The front still answers after all that.
    assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'OK');
  });

  test('300 logins arriving at once are all answered within nginx’s 5 s while the main thread is busy', async () => {
    // The main thread busy in 40 ms stretches, as when hundreds of logins reconnect: one connection accepted per
    // stretch would take 12 s for 300. Each asks without a method, which is refused without touching the store.
    const busy = setInterval(() => {
      const until = Date.now() + 40;
      while (Date.now() < until);
    }, 1);
    try {
      const script = `
        const http = require('node:http');
        const started = Date.now(); let answered = 0; let slowest = 0;
        const ask = () => new Promise((done) => {
          const req = http.get(${JSON.stringify(url)} + '/mailauth/nginx', { agent: false, headers: { 'X-Mailauth-Secret': ${JSON.stringify(SECRET)}, 'Auth-Protocol': 'imap', 'Auth-User': 'x' } }, (res) => {
            res.resume();
            if (res.headers['auth-status']) answered++;
            slowest = Math.max(slowest, Date.now() - started);
            done();
          });
          req.setTimeout(5000, () => { req.destroy(); done(); });
          req.on('error', () => done());
        });
        Promise.all(Array.from({ length: 300 }, ask)).then(() => console.log(JSON.stringify({ answered, slowest })));`;
      const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', script], (err, stdout) => (err ? reject(err) : resolve(stdout))));
      const { answered, slowest } = JSON.parse(out) as { answered: number; slowest: number };
      assert.equal(answered, 300, `answered ${answered} of 300, the last after ${slowest} ms`);
    } finally {
      clearInterval(busy);
    }
  });
});

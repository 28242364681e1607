import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import nodemailer from 'nodemailer';
import {
  freePort,
  startDovecot,
  startNginx,
  startSmtpSink,
  type DovecotInstance,
  type NginxInstance,
  type SmtpSink,
} from './harness/index.ts';

// The fake stands in for Postern's two mail-auth endpoints: two mailboxes,
// one of them with an app password, and another name for that mailbox.
const USER = 'alice@example.test';
const PASSWORD = 'app-password-1';
const OTHER_USER = 'someone@example.test';
const ALIAS = 'alias@example.test';
/** Every name the fake accepts, and the canonical mailbox it names in its answer. */
const CANONICAL = new Map([
  [USER, USER],
  [OTHER_USER, OTHER_USER],
  [ALIAS, USER],
]);
const SECRET = 'mailauth-test-secret';
const PLAIN_USER = 'bob@example.test';
const PLAIN_PASSWORD = 'bob-password';
const REFUSAL = 'Use an app password from Postern';
const THROTTLED = 'Too many failed logins, try again in 5 minutes';

interface FakePostern {
  url: string;
  /** Bodies of POST /mailauth/dovecot, as the Lua passdb sent them. */
  dovecotRequests: Array<Record<string, string>>;
  /** Headers of GET /mailauth/nginx, as nginx sent them. */
  nginxRequests: http.IncomingHttpHeaders[];
  /** When set, /mailauth/dovecot answers this status whatever the request. */
  forceStatus?: number;
  /** When set, /mailauth/dovecot names this mailbox (instead of the canonical one) when it accepts. */
  forceName?: string;
  close(): Promise<void>;
}

async function startFakePostern(backend: () => DovecotInstance): Promise<FakePostern> {
  const fake: FakePostern = {
    url: '',
    dovecotRequests: [],
    nginxRequests: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const nginxAuth = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    fake.nginxRequests.push(req.headers);
    const user = decodeURIComponent(String(req.headers['auth-user']));
    const pass = decodeURIComponent(String(req.headers['auth-pass']));
    const dovecot = backend();
    if (req.headers['x-mailauth-secret'] !== SECRET || user !== USER || pass !== PASSWORD) {
      res.writeHead(200, { 'Auth-Status': REFUSAL }).end();
      return;
    }
    const port = req.headers['auth-protocol'] === 'smtp' ? dovecot.submissionPort : dovecot.imapPort;
    res.writeHead(200, {
      'Auth-Status': 'OK',
      'Auth-Server': '127.0.0.1',
      'Auth-Port': String(port),
      'Auth-User': `${user}*${dovecot.masterUser}`,
      'Auth-Pass': dovecot.masterPassword,
    }).end();
  };

  const dovecotAuth = (req: http.IncomingMessage, res: http.ServerResponse, body: string): void => {
    const form = Object.fromEntries(new URLSearchParams(body));
    fake.dovecotRequests.push(form);
    if (fake.forceStatus) {
      res.writeHead(fake.forceStatus).end(fake.forceStatus === 429 ? THROTTLED : 'forced');
    } else if (req.headers['x-mailauth-secret'] !== SECRET) {
      res.writeHead(401).end();
    } else if (!CANONICAL.has(form.user)) {
      res.writeHead(404).end();
    } else if (form.master || form.password === PASSWORD) {
      res.writeHead(200).end(fake.forceName ?? CANONICAL.get(form.user));
    } else {
      res.writeHead(403).end(REFUSAL);
    }
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/mailauth/nginx') nginxAuth(req, res);
      else if (req.method === 'POST' && req.url === '/mailauth/dovecot') dovecotAuth(req, res, body);
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return fake;
}

function imapClient(port: number, auth: ImapFlowOptions['auth'], extra: Partial<ImapFlowOptions> = {}): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port, secure: false, logger: false, auth, ...extra });
}

/** imapLoginError returns the error a login fails with (and fails the test if it succeeds). */
async function imapLoginError(port: number, user: string, pass: string): Promise<Error & Record<string, unknown>> {
  const client = imapClient(port, { user, pass });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  await client.logout();
  throw new Error(`login as ${user} unexpectedly succeeded`);
}

/** storedIn reads the new messages in a mailbox's maildir (<mailDir>/<domain>/<local part>/Maildir). */
function storedIn(address: string): string[] {
  const [local, domain] = address.split('@') as [string, string];
  const maildir = path.join(dovecot.mailDir, domain, local, 'Maildir', 'new');
  if (!fs.existsSync(maildir)) return [];
  return fs.readdirSync(maildir).map((file) => fs.readFileSync(path.join(maildir, file), 'utf8'));
}

let fake: FakePostern;
let sink: SmtpSink;
let dovecot: DovecotInstance;
let nginx: NginxInstance;

before(async () => {
  fake = await startFakePostern(() => dovecot);
  sink = await startSmtpSink();
  dovecot = await startDovecot({
    relay: { host: '127.0.0.1', port: sink.port },
    postern: { url: fake.url, secret: SECRET },
    users: { [PLAIN_USER]: PLAIN_PASSWORD },
  });
  nginx = await startNginx({ postern: { url: fake.url, secret: SECRET } });
});

after(async () => {
  await Promise.all([nginx?.stop(), dovecot?.stop(), sink?.stop(), fake?.close()]);
});

describe('IMAP through the nginx mail proxy', () => {
  test('logs in with the good password and lists INBOX', async () => {
    const client = imapClient(nginx.imapPort, { user: USER, pass: PASSWORD });
    await client.connect();
    try {
      const mailboxes = await client.list();
      assert.ok(mailboxes.some((box) => box.path === 'INBOX'));
    } finally {
      await client.logout();
    }
    const asked = fake.nginxRequests.at(-1)!;
    assert.equal(asked['x-mailauth-secret'], SECRET);
    assert.equal(asked['auth-protocol'], 'imap');
  });

  test('shows the auth server refusal text for a bad password', async () => {
    const err = await imapLoginError(nginx.imapPort, USER, 'wrong');
    assert.equal(err.authenticationFailed, true);
    assert.match(String(err.responseText), new RegExp(REFUSAL));
  });
});

describe('SMTP submission through the nginx mail proxy', () => {
  const transport = (pass: string) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: nginx.smtpPort,
      secure: false,
      ignoreTLS: true,
      auth: { user: USER, pass },
    });

  test('relays an authenticated message to the SMTP sink with its envelope', async () => {
    const subject = `proxied ${Date.now()}`;
    await transport(PASSWORD).sendMail({
      from: USER,
      to: 'bob@example.net',
      cc: 'carol@example.net',
      subject,
      text: 'hello through nginx',
    });
    const message = await sink.waitFor((m) => m.parsed.subject === subject);
    assert.equal(message.from, USER);
    assert.deepEqual(message.to.sort(), ['bob@example.net', 'carol@example.net']);
    assert.match(message.parsed.text ?? '', /hello through nginx/);
    assert.equal(fake.nginxRequests.at(-1)!['auth-protocol'], 'smtp');
  });

  test('shows the auth server refusal text for a bad password', async () => {
    await assert.rejects(transport('wrong').verify(), (err: Error & { response?: string }) => {
      assert.match(String(err.response), new RegExp(`^535 .*${REFUSAL}`));
      return true;
    });
  });
});

describe('Dovecot asking Postern through deploy/dovecot/postern-auth.lua', () => {
  test('accepts the good password and sends the documented form fields', async () => {
    const client = imapClient(dovecot.imapPort, { user: USER, pass: PASSWORD });
    await client.connect();
    await client.logout();
    const { client_id, ...fields } = fake.dovecotRequests.at(-1)!;
    assert.deepEqual(fields, {
      user: USER,
      password: PASSWORD,
      protocol: 'imap',
      client_ip: '127.0.0.1',
      master: '',
    });
    // imapflow names itself with ID before logging in; Dovecot (imap_id_retain) hands the pairs over.
    assert.match(client_id ?? '', /^"name" "imapflow" "version" "[\d.]+"/);
  });

  test('maps the submission service to protocol smtp', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: dovecot.submissionPort,
      secure: false,
      ignoreTLS: true,
      auth: { user: USER, pass: PASSWORD },
    });
    await transport.verify();
    assert.equal(fake.dovecotRequests.at(-1)!.protocol, 'smtp');
  });

  test('refuses a bad password with the reason text from the response body', async () => {
    const err = await imapLoginError(dovecot.imapPort, USER, 'wrong');
    assert.equal(err.responseText, REFUSAL);
  });

  test('refuses an unknown user', async () => {
    const err = await imapLoginError(dovecot.imapPort, 'nobody@example.test', PASSWORD);
    assert.equal(err.serverResponseCode, 'AUTHENTICATIONFAILED');
  });

  test('shows the throttling reason on 429', async () => {
    fake.forceStatus = 429;
    try {
      const err = await imapLoginError(dovecot.imapPort, USER, PASSWORD);
      assert.equal(err.responseText, THROTTLED);
    } finally {
      fake.forceStatus = undefined;
    }
  });

  test('fails temporarily when the auth server answers 500', async () => {
    fake.forceStatus = 500;
    try {
      const err = await imapLoginError(dovecot.imapPort, USER, PASSWORD);
      assert.equal(err.serverResponseCode, 'UNAVAILABLE');
    } finally {
      fake.forceStatus = undefined;
    }
  });

  test('opens the mailbox Postern names, not the one the client typed', async () => {
    const subject = `canonical ${Date.now()}`;
    const client = imapClient(dovecot.imapPort, { user: ALIAS, pass: PASSWORD });
    await client.connect();
    try {
      await client.append('INBOX', `From: ${USER}\r\nSubject: ${subject}\r\n\r\nhi\r\n`);
    } finally {
      await client.logout();
    }
    assert.ok(storedIn(USER).some((raw) => raw.includes(subject)), "in the canonical mailbox's maildir");
    assert.ok(!fs.existsSync(path.join(dovecot.mailDir, 'example.test', 'alias')), 'no maildir for the typed name');
  });

  test('fails temporarily when Postern accepts without naming a usable mailbox', async () => {
    for (const name of ['', 'alice@example.test\r\nnologin=y', 'alice@example.test\tuid=0', '../alice@example.test', 'alice', 'x'.repeat(321) + '@example.test']) {
      fake.forceName = name;
      try {
        const err = await imapLoginError(dovecot.imapPort, USER, PASSWORD);
        assert.equal(err.serverResponseCode, 'UNAVAILABLE', JSON.stringify(name));
      } finally {
        fake.forceName = undefined;
      }
    }
  });

  test('logs a passwd-file user in without asking Postern', async () => {
    const asked = fake.dovecotRequests.length;
    const client = imapClient(dovecot.imapPort, { user: PLAIN_USER, pass: PLAIN_PASSWORD });
    await client.connect();
    await client.logout();
    assert.equal(fake.dovecotRequests.length, asked);
  });

  test('fails temporarily when the auth server is down', async () => {
    const orphan = await startDovecot({ postern: { url: `http://127.0.0.1:${await freePort()}`, secret: SECRET } });
    try {
      const err = await imapLoginError(orphan.imapPort, USER, PASSWORD);
      assert.equal(err.serverResponseCode, 'UNAVAILABLE');
    } finally {
      await orphan.stop();
    }
  });
});

describe('master user', () => {
  test("opens the authorization identity's own mailbox", async () => {
    const subject = `delegated ${Date.now()}`;
    const client = imapClient(dovecot.imapPort, {
      user: dovecot.masterUser,
      pass: dovecot.masterPassword,
      authzid: OTHER_USER,
    });
    await client.connect();
    try {
      await client.append('INBOX', `From: ${USER}\r\nTo: ${OTHER_USER}\r\nSubject: ${subject}\r\n\r\nhi\r\n`);
      const status = await client.status('INBOX', { messages: true });
      assert.ok(status);
      assert.equal(status.messages, 1);
    } finally {
      await client.logout();
    }
    // Only an existence check reaches Postern: no password, master named.
    assert.deepEqual(fake.dovecotRequests.at(-1), {
      user: OTHER_USER,
      protocol: 'imap',
      client_ip: '127.0.0.1',
      master: dovecot.masterUser,
    });
    assert.ok(storedIn(OTHER_USER).some((raw) => raw.includes(subject)));
  });

  test('opens the mailbox Postern names for the authorization identity', async () => {
    const subject = `delegated canonical ${Date.now()}`;
    const client = imapClient(dovecot.imapPort, { user: dovecot.masterUser, pass: dovecot.masterPassword, authzid: ALIAS });
    await client.connect();
    try {
      await client.append('INBOX', `From: ${USER}\r\nSubject: ${subject}\r\n\r\nhi\r\n`);
    } finally {
      await client.logout();
    }
    assert.ok(storedIn(USER).some((raw) => raw.includes(subject)));
    assert.ok(!fs.existsSync(path.join(dovecot.mailDir, 'example.test', 'alias')));
  });

  test('is refused for a mailbox owner Postern does not know', async () => {
    const err = await imapLoginError(dovecot.imapPort, `ghost@example.test*${dovecot.masterUser}`, dovecot.masterPassword);
    assert.equal(err.authenticationFailed, true);
  });
});

describe('nginx with tls: true', () => {
  let tlsNginx: NginxInstance;
  before(async () => {
    tlsNginx = await startNginx({ postern: { url: fake.url, secret: SECRET }, tls: true });
  });
  after(() => tlsNginx?.stop());

  for (const mode of ['STARTTLS', 'implicit TLS'] as const) {
    test(`logs in over IMAP with ${mode}`, async () => {
      const implicit = mode === 'implicit TLS';
      const port = implicit ? tlsNginx.imapsPort! : tlsNginx.imapPort;
      const client = imapClient(port, { user: USER, pass: PASSWORD }, {
        secure: implicit,
        tls: { ca: tlsNginx.certPem, servername: 'mail.example.test' },
      });
      await client.connect();
      try {
        assert.equal(client.secureConnection, true);
        assert.ok((await client.list()).some((box) => box.path === 'INBOX'));
      } finally {
        await client.logout();
      }
    });
  }

  test('relays a message over SMTP after STARTTLS', async () => {
    const subject = `starttls ${Date.now()}`;
    await nodemailer
      .createTransport({
        host: '127.0.0.1',
        port: tlsNginx.smtpPort,
        secure: false,
        requireTLS: true,
        tls: { ca: tlsNginx.certPem, servername: 'mail.example.test' },
        auth: { user: USER, pass: PASSWORD },
      })
      .sendMail({ from: USER, to: 'bob@example.net', subject, text: 'over tls' });
    await sink.waitFor((m) => m.parsed.subject === subject);
  });
});

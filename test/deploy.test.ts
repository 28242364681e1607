import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeSelfSignedCert } from './harness/index.ts';

// The files administrators copy from deploy/ must be accepted by the very
// nginx and Dovecot versions the tests run (the mail-stack tests prove their
// behaviour through parallel configs and the shipped Lua script itself).
const deployDir = fileURLToPath(new URL('../deploy/', import.meta.url));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-deploy-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('nginx accepts deploy/nginx/postern-mail.conf', () => {
  const { certFile, keyFile } = makeSelfSignedCert(scratch);
  const shipped = fs.readFileSync(path.join(deployDir, 'nginx', 'postern-mail.conf'), 'utf8');
  const mailConf = path.join(scratch, 'postern-mail.conf');
  fs.writeFileSync(
    mailConf,
    shipped
      .replace('/etc/letsencrypt/live/mail.example.com/fullchain.pem', certFile)
      .replace('/etc/letsencrypt/live/mail.example.com/privkey.pem', keyFile),
  );
  // What Debian's nginx.conf provides around the include line.
  const mainConf = path.join(scratch, 'nginx.conf');
  fs.writeFileSync(
    mainConf,
    [
      'load_module /usr/lib/nginx/modules/ngx_mail_module.so;',
      `pid ${scratch}/nginx.pid;`,
      'events {}',
      'http {}',
      `include ${mailConf};`,
      '',
    ].join('\n'),
  );
  const errorLog = path.join(scratch, 'nginx-error.log');
  const result = spawnSync('nginx', ['-t', '-p', scratch, '-c', mainConf, '-e', errorLog], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /test is successful/);
  assert.match(shipped, /^\s+proxy_protocol on;$/m);
});

test('nginx accepts deploy/nginx/postern-nodes.conf (several nodes behind one address)', () => {
  const mainConf = path.join(scratch, 'nginx-nodes.conf');
  fs.writeFileSync(
    mainConf,
    [`pid ${scratch}/nginx-nodes.pid;`, 'events {}', 'http {', `  include ${path.join(deployDir, 'nginx', 'postern-nodes.conf')};`, '}', ''].join('\n'),
  );
  const result = spawnSync('nginx', ['-t', '-p', scratch, '-c', mainConf, '-e', path.join(scratch, 'nginx-nodes-error.log')], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /test is successful/);
});

test('Dovecot accepts the deploy/dovecot/conf.d snippets', () => {
  const conf = path.join(scratch, 'dovecot.conf');
  fs.writeFileSync(
    conf,
    ['protocols = imap submission', `!include ${path.join(deployDir, 'dovecot', 'conf.d')}/*.conf`, ''].join('\n'),
  );
  const result = spawnSync('doveconf', ['-n', '-c', conf], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /auth_master_user_separator = \*/);
  assert.match(result.stdout, /driver = lua/);
  assert.match(result.stdout, /unix_listener anvil-auth-penalty {\n\s+mode = 00\n/);
  // nginx's PROXY header is read on the listeners Postern hands clients to, and trusted from loopback only.
  assert.match(result.stdout, /inet_listener imap_proxied {\n\s+address = 127\.0\.0\.1\n\s+haproxy = yes\n\s+port = 10144\n/);
  assert.match(result.stdout, /haproxy_trusted_networks = 127\.0\.0\.1 ::1/);
  // The doveadm API Postern kicks sessions through listens on loopback only.
  assert.match(result.stdout, /inet_listener http {\n\s+address = 127\.0\.0\.1\n\s+port = 10180\n/);
  // The ID a client sends before logging in reaches the Lua passdb; every ID command goes to Postern's events endpoint,
  // the secret as the URL's password (doveconf hides it), the webmail's listener left out.
  assert.match(result.stdout, /^imap_id_retain = yes$/m);
  assert.match(result.stdout, /event_exporter postern {\n\s+format = json\n\s+format_args = time-rfc3339\n\s+transport = http-post\n\s+transport_args = http:\/\/\S+@127\.0\.0\.1:3000\/mailauth\/events\n/);
  assert.match(result.stdout, /metric postern_imap_id {\n\s+exporter = postern\n\s+exporter_include = name fields\n\s+filter = event=imap_command_finished AND cmd_name=ID AND NOT local_port=10143\n/);
});

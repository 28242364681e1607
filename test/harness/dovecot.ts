import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';
import { makeDaemonDir, startDaemon } from './daemon.ts';
import { freePort } from './ports.ts';

/** The Lua passdb shipped to administrators; tests run this very file. */
export const POSTERN_AUTH_LUA = fileURLToPath(new URL('../../deploy/dovecot/postern-auth.lua', import.meta.url));
/** The IMAP ID exporter shipped to administrators; tests run it with their own address, secret and port. */
export const CLIENT_ID_CONF = fileURLToPath(new URL('../../deploy/dovecot/conf.d/15-postern-client-id.conf', import.meta.url));

/**
 * Who the instance's processes and mail belong to. As root: the Debian
 * package's system users, and mail owned by nobody (Dovecot refuses uid 0
 * for mail). Otherwise everything runs as the current user, which Dovecot
 * allows once the login services are not chrooted.
 */
interface Account {
  rootless: boolean;
  internalUser: string;
  internalGroup: string;
  loginUser: string;
  /** Group allowed to read the passwd-files. */
  authGroup: number;
  mailUid: number;
  mailGid: number;
}

function currentAccount(): Account {
  if (process.getuid?.() === 0) {
    const dovecotGid = Number(execFileSync('id', ['-g', 'dovecot'], { encoding: 'utf8' }).trim());
    return {
      rootless: false,
      internalUser: 'dovecot',
      internalGroup: 'dovecot',
      loginUser: 'dovenull',
      authGroup: dovecotGid,
      mailUid: 65534,
      mailGid: 65534,
    };
  }
  const me = os.userInfo();
  return {
    rootless: true,
    internalUser: me.username,
    internalGroup: execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim(),
    loginUser: me.username,
    authGroup: me.gid,
    mailUid: me.uid,
    mailGid: me.gid,
  };
}

export interface DovecotOptions {
  /** SMTP server Dovecot submission relays to. Without one, relaying fails. */
  relay?: { host: string; port: number };
  /**
   * Let Postern (or a fake) decide logins through deploy/dovecot/postern-auth.lua;
   * `url` is the base URL, the script posts to <url>/mailauth/dovecot.
   */
  postern?: { url: string; secret: string };
  /** Plain users with their passwords, for direct-to-Dovecot baselines (checked before Postern). */
  users?: Record<string, string>;
  masterUser?: string;
  masterPassword?: string;
  /** Log every auth step (auth_debug) into dovecot.log. */
  debug?: boolean;
  /** Open the doveadm HTTP API on a 127.0.0.1 port with this API key (for kicking sessions). */
  doveadmApiKey?: string;
  /**
   * Add IMAP and submission listeners that expect a PROXY protocol header
   * (nginx `proxy_protocol on`), so Dovecot sees each client's own address.
   */
  haproxy?: boolean;
  /**
   * Post every IMAP ID command to <postern.url>/mailauth/events with the
   * shipped deploy/dovecot/conf.d/15-postern-client-id.conf (needs `postern`).
   */
  clientIds?: boolean;
}

export interface DovecotInstance {
  imapPort: number;
  submissionPort: number;
  /** The listeners for nginx with `proxy_protocol on`; only with `haproxy: true`. */
  haproxyImapPort?: number;
  haproxySubmissionPort?: number;
  /** The doveadm HTTP API; only with `doveadmApiKey`. */
  doveadmUrl?: string;
  masterUser: string;
  masterPassword: string;
  /** Temp dir holding config, logs and mail; removed by stop(). */
  dir: string;
  /** Maildirs live at <mailDir>/<domain>/<local part>/Maildir. */
  mailDir: string;
  logFile: string;
  /** appendMessage stores a raw message in a user's mailbox via a master login. */
  appendMessage(user: string, raw: string | Buffer, mailbox?: string): Promise<void>;
  stop(): Promise<void>;
}

interface DovecotConfig {
  account: Account;
  dir: string;
  mailDir: string;
  logFile: string;
  imapPort: number;
  submissionPort: number;
  relay: { host: string; port: number };
  masterUsersFile: string;
  usersFile: string;
  postern?: { url: string; secret: string };
  debug: boolean;
  doveadm?: { port: number; apiKey: string };
  haproxy?: { imapPort: number; submissionPort: number };
  clientIds: boolean;
}

// Kept parallel to deploy/dovecot/conf.d/*.conf: master user, Lua passdb,
// anvil; the rest is what a private, unprivileged-port instance needs.
function renderConfig(c: DovecotConfig): string {
  const { account } = c;
  // Login services chroot by default, which only root may do.
  const chroot = account.rootless ? '\n  chroot =' : '';
  const lines = [
    `base_dir = ${c.dir}/run`,
    `state_dir = ${c.dir}/state`,
    `log_path = ${c.logFile}`,
    'protocols = imap submission',
    'listen = 127.0.0.1',
    'ssl = no',
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    'auth_verbose = yes',
    `auth_debug = ${c.debug ? 'yes' : 'no'}`,
    `default_internal_user = ${account.internalUser}`,
    `default_internal_group = ${account.internalGroup}`,
    `default_login_user = ${account.loginUser}`,
    'mail_location = maildir:~/Maildir',
    // Room for hundreds of clients logging in at once (the reconnect-storm benchmark), not Dovecot's 100.
    'default_process_limit = 1000',
    'default_client_limit = 4000',
    'hostname = mail.example.test',
    '',
    `service imap-login {${chroot}`,
    // One login process serves many connections (Dovecot's "high-performance" mode).
    '  service_count = 0',
    '  client_limit = 1000',
    `  inet_listener imap {\n    address = 127.0.0.1\n    port = ${c.imapPort}\n  }`,
    '  inet_listener imaps {\n    port = 0\n  }',
    ...(c.haproxy ? [`  inet_listener imap_proxied {\n    address = 127.0.0.1\n    port = ${c.haproxy.imapPort}\n    haproxy = yes\n  }`] : []),
    '}',
    `service submission-login {${chroot}`,
    `  inet_listener submission {\n    address = 127.0.0.1\n    port = ${c.submissionPort}\n  }`,
    ...(c.haproxy ? [`  inet_listener submission_proxied {\n    address = 127.0.0.1\n    port = ${c.haproxy.submissionPort}\n    haproxy = yes\n  }`] : []),
    '}',
    ...(c.haproxy ? ['haproxy_trusted_networks = 127.0.0.1'] : []),
    ...(c.doveadm
      ? [`doveadm_api_key = ${c.doveadm.apiKey}`, `service doveadm {\n  inet_listener http {\n    address = 127.0.0.1\n    port = ${c.doveadm.port}\n  }\n}`]
      : []),
    `submission_relay_host = ${c.relay.host}`,
    `submission_relay_port = ${c.relay.port}`,
    '',
    'auth_master_user_separator = *',
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN ${c.masterUsersFile}`,
    '  master = yes',
    // As in production, the Lua passdb confirms the mailbox owner exists.
    // Without it any user name is accepted (userdb allow_all_users).
    `  pass = ${c.postern ? 'yes' : 'no'}`,
    '}',
    // Dovecot wants a non-master passdb even when it holds nobody.
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN ${c.usersFile}`,
    '}',
  ];
  if (c.postern) {
    // Values in import_environment end at spaces: keep secrets URL-safe.
    lines.push(
      `import_environment = $import_environment POSTERN_URL=${c.postern.url} POSTERN_MAILAUTH_SECRET=${c.postern.secret}`,
      'passdb {',
      '  driver = lua',
      `  args = file=${POSTERN_AUTH_LUA} blocking=yes`,
      '}',
      // The client's pre-login ID reaches the Lua passdb as %{client_id}.
      'imap_id_retain = yes',
    );
    if (c.clientIds) lines.push(clientIdConfig(c.postern, c.imapPort));
  }
  lines.push(
    'userdb {',
    '  driver = static',
    `  args = uid=${account.mailUid} gid=${account.mailGid} home=${c.mailDir}/%d/%n allow_all_users=yes`,
    '}',
    '',
    // Every proxied client shares 127.0.0.1: no per-IP penalty, no delay.
    `service anvil {${chroot}\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}`,
    'auth_failure_delay = 0',
    '',
  );
  // auth-worker runs as root by default (to read /etc/shadow).
  if (account.rootless) lines.push('service auth-worker {\n  user = $default_internal_user\n}', '');
  return lines.join('\n');
}

/**
 * clientIdConfig is the shipped 15-postern-client-id.conf with this
 * instance's Postern, secret and webmail listener in place of the examples.
 */
function clientIdConfig(postern: { url: string; secret: string }, webmailPort: number): string {
  const shipped = fs.readFileSync(CLIENT_ID_CONF, 'utf8');
  const base = new URL(postern.url);
  // Dovecot's HTTP client cannot add a header: the secret rides as the URL's password (sent as Basic credentials).
  base.username = 'postern';
  base.password = postern.secret;
  const swaps: Array<[string, string]> = [
    ['http://postern:CHANGE-ME-TO-MAILAUTH_SECRET@127.0.0.1:3000/', base.href],
    ['local_port=10143', `local_port=${webmailPort}`],
  ];
  let config = shipped;
  for (const [from, to] of swaps) {
    if (!config.includes(from)) throw new Error(`${CLIENT_ID_CONF} no longer holds ${from}`);
    config = config.replace(from, () => to);
  }
  return config;
}

// Dovecot's auth process reads passwd-files as the dovecot user: as root,
// keep them root:dovecot 0640, as in production.
function writeAuthFile(account: Account, file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o640 });
  if (!account.rootless) fs.chownSync(file, 0, account.authGroup);
}

function assertUsableSecret(value: string): void {
  if (/[\s$]/.test(value)) throw new Error('postern.url and postern.secret must not contain spaces or $');
}

/**
 * startDovecot runs a private Dovecot (IMAP + submission) on free 127.0.0.1
 * ports with a master user and a mailbox for every user name. As root it
 * uses the Debian package's dovecot/dovenull users; otherwise it runs
 * entirely as the current user.
 */
export async function startDovecot(opts: DovecotOptions = {}): Promise<DovecotInstance> {
  if (opts.postern) {
    assertUsableSecret(opts.postern.url);
    assertUsableSecret(opts.postern.secret);
  }
  const account = currentAccount();
  const dir = makeDaemonDir('dovecot');
  const mailDir = path.join(dir, 'mail');
  fs.mkdirSync(mailDir);
  fs.chownSync(mailDir, account.mailUid, account.mailGid);

  const masterUser = opts.masterUser ?? 'postern';
  const masterPassword = opts.masterPassword ?? randomBytes(12).toString('hex');
  const masterUsersFile = path.join(dir, 'master-users');
  writeAuthFile(account, masterUsersFile, `${masterUser}:{PLAIN}${masterPassword}\n`);
  const usersFile = path.join(dir, 'users');
  const entries = Object.entries(opts.users ?? {}).map(([user, pass]) => `${user}:{PLAIN}${pass}\n`);
  writeAuthFile(account, usersFile, entries.join(''));

  const config: DovecotConfig = {
    account,
    dir,
    mailDir,
    logFile: path.join(dir, 'log', 'dovecot.log'),
    imapPort: await freePort(),
    submissionPort: await freePort(),
    relay: opts.relay ?? { host: '127.0.0.1', port: await freePort() },
    masterUsersFile,
    usersFile,
    postern: opts.postern,
    debug: opts.debug ?? false,
    doveadm: opts.doveadmApiKey ? { port: await freePort(), apiKey: opts.doveadmApiKey } : undefined,
    haproxy: opts.haproxy ? { imapPort: await freePort(), submissionPort: await freePort() } : undefined,
    clientIds: !!(opts.clientIds && opts.postern),
  };
  const confFile = path.join(dir, 'dovecot.conf');
  fs.writeFileSync(confFile, renderConfig(config));

  const daemon = await startDaemon({
    name: 'dovecot',
    command: 'dovecot',
    args: ['-F', '-c', confFile],
    dir,
    ports: [config.imapPort, config.submissionPort, ...(config.haproxy ? [config.haproxy.imapPort, config.haproxy.submissionPort] : []), ...(config.doveadm ? [config.doveadm.port] : [])],
    logFiles: [config.logFile],
  });

  return {
    imapPort: config.imapPort,
    submissionPort: config.submissionPort,
    haproxyImapPort: config.haproxy?.imapPort,
    haproxySubmissionPort: config.haproxy?.submissionPort,
    doveadmUrl: config.doveadm ? `http://127.0.0.1:${config.doveadm.port}` : undefined,
    masterUser,
    masterPassword,
    dir,
    mailDir,
    logFile: config.logFile,
    stop: daemon.stop,
    async appendMessage(user, raw, mailbox = 'INBOX') {
      const client = new ImapFlow({
        host: '127.0.0.1',
        port: config.imapPort,
        secure: false,
        logger: false,
        auth: { user: masterUser, pass: masterPassword, authzid: user },
      });
      await client.connect();
      try {
        await client.append(mailbox, raw);
      } finally {
        await client.logout();
      }
    },
  };
}

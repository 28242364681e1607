import { availableParallelism } from 'node:os';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from './config/schema.ts';
import { openStore, type Db, type Store } from './db/client.ts';
import type { Logger } from './log.ts';
import { describeError } from './log-redact.ts';
import { AuditLog } from './audit/log.ts';
import { Regulator, DEFAULT_RULES, type RegulationRules } from './auth/regulation.ts';
import { DbSessionStore } from './auth/session-store.ts';
import { UserRepo } from './users/repo.ts';
import { UserService } from './users/service.ts';
import { Phones } from './twofactor/phones.ts';
import { OneTimeCodes } from './twofactor/codes.ts';
import { createSmsSender, type SmsSender } from './twofactor/sms/sender.ts';
import { TrustedDevices } from './twofactor/trusted.ts';
import { SmsFactor } from './twofactor/sms/factor.ts';
import { TotpRepo } from './twofactor/totp/repo.ts';
import { TotpFactor } from './twofactor/totp/factor.ts';
import { HardwareTokenRepo } from './twofactor/hardware/repo.ts';
import { HardwareFactor } from './twofactor/hardware/factor.ts';
import { HardwareTokens } from './twofactor/hardware/service.ts';
import { WebAuthnRepo } from './twofactor/webauthn/repo.ts';
import { WebAuthnFactor } from './twofactor/webauthn/factor.ts';
import { WebAuthnKeys } from './twofactor/webauthn/service.ts';
import { relyingParty } from './twofactor/webauthn/rp.ts';
import { BackupCodeRepo } from './twofactor/backup/repo.ts';
import { BackupCodeFactor } from './twofactor/backup/factor.ts';
import { RecoveryEmails } from './twofactor/email/repo.ts';
import { EmailFactor } from './twofactor/email/factor.ts';
import { Factors } from './twofactor/factors.ts';
import { SignInFlow } from './auth/flow.ts';
import { loadOrCreateSecretsKey, SecretBox } from './crypto/secret-box.ts';
import { RelayMailer, type Mailer } from './notify/mailer.ts';
import { Notices } from './notify/notices.ts';
import { PasswordLogin } from './auth/login.ts';
import { THREADPOOL_SIZE } from './threadpool.ts';
import { AccessPasses } from './auth/access-pass.ts';
import { AdminUsers } from './admin/users/service.ts';
import { UserDirectory } from './admin/users/directory.ts';
import { DeviceCookies } from './auth/device-cookie.ts';
import { AppPasswordRepo } from './apppasswords/repo.ts';
import { AppPasswords } from './apppasswords/service.ts';
import { MailAuthenticator } from './mailauth/authenticate.ts';
import { LoginCache } from './mailauth/cache.ts';
import { HashQueue } from './mailauth/hash-queue.ts';
import { createWebmail, type WebmailServices } from './webmail/wiring.ts';
import { Doveadm } from './mailsessions/doveadm.ts';
import { MailSessions } from './mailsessions/service.ts';

/** Services is everything a request handler may use, built once at start. */
export interface Services {
  config: Config;
  log: Logger;
  store: Store;
  db: Db;
  sessionSecret: string;
  audit: AuditLog;
  regulator: Regulator;
  sessions: DbSessionStore;
  users: UserRepo;
  userService: UserService;
  /** Seals secrets that must be read back (authenticator seeds, secrets shown once). */
  secrets: SecretBox;
  phones: Phones;
  sms: SmsSender;
  mailer: Mailer;
  /** The outbox of security notices mailed to users; main.ts runs its worker. */
  notices: Notices;
  codes: OneTimeCodes;
  trusted: TrustedDevices;
  /** The second factors, one per kind, and the set of them. */
  smsFactor: SmsFactor;
  totp: TotpRepo;
  backup: BackupCodeFactor;
  recoveryEmails: RecoveryEmails;
  emailFactor: EmailFactor;
  factors: Factors;
  /** Every move of a session between its states (auth/flow.ts). */
  flow: SignInFlow;
  /** Hardware tokens: the administrators' inventory, and binding one as a second factor. */
  hardwareTokens: HardwareTokens;
  /** Security keys and passkeys (WebAuthn): adding, renaming and removing them, and signing in with a passkey alone. */
  webauthn: WebAuthnKeys;
  /** Temporary access passes administrators issue for a lost second factor. */
  passes: AccessPasses;
  /** The administration console's accounts: the directory it lists, and what an administrator may do to an account. */
  directory: UserDirectory;
  adminUsers: AdminUsers;
  passwordLogin: PasswordLogin;
  /** Signed device cookies: a browser that signed in before keeps its own throttling count. */
  deviceCookies: DeviceCookies;
  appPasswords: AppPasswords;
  mailAuth: MailAuthenticator;
  /** Ends open IMAP sessions when what admitted them is taken back; main.ts runs its expiry sweep. */
  mailSessions: MailSessions;
  /** Webmail and shared mailboxes: the IMAP pool, the SMTP relay and the grants (see webmail/wiring.ts). */
  mail: WebmailServices;
}

export interface ServiceOverrides {
  sms?: SmsSender;
  mailer?: Mailer;
  rules?: RegulationRules;
  store?: Store;
}

/** createServices opens the store and wires every service to it. */
export async function createServices(config: Config, log: Logger, overrides: ServiceOverrides = {}): Promise<Services> {
  const store = overrides.store ?? (await openStore({ url: config.DATABASE_URL, dataDir: config.DATA_DIR }));
  const db = store.db;
  const sessionSecret = config.SESSION_SECRET ?? loadOrCreateSecret(config.DATA_DIR, log);
  const audit = new AuditLog(db, (err) => log.error('audit write failed', { error: describeError(err) }));
  const users = new UserRepo(db);
  const sms = overrides.sms ?? createSmsSender(config, log);
  const mailer = overrides.mailer ?? new RelayMailer(config);
  const secretsKey = loadOrCreateSecretsKey(config.SECRETS_KEY, config.DATA_DIR);
  if (secretsKey.generatedPath) log.info('generated a secrets key', { path: secretsKey.generatedPath });
  const secrets = new SecretBox(secretsKey.keys);
  const codeKey = createHmac('sha256', sessionSecret).update('postern sms codes').digest();
  const codes = new OneTimeCodes(db, config, codeKey);
  const regulator = new Regulator(db, overrides.rules ?? DEFAULT_RULES);
  const deviceCookies = new DeviceCookies(sessionSecret);
  const phones = new Phones(db);
  // With the login cache off (MAIL_LOGIN_CACHE_SECONDS=0), every mail login is hashed: no stored verifiers either.
  const verifierKey = config.MAIL_LOGIN_CACHE_SECONDS > 0 ? createHmac('sha256', sessionSecret).update('postern app password verifiers').digest() : undefined;
  const appPasswords = new AppPasswords(new AppPasswordRepo(db), audit, verifierKey);
  const userService = new UserService(users, audit, { trustedDeviceDays: config.TRUSTED_DEVICE_DAYS });
  const trusted = new TrustedDevices(db, async () => (await userService.policy()).trustedDeviceDays);
  const smsFactor = new SmsFactor(codes, audit, phones, sms, config.SERVICE_NAME);
  const totp = new TotpRepo(db);
  const backup = new BackupCodeFactor(new BackupCodeRepo(db), createHmac('sha256', sessionSecret).update('postern backup codes').digest());
  const recoveryEmails = new RecoveryEmails(db);
  // Security notices are derived from the audit log here, and nowhere else.
  const notices = new Notices({ db, audit, users, recoveryEmails, mailer, log, service: config.SERVICE_NAME, publicUrl: config.PUBLIC_URL });
  audit.subscribe((event) => notices.enqueue(event));
  const doveadm = config.DOVEADM_URL && config.DOVEADM_API_KEY ? new Doveadm(config.DOVEADM_URL, config.DOVEADM_API_KEY, log) : undefined;
  const mailSessions = new MailSessions({ db, log, audit, doveadm });
  audit.subscribe(mailSessions.onEvent);
  const emailFactor = new EmailFactor(codes, audit, recoveryEmails, mailer, config.SERVICE_NAME);
  const hardwareRepo = new HardwareTokenRepo(db);
  const webauthnRepo = new WebAuthnRepo(db);
  const webauthnFactor = new WebAuthnFactor(webauthnRepo, audit, relyingParty(config.PUBLIC_URL, config.SERVICE_NAME));
  const factors = new Factors(db, [webauthnFactor, new TotpFactor(totp, secrets), new HardwareFactor(hardwareRepo, secrets), smsFactor, emailFactor, backup]);
  const passes = new AccessPasses(db, createHmac('sha256', sessionSecret).update('postern access passes').digest());
  const flow = new SignInFlow({ config, users, userService, factors, backup, regulator, codes, trusted, audit, passes });
  const mailAuth = new MailAuthenticator({
    users,
    hasFactor: (user) => factors.hasAny(user.id),
    appPasswords,
    regulator,
    audit,
    requires2fa: (user) => userService.requires2fa(user),
    mainPasswordAllowed: async () => (await userService.policy()).mailMainPassword,
    cache: new LoginCache(config.MAIL_LOGIN_CACHE_SECONDS * 1000),
    appPasswordsUrl: config.PUBLIC_URL ? `${config.PUBLIC_URL.replace(/\/$/, '')}/settings/app-passwords` : undefined,
    // argon2 runs on libuv's thread pool (see threadpool.ts), no faster than the cores; twice as many logins run
    // as hash at once, so the hashing threads stay busy while the others query the store.
    queue: new HashQueue(config.MAIL_AUTH_QUEUE_MS, 2 * Math.min(THREADPOOL_SIZE, availableParallelism())),
  });
  await store.listen('postern_credentials', (payload) => {
    // '*' is a change of the settings table: the policy too.
    if (payload === '*') userService.policyChanged();
    mailAuth.credentialsChanged(payload);
  }, (live, closed) => {
    mailAuth.notificationsLive(live);
    if (!live && !closed) log.warn('credential change notifications lost; mail logins are checked without the cache until they resume');
  });
  const sessions = new DbSessionStore(db, createHmac('sha256', sessionSecret).update('postern session ids').digest());
  return {
    config,
    log,
    store,
    db,
    sessionSecret,
    audit,
    regulator,
    sessions,
    users,
    userService,
    secrets,
    phones,
    sms,
    mailer,
    notices,
    codes,
    trusted,
    smsFactor,
    totp,
    backup,
    recoveryEmails,
    emailFactor,
    factors,
    flow,
    hardwareTokens: new HardwareTokens({ repo: hardwareRepo, secrets, users, regulator, audit, flow }),
    webauthn: new WebAuthnKeys({ repo: webauthnRepo, factor: webauthnFactor, users, regulator, audit, flow }),
    passes,
    directory: new UserDirectory(db),
    adminUsers: new AdminUsers({ users, userService, sessions, trusted, appPasswords, factors, passes, audit }),
    passwordLogin: new PasswordLogin((email) => factors.withSummary(email), regulator, audit, deviceCookies),
    deviceCookies,
    appPasswords,
    mailAuth,
    mailSessions,
    mail: createWebmail(config, log, db, users, audit),
  };
}

/**
 * loadOrCreateSecret keeps a generated session secret in the data directory,
 * so sessions survive restarts without anyone having to configure one.
 */
function loadOrCreateSecret(dataDir: string, log: Logger): string {
  const dir = resolve(dataDir);
  const path = join(dir, 'session-secret');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(path, secret + '\n', { mode: 0o600 });
  log.info('generated a session secret', { path });
  return secret;
}

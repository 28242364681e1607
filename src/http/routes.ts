import express, { type RequestHandler } from 'express';
import type { Services } from '../services.ts';
import { authHandlers } from '../auth/handlers.ts';
import { twoFactorHandlers } from '../twofactor/handlers.ts';
import { homeHandlers } from '../home/handlers.ts';
import { appPasswordHandlers } from '../apppasswords/handlers.ts';
import { mailclientHandlers } from '../mailclient/handlers.ts';
import { nginxAuthHandler } from '../mailauth/nginx.ts';
import { dovecotAuthHandler } from '../mailauth/dovecot.ts';
import { dovecotEventsHandler, EVENT_BODY_MAX } from '../mailauth/events.ts';
import { webmailHandlers } from '../webmail/handlers.ts';
import { listHandlers } from '../webmail/list/handlers.ts';
import { folderHandlers } from '../webmail/manage/handlers.ts';
import { draftHandlers } from '../webmail/compose/handlers.ts';
import { contactHandlers } from '../webmail/contacts/handlers.ts';
import { signatureHandlers } from '../webmail/signatures/handlers.ts';
import { sharingHandlers } from '../sharing/handlers.ts';
import { smsHandlers } from '../twofactor/sms/handlers.ts';
import { stepUpHandlers } from '../twofactor/stepup/handlers.ts';
import { backupCodeHandlers } from '../twofactor/backup/handlers.ts';
import { totpHandlers } from '../twofactor/totp/handlers.ts';
import { recoveryEmailHandlers } from '../twofactor/email/handlers.ts';
import { hardwareHandlers } from '../twofactor/hardware/handlers.ts';
import { webauthnHandlers } from '../twofactor/webauthn/handlers.ts';
import { tokenAdminHandlers } from '../admin/tokens/handlers.ts';
import { adminNoticeHandlers } from '../admin/notices/handlers.ts';
import { auditHandlers } from '../admin/audit/handlers.ts';
import { smsUsageHandlers } from '../admin/sms/handlers.ts';
import { mailLoginHandlers } from '../admin/mail-logins/handlers.ts';
import { adminGuard, enroll, factorAllowed, guest, mailauthSecret, mailboxGuard, mailboxOwner, pending2fa, session, stepUp } from './guards.ts';
import { composeUploads } from './uploads.ts';
import { csvUpload } from './csv-upload.ts';
import type { PolicyFactor } from '../users/policy.ts';
import { adminUserHandlers } from '../admin/users/handlers.ts';
import { USER_ACTIONS } from '../admin/users/schema.ts';
import { adminPolicyHandlers } from '../admin/policy/handlers.ts';

/**
 * routes is the security map: every path, the guard that protects it and
 * the handler that serves it, in one place.
 */
export function routes(s: Services): express.Router {
  const r = express.Router();
  const auth = authHandlers(s);
  const tf = twoFactorHandlers(s);
  const home = homeHandlers(s);
  const ap = appPasswordHandlers(s);
  const sms = smsHandlers(s);
  const verify = stepUpHandlers(s);
  const bc = backupCodeHandlers(s);
  const app = totpHandlers(s);
  const em = recoveryEmailHandlers(s);
  const hw = hardwareHandlers(s);
  const wa = webauthnHandlers(s);

  // Operation protection: `factors` guards every change to the second factors (a fresh factor, or the
  // password while there is none); `sensitive` guards the other risky actions (a fresh factor while
  // operation protection is on, else the password). Binding a factor never counts as either.
  const factors = stepUp(s.flow, 'factors');
  // Adding a factor of a kind the policy turned off is refused (the ones set up keep working).
  const allowed = (kind: PolicyFactor) => factorAllowed(s.userService, kind);
  const sensitive = stepUp(s.flow, 'sensitive');

  // Signing in: the password, then the second step with the user's preferred factor or another way
  r.get('/login', guest, h(auth.showLogin));
  r.post('/login', guest, h(auth.login));
  r.get('/login/code', pending2fa, h(auth.showCode));
  r.post('/login/code', pending2fa, h(auth.verifyCode));
  r.post('/login/code/resend', pending2fa, h(auth.resendCode));
  r.get('/login/methods', pending2fa, h(auth.showMethods));
  r.post('/login/method', pending2fa, h(auth.chooseMethod));
  // A security key at the second step: the script asks for a challenge (JSON), the browser signs it
  r.post('/login/passkey/options', pending2fa, h(wa.loginOptions));
  r.post('/login/passkey', pending2fa, h(auth.verifyKey));
  // A passkey alone, for the web only: the key names the account and stands for both factors
  r.post('/login/passwordless/options', guest, h(wa.passwordlessOptions));
  r.post('/login/passwordless', guest, h(wa.passwordless));
  r.get('/login/pass', pending2fa, h(auth.showPass));
  r.post('/login/pass', pending2fa, h(auth.verifyPass));
  r.post('/logout', h(auth.logout));

  // Forced two-step enrolment: the only pages a held user reaches
  r.get('/account-security', enroll, h(sms.showEnroll));
  r.post('/account-security/send', enroll, allowed('sms'), h(sms.sendEnroll));
  r.post('/account-security/confirm', enroll, allowed('sms'), h(sms.confirmEnroll));
  r.get('/account-security/app', enroll, allowed('totp'), h(app.showEnroll));
  r.post('/account-security/app', enroll, allowed('totp'), h(app.confirmEnroll));
  r.post('/account-security/later', enroll, h(tf.postpone));
  r.get('/account-security/hardware', enroll, allowed('hardware'), h(hw.showEnroll));
  r.post('/account-security/hardware', enroll, allowed('hardware'), h(hw.bindEnroll));
  r.get('/account-security/passkey', enroll, allowed('webauthn'), h(wa.showEnroll));
  r.post('/account-security/passkey/options', enroll, allowed('webauthn'), h(wa.registrationOptions));
  r.post('/account-security/passkey', enroll, allowed('webauthn'), h(wa.addEnroll));

  // Signed in
  r.get('/', session, h(home.index));

  // Settings → Security → Two-step verification
  r.get('/settings/security', session, h(tf.overview));
  r.post('/settings/security/protection', factors('/settings/security'), h(tf.protection));
  r.post('/settings/security/preferred', session, h(tf.preferred));
  r.post('/settings/security/disable', factors('/settings/security'), h(tf.disable));
  r.get('/settings/security/sms', session, h(sms.showSms));
  r.post('/settings/security/sms/send', factors('/settings/security/sms'), allowed('sms'), h(sms.sendFirstSms));
  r.post('/settings/security/sms/change', factors('/settings/security/sms'), allowed('sms'), h(sms.sendSms));
  r.post('/settings/security/sms/confirm', factors('/settings/security/sms'), allowed('sms'), h(sms.confirmSms));
  r.post('/settings/security/sms/unbind', factors('/settings/security/sms'), h(sms.unbind));
  r.get('/settings/security/app', session, h(app.page));
  r.get('/settings/security/app/new', factors(), allowed('totp'), h(app.showNew));
  r.post('/settings/security/app/new', factors('/settings/security/app/new'), allowed('totp'), h(app.confirm));
  r.post('/settings/security/app/:id/remove', factors('/settings/security/app'), h(app.remove));
  r.get('/settings/security/hardware', session, h(hw.page));
  r.get('/settings/security/hardware/new', factors(), allowed('hardware'), h(hw.showNew));
  r.post('/settings/security/hardware/new', factors('/settings/security/hardware/new'), allowed('hardware'), h(hw.bind));
  r.post('/settings/security/hardware/:id/remove', factors('/settings/security/hardware'), h(hw.remove));
  r.get('/settings/security/passkeys', session, h(wa.page));
  r.get('/settings/security/passkeys/new', factors(), allowed('webauthn'), h(wa.showNew));
  r.post('/settings/security/passkeys/options', factors('/settings/security/passkeys/new'), allowed('webauthn'), h(wa.registrationOptions));
  r.post('/settings/security/passkeys/new', factors('/settings/security/passkeys/new'), allowed('webauthn'), h(wa.add));
  r.post('/settings/security/passkeys/:id/rename', session, h(wa.rename));
  r.post('/settings/security/passkeys/:id/remove', factors('/settings/security/passkeys'), h(wa.remove));
  r.get('/settings/security/backup-codes', session, h(bc.page));
  r.post('/settings/security/backup-codes', factors('/settings/security/backup-codes'), h(bc.regenerate));
  r.get('/settings/security/backup-codes/new', session, h(bc.showNew));
  r.get('/settings/security/email', session, h(em.page));
  r.post('/settings/security/email/send', factors('/settings/security/email'), allowed('email'), h(em.send));
  r.post('/settings/security/email/confirm', factors('/settings/security/email'), allowed('email'), h(em.confirm));
  r.post('/settings/security/email/remove', factors('/settings/security/email'), h(em.remove));
  // The step-up itself, and the form held while it happened
  r.get('/settings/security/verify', session, h(verify.showVerify));
  r.post('/settings/security/verify/send', session, h(verify.sendVerify));
  r.post('/settings/security/verify', session, h(verify.verify));
  r.post('/settings/security/verify/passkey/options', session, h(wa.stepUpOptions));
  r.post('/settings/security/verify/passkey', session, h(verify.verifyKey));
  r.get('/settings/security/continue', session, h(verify.continueHeld));
  r.get('/settings/security/devices', session, h(tf.devices));
  r.post('/settings/security/devices/revoke-all', session, h(tf.revokeAllDevices));
  r.post('/settings/security/devices/:id/revoke', session, h(tf.revokeDevice));
  r.get('/settings/password', sensitive(), h(auth.showPassword));
  r.post('/settings/password', sensitive(), h(auth.changePassword));
  r.get('/settings/app-passwords', session, h(ap.list));
  r.post('/settings/app-passwords', sensitive('/settings/app-passwords'), h(ap.create));
  r.get('/settings/app-passwords/new', session, h(ap.showCreated));
  r.post('/settings/app-passwords/profile', session, h(ap.profile));
  r.post('/settings/app-passwords/revoke-all', session, h(ap.revokeAll));
  r.post('/settings/app-passwords/:id/revoke', session, h(ap.revoke));

  // Settings → Advanced → Shared mailbox. Sharing and changing a grant need a fresh second factor.
  const sh = sharingHandlers(s);
  r.get('/settings/sharing', session, h(sh.page));
  r.post('/settings/sharing', sensitive('/settings/sharing'), h(sh.add));
  r.post('/settings/sharing/:id', sensitive('/settings/sharing'), h(sh.change));
  r.post('/settings/sharing/:id/revoke', session, h(sh.revoke));

  // Settings → Signature: one per mailbox the user sends from (the service checks the grant on every save).
  const sig = signatureHandlers(s);
  r.get('/settings/signature', session, h(sig.page));
  r.post('/settings/signature', session, h(sig.save));

  // Webmail: one's own mailbox at /mail, a mailbox shared with one at /mail/shared/<owner address>.
  // mailbox(action) checks the user's own grant for that action on every request. The compose
  // form's files are read only after both guards and the CSRF check (its token rides in the URL).
  const mail = webmailHandlers(s);
  const lists = listHandlers(s);
  const mailbox = mailboxGuard(s.mail.sharing);
  const uploads = composeUploads();
  const folders = folderHandlers(s);
  const ownMailbox = mailboxOwner(s.mail.sharing);
  // The reader's own list preferences: the time zone their browser reports, the reading pane.
  r.post('/mail/preferences/time-zone', session, h(lists.timeZone));
  r.post('/mail/preferences/reading-pane', session, h(lists.readingPane));
  r.post('/mail/preferences/conversations', session, h(lists.conversations));
  // Recipient suggestions (JSON): the signed-in user's own address list and Postern's users.
  const contacts = contactHandlers(s);
  r.get('/mail/contacts', session, h(contacts.suggest));
  const drafts = draftHandlers(s);
  for (const base of ['/mail/shared/:owner', '/mail']) {
    r.get(`${base}`, session, mailbox('view'), h(lists.list));
    r.get(`${base}/folder/:folder`, session, mailbox('view'), h(lists.list));
    // Bulk actions differ in what they need (flag, move, delete): the service checks the level for the action asked.
    r.post(`${base}/folder/:folder/bulk`, session, mailbox('view'), h(lists.bulk));
    r.get(`${base}/folder/:folder/:uid`, session, mailbox('view'), h(mail.read));
    r.get(`${base}/folder/:folder/:uid/attachments/:part`, session, mailbox('view'), h(mail.attachment));
    r.post(`${base}/folder/:folder/:uid/seen`, session, mailbox('flag'), h(mail.seen));
    r.post(`${base}/folder/:folder/:uid/delete`, session, mailbox('delete'), h(mail.remove));
    r.post(`${base}/folder/:folder/:uid/move`, session, mailbox('move'), h(mail.move));
    r.get(`${base}/compose`, session, mailbox('send'), h(mail.showCompose));
    r.post(`${base}/compose`, session, mailbox('send'), uploads, h(mail.send));
    r.post(`${base}/compose/save`, session, mailbox('send'), uploads, h(drafts.save));
    // Folders are the owner's alone: mailbox:owner refuses every delegate (403), so under /mail/shared/<owner> these only refuse.
    r.get(`${base}/folders`, session, ownMailbox, h(folders.page));
    r.post(`${base}/folders`, session, ownMailbox, h(folders.create));
    r.post(`${base}/folders/rename`, session, ownMailbox, h(folders.rename));
    r.get(`${base}/folders/delete`, session, ownMailbox, h(folders.confirmDelete));
    r.post(`${base}/folders/delete`, session, ownMailbox, h(folders.remove));
    r.get(`${base}/folders/empty`, session, ownMailbox, h(folders.confirmEmpty));
    r.post(`${base}/folders/empty`, session, ownMailbox, h(folders.empty));
  }

  // Administration console: administrators only (403 for anyone else), always after a fresh step-up.
  const admin = adminGuard(s.flow);
  // -- admin: users, recovery and policy
  const au = adminUserHandlers(s, s.directory, s.adminUsers);
  r.get('/admin', ...admin(), h(au.home));
  r.get('/admin/users', ...admin(), h(au.list));
  r.get('/admin/users/new', ...admin(), h(au.showNew));
  r.post('/admin/users', ...admin('/admin/users/new'), h(au.create));
  r.post('/admin/users/import', ...admin('/admin/users/new'), csvUpload(), h(au.import));
  r.get('/admin/users/:id', ...admin(), h(au.show));
  // disable, enable, reset-password, end-sessions, revoke-trusted, revoke-app-passwords, access-pass, revoke-pass, remove-factors
  for (const action of USER_ACTIONS) r.post(`/admin/users/:id/${action}`, ...admin((req) => `/admin/users/${encodeURIComponent(String(req.params.id))}`), h(au.act(action)));
  const pol = adminPolicyHandlers(s);
  r.get('/admin/policy', ...admin(), h(pol.page));
  r.post('/admin/policy', ...admin('/admin/policy'), h(pol.save));
  r.post('/admin/users/:id/two-step', ...admin((req) => `/admin/users/${encodeURIComponent(String(req.params.id))}`), h(pol.userTwoStep));
  // A secret an action made (a temporary password, an access pass), shown once
  r.get('/admin/secret', ...admin(), h(au.secret));
  // -- admin: hardware tokens
  const tok = tokenAdminHandlers(s);
  r.get('/admin/tokens', ...admin(), h(tok.list));
  r.post('/admin/tokens/import', ...admin('/admin/tokens'), csvUpload(), h(tok.import));
  r.post('/admin/tokens/:id/revoke', ...admin('/admin/tokens'), h(tok.revoke));
  // -- admin: audit log, SMS usage, mail logins
  const audit = auditHandlers(s);
  const smsUsage = smsUsageHandlers(s);
  const mailLogins = mailLoginHandlers(s);
  r.get('/admin/audit', ...admin(), h(audit.page));
  r.get('/admin/audit.csv', ...admin('/admin/audit'), h(audit.csv));
  r.get('/admin/sms', ...admin(), h(smsUsage.page));
  r.get('/admin/mail-logins', ...admin(), h(mailLogins.page));
  // -- admin: notices
  const nt = adminNoticeHandlers(s);
  r.get('/admin/notices', ...admin(), h(nt.page));
  r.post('/admin/notices/:id/retry', ...admin('/admin/notices'), h(nt.retry));

  return r;
}

/** mailauthRoutes are asked by nginx and Dovecot about every mail login, and told of IMAP IDs; the shared secret guards them. */
export function mailauthRoutes(s: Services): express.Router {
  const r = express.Router();
  const secret = mailauthSecret(s.config.MAILAUTH_SECRET);
  r.get('/nginx', secret, h(nginxAuthHandler(s.config, s.mailAuth)));
  r.post('/dovecot', secret, express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 }), h(dovecotAuthHandler(s.mailAuth, s.users)));
  // Dovecot's event exporter, posting each IMAP ID command: the mail app a session named. Its HTTP
  // client can add no header, so the secret may also come as Basic credentials (the URL's user info).
  const eventSecret = mailauthSecret(s.config.MAILAUTH_SECRET, { basicAuth: true });
  r.post('/events', eventSecret, express.text({ type: () => true, limit: EVENT_BODY_MAX }), h(dovecotEventsHandler(s.appPasswords)));
  return r;
}

/** mailclientRoutes publish client settings; public, like a mail provider's. */
export function mailclientRoutes(s: Services): express.Router {
  const r = express.Router();
  const mc = mailclientHandlers(s);
  r.get('/.well-known/autoconfig/mail/config-v1.1.xml', mc.autoconfig);
  r.get('/mail/config-v1.1.xml', mc.autoconfig);
  return r;
}

/** h passes a handler's rejection to the error handler, which says what it means (errors.ts). */
function h(fn: (req: express.Request, res: express.Response) => unknown): RequestHandler {
  return async function handler(req, res, next) {
    try {
      await fn(req, res);
    } catch (err) {
      next(err);
    }
  };
}

import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import { originOf } from '../http/origin.ts';
import { flash, regenerate, safeNext } from '../http/context.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { factorContext } from '../http/second-step.ts';
import { deviceParams, preferredForm, protectionForm } from './schema.ts';
import { deviceName } from './trusted.ts';

/** eventDevice names where an event came from, in the reader's language: "Chrome on Windows", or "IMAP client" for mail apps. */
function eventDevice(req: Request, e: { event: string; userAgent: string | null; details: Record<string, unknown> | null }): string {
  if (e.event.startsWith('mail.')) return req.t('device.mail_client', { protocol: String(e.details?.protocol ?? 'mail').toUpperCase() });
  return e.userAgent ? localDeviceName(req, deviceName(e.userAgent)) : '—';
}

/** localDeviceName renders a stored "Browser on System" name in the reader's language. */
export function localDeviceName(req: Request, name: string): string {
  const at = name.lastIndexOf(' on ');
  return at > 0 ? req.t('device.on', { browser: name.slice(0, at), os: name.slice(at + 4) }) : name;
}

/** twoFactorHandlers are Settings → Security: the two-step page (status, factors, scopes), and trusted browsers. */
export function twoFactorHandlers(s: Services) {
  return {
    /** postpone lets a user the policy newly forces put enrolment off while its grace period lasts; the banner keeps counting. */
    async postpone(req: Request, res: Response) {
      const state = s.flow.postponed(req.session.auth!);
      if (!state) return res.redirect(303, '/account-security');
      await regenerate(req);
      req.session.auth = state;
      res.redirect(303, safeNext(state.next));
    },

    async overview(req: Request, res: Response) {
      const user = req.user!;
      const [factors, status, required, devices, appPasswords, events] = await Promise.all([
        s.flow.factorsOf(user),
        s.flow.status(user),
        s.userService.requires2fa(user),
        s.trusted.list(user.id),
        s.appPasswords.list(user.id),
        s.audit.recentForUser(user.id, 15),
      ]);
      const has = (kind: string) => factors.find((f) => f.kind === kind);
      res.render('security/index', {
        status,
        required,
        totp: has('totp') ?? null,
        phone: has('sms')?.label ?? null,
        email: has('email')?.label ?? null,
        backupLeft: has('backup')?.count ?? 0,
        choices: factors.filter((f) => f.kind !== 'backup'),
        preferred: s.flow.firstFactor(user, factors),
        loginProtection: user.loginProtection || required,
        operationProtection: user.operationProtection,
        expiryDays: s.config.TWOFACTOR_EXPIRY_DAYS,
        deviceCount: devices.length,
        appPasswordCount: appPasswords.length,
        events: events.map((e) => ({ ...e, device: eventDevice(req, e) })),
      });
    },

    /** protection sets the two scopes; the policy keeps login protection on for users it forces. */
    async protection(req: Request, res: Response) {
      const user = req.user!;
      const form = protectionForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      const forced = await s.userService.requires2fa(user);
      const login = form.data.login === 'on' || forced;
      const operation = form.data.operation === 'on';
      await s.users.update(user.id, { loginProtection: login, operationProtection: operation });
      await s.audit.record({ event: 'twofactor.protection_changed', userId: user.id, account: user.email, origin: originOf(req), details: { login, operation } });
      flash(req, 'ok', forced && form.data.login !== 'on' ? 'protection.login_forced' : 'protection.saved');
      res.redirect(303, '/settings/security');
    },

    /** preferred marks the factor the second step asks for first. */
    async preferred(req: Request, res: Response) {
      const user = req.user!;
      const form = preferredForm.safeParse(req.body ?? {});
      const factors = await s.flow.factorsOf(user);
      if (!form.success || form.data.factor === 'backup' || !factors.some((f) => f.kind === form.data.factor)) throw badRequest();
      await s.users.update(user.id, { preferredFactor: form.data.factor });
      await s.audit.record({ event: 'twofactor.preferred', userId: user.id, account: user.email, origin: originOf(req), details: { factor: form.data.factor } });
      flash(req, 'ok', 'protection.preferred_saved');
      res.redirect(303, '/settings/security');
    },

    /** disable turns two-step verification off: every factor and backup code goes, and every trusted browser. Refused while the policy forces it. */
    async disable(req: Request, res: Response) {
      const user = req.user!;
      if (await s.userService.requires2fa(user)) {
        flash(req, 'error', 'twofactor.disable_forced');
        return res.redirect(303, '/settings/security');
      }
      const removed = await s.flow.disable(factorContext(req, s));
      delete req.session.pendingCode;
      flash(req, 'ok', 'twofactor.disabled', { count: removed });
      res.redirect(303, '/settings/security');
    },

    async devices(req: Request, res: Response) {
      const devices = await s.trusted.list(req.user!.id);
      res.render('security/devices', { devices: devices.map((d) => ({ ...d, label: localDeviceName(req, d.name) })) });
    },

    async revokeDevice(req: Request, res: Response) {
      const params = deviceParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const device = await s.trusted.revoke(req.user!.id, params.data.id);
      if (!device) throw notFound();
      await s.audit.record({ event: 'device.revoked', userId: req.user!.id, account: req.user!.email, origin: originOf(req), details: { device: device.name } });
      flash(req, 'ok', 'devices.revoked', { name: localDeviceName(req, device.name) });
      res.redirect(303, '/settings/security/devices');
    },

    async revokeAllDevices(req: Request, res: Response) {
      const n = await s.trusted.revokeAll(req.user!.id);
      await s.audit.record({ event: 'device.revoked_all', userId: req.user!.id, account: req.user!.email, origin: originOf(req), details: { count: n } });
      flash(req, 'ok', 'devices.revoked_all', { count: n });
      res.redirect(303, '/settings/security/devices');
    },
  };
}

import { generateAuthenticationOptions, generateRegistrationOptions, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { isoBase64URL, isoUint8Array } from '@simplewebauthn/server/helpers';
import type { AuditLog, Origin } from '../../audit/log.ts';
import type { ProofContext, SignInFlow } from '../../auth/flow.ts';
import type { Regulator } from '../../auth/regulation.ts';
import type { User, UserRepo } from '../../users/repo.ts';
import type { FactorContext } from '../factor.ts';
import { CHALLENGE_TTL_MS } from './challenge.ts';
import type { KeyFailure, WebAuthnFactor } from './factor.ts';
import type { WebAuthnCredentialRow, WebAuthnRepo } from './repo.ts';
import { readAuthentication, readRegistration, TRANSPORTS } from './schema.ts';

/** MAX_KEYS is how many security keys and passkeys one user may add: every device and a spare, few enough to list. */
export const MAX_KEYS = 10;

/** The outcome of adding a key or signing in with one: one kind of failure the user sees, the reason for the log. */
export type KeyResult<T> = { ok: true; value: T } | { ok: false; reason: 'failed'; detail: KeyFailure | 'duplicate' } | { ok: false; reason: 'limit' } | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export interface WebAuthnDeps {
  repo: WebAuthnRepo;
  factor: WebAuthnFactor;
  users: UserRepo;
  regulator: Regulator;
  audit: AuditLog;
  flow: SignInFlow;
}

/** userHandle is the id a passkey stores for its account: the account's uuid, which says nothing about the person. */
const userHandle = (userId: string) => isoUint8Array.fromUTF8String(userId);

/**
 * WebAuthnKeys holds the rules of security keys and passkeys: what the
 * browser is asked to make or sign (options, with a fresh challenge the
 * handler keeps in the session), adding a key (after a step-up, like any
 * factor), renaming and removing one, and signing in with a passkey alone.
 * Every check runs through the regulator under the kind 'webauthn'.
 */
export class WebAuthnKeys {
  constructor(private readonly d: WebAuthnDeps) {}

  /** available tells whether PUBLIC_URL lets browsers use keys here (https, or http on localhost). */
  get available(): boolean {
    return this.d.factor.rp.ok;
  }

  /** unavailableReason says why keys cannot be offered, for the settings page's note. */
  get unavailableReason(): string | undefined {
    const rp = this.d.factor.rp;
    return rp.ok ? undefined : rp.reason;
  }

  list(userId: string): Promise<WebAuthnCredentialRow[]> {
    return this.d.repo.list(userId);
  }

  /** atLimit tells whether the user has as many keys as MAX_KEYS allows. */
  async atLimit(userId: string): Promise<boolean> {
    return (await this.d.repo.count(userId)) >= MAX_KEYS;
  }

  /**
   * registrationOptions asks the browser for a new key: a discoverable one
   * (a passkey) where the authenticator can, user verification where it
   * can, and none of the keys the user already has.
   */
  async registrationOptions(user: User): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const rp = this.rp();
    const keys = await this.d.repo.list(user.id);
    return generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: user.email,
      userDisplayName: user.email,
      userID: userHandle(user.id),
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: keys.map((k) => ({ id: k.credentialId, transports: k.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      extensions: { credProps: true },
    });
  }

  /**
   * authenticationOptions asks the browser to sign a fresh challenge: with
   * one of the user's keys (second step, step-up), or, for a passkey
   * sign-in, with any passkey of this site, verified by PIN or biometrics.
   * Undefined for a user who has no key.
   */
  async authenticationOptions(user: User | undefined): Promise<PublicKeyCredentialRequestOptionsJSON | undefined> {
    const rp = this.rp();
    const keys = user ? await this.d.repo.list(user.id) : [];
    if (user && !keys.length) return undefined;
    return generateAuthenticationOptions({
      rpID: rp.id,
      timeout: CHALLENGE_TTL_MS,
      userVerification: user ? 'preferred' : 'required',
      ...(user ? { allowCredentials: keys.map((k) => ({ id: k.credentialId, transports: k.transports })) } : {}),
    });
  }

  /**
   * add checks the browser's new key against the challenge this session was
   * given and stores it. Counted under the 'webauthn' kind like sign-in's
   * checks; the challenge is used up whatever the outcome.
   */
  async add(ctx: ProofContext, challenge: string | undefined, name: string, text: string): Promise<KeyResult<WebAuthnCredentialRow>> {
    const user = ctx.user;
    const rp = this.d.factor.rp;
    const outcome = await this.d.regulator.regulated({ kind: 'webauthn', account: user.email, ip: ctx.origin.ip, device: ctx.device }, async () => {
      const fail = (detail: KeyFailure | 'duplicate') => ({ ok: false as const, detail });
      if (!rp.ok) return fail('unavailable');
      const response = readRegistration(text);
      if (!response) return fail('malformed');
      if (!challenge || !(await this.d.repo.useChallenge(challenge))) return fail('replayed');
      let verified;
      try {
        verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: false });
      } catch {
        return fail('invalid');
      }
      if (!verified.verified) return fail('invalid');
      const info = verified.registrationInfo;
      const transports = (response.response.transports ?? []).filter((t): t is (typeof TRANSPORTS)[number] => (TRANSPORTS as readonly string[]).includes(t));
      // credProps is the browser's word on a resident key; a synced passkey is one whatever it says.
      const rk = response.clientExtensionResults.credProps?.rk;
      const saved = await this.d.repo.save(
        {
        userId: user.id,
        credentialId: info.credential.id,
        publicKey: info.credential.publicKey,
        counter: info.credential.counter,
        transports: [...new Set(transports)],
        name,
        discoverable: rk ?? (info.credentialDeviceType === 'multiDevice' ? true : null),
        backedUp: info.credentialBackedUp,
        deviceType: info.credentialDeviceType,
        aaguid: info.aaguid,
        },
        MAX_KEYS,
      );
      // A right answer that finds no place left is no failed check: it counts as a success with the regulator.
      if (saved === 'limit') return { ok: true as const, limit: true as const };
      return saved ? { ok: true as const, saved } : fail('duplicate');
    });
    if (!outcome.allowed) {
      await this.d.audit.record({ event: 'login.throttled', userId: user.id, account: user.email, origin: ctx.origin, details: { step: 'webauthn', purpose: 'bind' } });
      return { ok: false, reason: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
    }
    const r = outcome.result;
    if (!r.ok) {
      await this.d.audit.record({ event: 'login.code_failed', userId: user.id, account: user.email, origin: ctx.origin, details: { factor: 'webauthn', purpose: 'bind', reason: r.detail } });
      return { ok: false, reason: 'failed', detail: r.detail };
    }
    if ('limit' in r) return { ok: false, reason: 'limit' };
    const key = r.saved;
    await this.d.audit.record({
      event: 'webauthn.added',
      userId: user.id,
      account: user.email,
      origin: ctx.origin,
      details: { name: key.name, credentialId: key.credentialId, aaguid: key.aaguid, transports: key.transports, discoverable: key.discoverable, backedUp: key.backedUp },
    });
    return { ok: true, value: key };
  }

  /**
   * signInWithPasskey checks a passkey's answer to the challenge of a
   * session that has no account yet: the key names the account. An unknown
   * key is a failure counted against the client's address; a known one is
   * counted against its account, like a password. A disabled account fails
   * like a bad signature. The passkey must have verified its user (PIN,
   * biometrics), so it stands for both factors.
   */
  async signInWithPasskey(origin: Origin, deviceOf: (account: string) => string | undefined, challenge: string | undefined, text: string): Promise<KeyResult<User>> {
    const response = readAuthentication(text);
    const key = response ? await this.d.repo.loadByCredentialId(response.id) : undefined;
    const user = key ? await this.d.users.load(key.userId) : undefined;
    if (!response || !key || !user) {
      // No account to count against: the address is the account, so strangers probing keys wait like strangers guessing passwords.
      const outcome = await this.d.regulator.regulated({ kind: 'webauthn', account: `unknown-passkey@${origin.ip}`, ip: origin.ip }, async () => ({ ok: false }));
      if (!outcome.allowed) {
        await this.d.audit.record({ event: 'login.throttled', origin, details: { step: 'webauthn', purpose: 'passwordless' } });
        return { ok: false, reason: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
      }
      const detail: KeyFailure = response ? 'unknown_credential' : 'malformed';
      await this.d.audit.record({ event: 'login.code_failed', origin, details: { factor: 'webauthn', purpose: 'passwordless', reason: detail, ...(response ? { credentialId: response.id.slice(0, 200) } : {}) } });
      return { ok: false, reason: 'failed', detail };
    }
    const outcome = await this.d.regulator.regulated({ kind: 'webauthn', account: user.email, ip: origin.ip, device: deviceOf(user.email) }, async () => {
      if (user.disabled) return { ok: false as const, detail: 'disabled' as const };
      const handle = response.response.userHandle;
      if (handle !== undefined && handle !== isoBase64URL.fromBuffer(userHandle(user.id))) return { ok: false as const, detail: 'user_handle' as const };
      return this.d.factor.assert({ response, key, challenge, requireUserVerification: true, origin, user });
    });
    if (!outcome.allowed) {
      await this.d.audit.record({ event: 'login.throttled', userId: user.id, account: user.email, origin, details: { step: 'webauthn', purpose: 'passwordless' } });
      return { ok: false, reason: 'throttled', retryAfterSeconds: outcome.retryAfterSeconds };
    }
    const r = outcome.result;
    if (!r.ok) {
      await this.d.audit.record({ event: 'login.code_failed', userId: user.id, account: user.email, origin, details: { factor: 'webauthn', purpose: 'passwordless', reason: r.detail, credentialId: key.credentialId } });
      return { ok: false, reason: 'failed', detail: r.detail };
    }
    if (user.lastFactor !== 'webauthn') await this.d.users.update(user.id, { lastFactor: 'webauthn' });
    return { ok: true, value: user };
  }

  /** rename gives one of the user's own keys a new name; undefined when it is not theirs. */
  async rename(ctx: FactorContext, id: string, name: string): Promise<WebAuthnCredentialRow | undefined> {
    const before = (await this.d.repo.list(ctx.user.id)).find((k) => k.id === id);
    if (!before) return undefined;
    const key = await this.d.repo.rename(ctx.user.id, id, name);
    if (key) await this.d.audit.record({ event: 'webauthn.renamed', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { from: before.name, to: key.name, credentialId: key.credentialId } });
    return key;
  }

  /** remove deletes one of the user's own keys and records the factor as removed; undefined when it is not theirs. */
  async remove(ctx: FactorContext, id: string): Promise<WebAuthnCredentialRow | undefined> {
    const key = await this.d.repo.delete(ctx.user.id, id);
    if (!key) return undefined;
    await this.d.audit.record({ event: 'webauthn.removed', userId: ctx.user.id, account: ctx.user.email, origin: ctx.origin, details: { name: key.name, credentialId: key.credentialId } });
    await this.d.flow.factorRemoved(ctx, 'webauthn', { name: key.name });
    return key;
  }

  private rp() {
    const rp = this.d.factor.rp;
    if (!rp.ok) throw new Error('security keys are not available: PUBLIC_URL is not https (or localhost)');
    return rp;
  }
}

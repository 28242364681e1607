import { verifyAuthenticationResponse, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AuditLog, Origin } from '../../audit/log.ts';
import type { User } from '../../users/repo.ts';
import type { Factor, FactorCheck, FactorContext, FactorInfo } from '../factor.ts';
import { counterAccepted, type RelyingParty } from './rp.ts';
import type { WebAuthnCredentialRow, WebAuthnRepo } from './repo.ts';
import { readAuthentication } from './schema.ts';

/** Why a key's answer was refused; only the audit log hears it, the user sees one message. */
export type KeyFailure = 'unavailable' | 'malformed' | 'unknown_credential' | 'replayed' | 'invalid' | 'cloned' | 'disabled' | 'user_handle';

export type KeyCheck = { ok: true; key: WebAuthnCredentialRow } | { ok: false; detail: KeyFailure };

/**
 * WebAuthnFactor is the user's security keys and passkeys as a second
 * factor. Its `verify` takes the browser's answer (JSON) as the code and
 * the challenge the session was given as the challenge id; the sign-in flow
 * runs it through the regulator like any other factor. While PUBLIC_URL
 * cannot serve WebAuthn, the user is treated as having no keys, so the
 * second step falls back to another factor.
 */
export class WebAuthnFactor implements Factor {
  readonly kind = 'webauthn' as const;

  constructor(
    private readonly repo: WebAuthnRepo,
    private readonly audit: AuditLog,
    readonly rp: RelyingParty,
  ) {}

  async describe(user: User): Promise<FactorInfo | null> {
    if (!this.rp.ok) return null;
    const keys = await this.repo.list(user.id);
    if (!keys.length) return null;
    return { kind: 'webauthn', label: keys.map((k) => k.name).join(', '), count: keys.length };
  }

  async verify(ctx: FactorContext, input: { code: string; challengeId?: string }): Promise<FactorCheck> {
    const response = readAuthentication(input.code);
    const key = response ? await this.repo.loadByCredentialId(response.id) : undefined;
    // Another user's key, or one removed: the same refusal as a bad signature.
    const check: KeyCheck =
      !response ? { ok: false, detail: 'malformed' } : !key || key.userId !== ctx.user.id ? { ok: false, detail: 'unknown_credential' } : await this.assert({ response, key, challenge: input.challengeId, requireUserVerification: false, origin: ctx.origin, user: ctx.user });
    return check.ok ? { ok: true } : { ok: false, reason: 'wrong' };
  }

  /**
   * assert checks one answer to `challenge` by `key`: the challenge is used
   * up first (so a replay or a parallel twin fails), then the signature,
   * origin, RP id and user presence (and verification when required), then
   * the sign counter. A counter that went back means the key may have been
   * copied: refused, recorded as webauthn.cloned, and the stored counter
   * left as it was.
   */
  async assert(opts: { response: AuthenticationResponseJSON; key: WebAuthnCredentialRow; challenge: string | undefined; requireUserVerification: boolean; origin?: Origin; user: User }): Promise<KeyCheck> {
    const { response, key, challenge } = opts;
    if (!this.rp.ok) return { ok: false, detail: 'unavailable' };
    if (!challenge || !(await this.repo.useChallenge(challenge))) return { ok: false, detail: 'replayed' };
    let info;
    try {
      const verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.rp.origin,
        expectedRPID: this.rp.id,
        // The counter rule is ours (counterAccepted), applied only once the signature is known to be good.
        credential: { id: key.credentialId, publicKey: key.publicKey, counter: 0, transports: key.transports as never },
        requireUserVerification: opts.requireUserVerification,
      });
      if (!verified.verified) return { ok: false, detail: 'invalid' };
      info = verified.authenticationInfo;
    } catch {
      return { ok: false, detail: 'invalid' };
    }
    if (!counterAccepted(key.counter, info.newCounter)) {
      await this.audit.record({
        event: 'webauthn.cloned',
        userId: opts.user.id,
        account: opts.user.email,
        origin: opts.origin,
        details: { credentialId: key.credentialId, name: key.name, storedCounter: key.counter, presentedCounter: info.newCounter },
      });
      return { ok: false, detail: 'cloned' };
    }
    // Another request with the same counter got there first.
    if (!(await this.repo.accept(key.id, info.newCounter, info.credentialBackedUp))) return { ok: false, detail: 'replayed' };
    return { ok: true, key };
  }
}

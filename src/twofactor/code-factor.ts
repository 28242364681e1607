import type { AuditLog } from '../audit/log.ts';
import type { User } from '../users/repo.ts';
import type { Channel, CodePurpose, OneTimeCodes, SendResult } from './codes.ts';
import type { Factor, FactorCheck, FactorContext, FactorInfo, FactorKind } from './factor.ts';

/**
 * CodeFactor is a factor that sends a one-time code somewhere the user
 * proved they can read: a phone (sms) or a recovery address (email). The
 * code rules (caps, tries, single use) are OneTimeCodes'; a subclass says
 * where codes go and how they are worded.
 */
export abstract class CodeFactor implements Factor {
  abstract readonly kind: FactorKind;
  abstract readonly channel: Channel;

  constructor(
    protected readonly codes: OneTimeCodes,
    protected readonly audit: AuditLog,
  ) {}

  /** destination is where the user's codes go, if they set one up. */
  abstract destination(user: User): Promise<string | undefined>;
  /** mask shows a destination without giving it away: "+86 139****9000", "a***@example.org". */
  abstract mask(destination: string): string;
  /** deliver sends the worded code; it throws when the provider or relay refuses. */
  protected abstract deliver(ctx: FactorContext, destination: string, code: string, purpose: CodePurpose): Promise<void>;

  async describe(user: User): Promise<FactorInfo | null> {
    const destination = await this.destination(user);
    return destination ? { kind: this.kind, label: this.mask(destination) } : null;
  }

  async send(ctx: FactorContext, purpose: CodePurpose, replaces?: string): Promise<SendResult> {
    const destination = await this.destination(ctx.user);
    // Nothing to send to (removed meanwhile): as if the provider had refused, so no page claims a code went out.
    if (!destination) return { ok: false, reason: 'capped', retryAfterSeconds: 0 };
    return this.sendTo(ctx, destination, purpose, replaces);
  }

  /** sendTo sends a code to a destination being bound (not yet the user's), or to the bound one. */
  async sendTo(ctx: FactorContext, destination: string, purpose: CodePurpose, replaces?: string): Promise<SendResult> {
    const result = await this.codes.send({
      userId: ctx.user.id,
      channel: this.channel,
      destination,
      purpose,
      ip: ctx.origin.ip,
      deliver: (code) => this.deliver(ctx, destination, code, purpose),
      replaces,
    });
    const details = { purpose, to: this.mask(destination) };
    await this.audit.record({
      event: `${this.channel}.${result.ok ? 'sent' : result.reason === 'send_failed' ? 'failed' : 'refused'}`,
      userId: ctx.user.id,
      account: ctx.user.email,
      origin: ctx.origin,
      details: result.ok ? details : { ...details, reason: result.reason },
    });
    return result;
  }

  async verify(ctx: FactorContext, input: { code: string; challengeId?: string; purpose: CodePurpose }): Promise<FactorCheck> {
    if (!input.challengeId) return { ok: false, reason: 'expired' };
    const r = await this.codes.verify(input.challengeId, ctx.user.id, this.channel, input.purpose, input.code);
    if (r.ok) return { ok: true, destination: r.destination };
    return r.reason === 'wrong' ? { ok: false, reason: 'wrong', triesLeft: r.triesLeft } : { ok: false, reason: r.reason };
  }
}

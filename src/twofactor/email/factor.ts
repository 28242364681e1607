import type { AuditLog } from '../../audit/log.ts';
import { translate } from '../../i18n/index.ts';
import type { Mailer } from '../../notify/mailer.ts';
import type { User } from '../../users/repo.ts';
import { CodeFactor } from '../code-factor.ts';
import { CODE_TTL_SECONDS, type CodePurpose, type OneTimeCodes } from '../codes.ts';
import type { FactorContext } from '../factor.ts';
import type { RecoveryEmails } from './repo.ts';

/** maskEmail shows enough of an address for its owner to know it: "a***@example.org". */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '***';
  return `${address[0]}***${address.slice(at)}`;
}

/** EmailFactor mails a code to the user's recovery address (outside this mail system) through the relay. */
export class EmailFactor extends CodeFactor {
  readonly kind = 'email' as const;
  readonly channel = 'email' as const;

  constructor(
    codes: OneTimeCodes,
    audit: AuditLog,
    private readonly addresses: RecoveryEmails,
    private readonly mailer: Mailer,
    private readonly serviceName: string,
  ) {
    super(codes, audit);
  }

  destination(user: User): Promise<string | undefined> {
    return this.addresses.load(user.id);
  }

  mask(address: string): string {
    return maskEmail(address);
  }

  protected deliver(ctx: FactorContext, address: string, code: string, purpose: CodePurpose): Promise<void> {
    const params = { service: this.serviceName, code, minutes: CODE_TTL_SECONDS.email / 60, account: ctx.user.email };
    return this.mailer.send({
      to: address,
      subject: translate(ctx.locale, 'email.code_subject', params),
      text: translate(ctx.locale, purpose === 'bind' ? 'email.code_text_bind' : 'email.code_text', params),
    });
  }
}

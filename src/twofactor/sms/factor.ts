import type { AuditLog } from '../../audit/log.ts';
import { translate } from '../../i18n/index.ts';
import type { User } from '../../users/repo.ts';
import { CodeFactor } from '../code-factor.ts';
import { CODE_TTL_SECONDS, type CodePurpose, type OneTimeCodes } from '../codes.ts';
import type { FactorContext } from '../factor.ts';
import type { Phones } from '../phones.ts';
import { maskPhone } from './phone.ts';
import type { SmsSender } from './sender.ts';

/** SmsFactor texts a code to the user's bound phone, in the user's language, naming the service. */
export class SmsFactor extends CodeFactor {
  readonly kind = 'sms' as const;
  readonly channel = 'sms' as const;

  constructor(
    codes: OneTimeCodes,
    audit: AuditLog,
    private readonly phones: Phones,
    private readonly sender: SmsSender,
    private readonly serviceName: string,
  ) {
    super(codes, audit);
  }

  destination(user: User): Promise<string | undefined> {
    return this.phones.load(user.id);
  }

  mask(phone: string): string {
    return maskPhone(phone);
  }

  protected deliver(ctx: FactorContext, phone: string, code: string, _purpose: CodePurpose): Promise<void> {
    const text = translate(ctx.locale, 'sms.text', { service: this.serviceName, code, minutes: CODE_TTL_SECONDS.sms / 60 });
    return this.sender.send(phone, text);
  }
}

import { z } from 'zod';
import { MAX_GRACE_DAYS, MAX_TRUSTED_DAYS, POLICY_FACTORS } from '../../users/policy.ts';

const checkbox = z.literal('on').optional();

/** policyForm: the console's policy page. Factor kinds arrive as one field per ticked box. */
export const policyForm = z.object({
  require2fa: z.enum(['off', 'everyone', 'domains']),
  domains: z.string().max(10_000).optional().default(''),
  graceDays: z.coerce.number().int().min(0).max(MAX_GRACE_DAYS),
  allowed: z.union([z.enum(POLICY_FACTORS), z.array(z.enum(POLICY_FACTORS)).max(POLICY_FACTORS.length)]).optional(),
  mailMainPassword: checkbox,
  trustedDeviceDays: z.coerce.number().int().min(1).max(MAX_TRUSTED_DAYS),
});

/** userTwoStepForm: one account's own two-step setting, which wins over the site policy. */
export const userTwoStepForm = z.object({
  require: z.enum(['policy', 'on', 'off']),
  reason: z.string().trim().min(3).max(500),
});

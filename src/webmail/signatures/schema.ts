import { z } from 'zod';
import { SIGNATURE_MAX_BYTES } from './service.ts';

/** signatureForm: one mailbox's signature on Settings → Signature. */
export const signatureForm = z.object({
  // The mailbox address the signature is for; the service checks the user sends from it.
  mailbox: z.string().trim().min(3).max(254).refine((v) => v.includes('@') && !/[\u0000-\u001f\u007f]/.test(v)),
  // Plain text, or markup reduced to the composed-mail allow-list.
  format: z.enum(['text', 'html']).default('text'),
  // The signature as typed; its UTF-8 size is checked against SIGNATURE_MAX_BYTES by the service.
  signature: z.string().max(SIGNATURE_MAX_BYTES).default(''),
});

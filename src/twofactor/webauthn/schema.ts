import { z } from 'zod';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

/** DEFAULT_NAME is what a key is called when its owner gives it no name. */
export const DEFAULT_NAME = 'Security key';

/** The transports a browser may report for a key; anything else is dropped. */
export const TRANSPORTS = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;

// base64url as the browser encodes it; credential ids are at most 1023 bytes (WebAuthn level 3).
const b64url = (max: number) => z.string().min(1).max(max).regex(/^[\w-]+={0,2}$/);
const credentialId = b64url(1400);

/** keyName: what to call a key ("YubiKey", "Laptop"); blank means DEFAULT_NAME. */
const keyName = z
  .string()
  .trim()
  .max(40)
  .optional()
  .transform((v) => v || DEFAULT_NAME);

/** The answer of the browser's WebAuthn call, sent as JSON text in one form field. */
const responseField = z.string().min(2).max(16_000);

/** registrationJson: what navigator.credentials.create() returned, as @simplewebauthn/browser encodes it. */
const registrationJson = z.object({
  id: credentialId,
  rawId: credentialId,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: b64url(4000),
    attestationObject: b64url(12_000),
    transports: z.array(z.string().max(20)).max(10).optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.object({ credProps: z.object({ rk: z.boolean().optional() }).optional() }).default({}),
});

/** authenticationJson: what navigator.credentials.get() returned. */
const authenticationJson = z.object({
  id: credentialId,
  rawId: credentialId,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: b64url(4000),
    authenticatorData: b64url(4000),
    signature: b64url(2000),
    userHandle: b64url(200).optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.object({}).default({}),
});

/** parseJson reads a field holding JSON; undefined when it is not JSON or not the shape `schema` describes. */
function parseJson<T>(text: string, schema: z.ZodType<T>): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** readRegistration reads a registration response field. */
export function readRegistration(text: string): RegistrationResponseJSON | undefined {
  return parseJson(text, registrationJson) as RegistrationResponseJSON | undefined;
}

/** readAuthentication reads an authentication response field. */
export function readAuthentication(text: string): AuthenticationResponseJSON | undefined {
  return parseJson(text, authenticationJson) as AuthenticationResponseJSON | undefined;
}

/** addForm: a key just made by the browser, and what to call it. */
export const addForm = z.object({
  name: keyName,
  // The JSON the browser's create() call returned.
  response: responseField,
});

/** renameForm: a new name for one of the user's keys. */
export const renameForm = z.object({
  name: keyName,
});

/** assertForm: the JSON the browser's get() call returned, at sign-in, step-up or passwordless sign-in. */
export const assertForm = z.object({
  response: responseField,
  // "Trust this device" at the second step.
  trust: z.literal('on').optional(),
  // The verify page's return path and need, carried through.
  next: z.string().max(300).optional(),
  need: z.enum(['factors', 'sensitive']).optional(),
});

/** idParams: the key to rename or remove. */
export const idParams = z.object({ id: z.uuid() });

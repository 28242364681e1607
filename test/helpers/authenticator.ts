import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/** Options a browser's script would have got from the server, as far as a test authenticator needs them. */
export interface CreateOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}

const b64url = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | Buffer | string) => createHash('sha256').update(b).digest();

/**
 * SoftAuthenticator is a security key in software for HTTP tests: an ES256
 * key pair, a credential id, a signature counter, and the WebAuthn
 * encodings (CBOR attestation "none", authenticator data, client data) a
 * browser would send. Chromium's virtual authenticator covers the real
 * browser path; this one lets a test forge, replay and rewind freely.
 */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  private readonly privateKey: KeyObject;
  private readonly cose: Uint8Array;
  counter: number;
  userHandle?: string;

  constructor(
    readonly origin: string,
    readonly rpId: string,
    opts: { counter?: number } = {},
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]),
    );
    this.counter = opts.counter ?? 0;
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  /** publicKey is the COSE key as the server stores it, for tests that seed a key without registering it. */
  get publicKey(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.cose);
  }

  /** flags: user present, user verified, and (for a passkey) backup eligible and backed up. */
  private authData(extra: Uint8Array | undefined, uv: boolean): Buffer {
    let flags = 0x01 | (uv ? 0x04 : 0);
    if (extra) flags |= 0x40;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    return Buffer.concat([sha256(this.rpId), Buffer.from([flags]), count, ...(extra ? [extra] : [])]);
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin = this.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** register answers registration options as navigator.credentials.create() would, in @simplewebauthn/browser's JSON. */
  register(options: CreateOptions, opts: { origin?: string; rk?: boolean } = {}) {
    this.userHandle = options.user.id;
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLen, this.credentialId, Buffer.from(this.cose)]);
    const authData = this.authData(attested, true);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', new Uint8Array(authData)]]) as never);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, opts.origin)), attestationObject: b64url(attestationObject), transports: ['usb', 'nfc', 'bogus'] },
      clientExtensionResults: { credProps: { rk: opts.rk ?? true } },
    };
  }

  /**
   * assert signs a challenge as navigator.credentials.get() would, moving
   * the counter on first (unless `counter` says what to present).
   */
  assert(challenge: string, opts: { origin?: string; uv?: boolean; counter?: number; userHandle?: string | null } = {}) {
    this.counter = opts.counter ?? this.counter + 1;
    const authData = this.authData(undefined, opts.uv ?? true);
    const clientData = this.clientData('webauthn.get', challenge, opts.origin);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.privateKey);
    const handle = opts.userHandle === null ? undefined : (opts.userHandle ?? this.userHandle);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientData), authenticatorData: b64url(authData), signature: b64url(signature), ...(handle ? { userHandle: handle } : {}) },
      clientExtensionResults: {},
    };
  }
}

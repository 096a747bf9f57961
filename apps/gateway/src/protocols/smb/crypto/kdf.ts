import { createHmac } from 'node:crypto';
import { keyBits, type Smb2Cipher, type Smb2Dialect } from './types.ts';

/**
 * SMB 3.x key derivation (MS-SMB2 3.1.4.2): SP800-108 KDF in counter mode with HMAC-SHA256,
 * r = 32, one iteration: HMAC(Ki, [i=1]₄ ‖ Label ‖ 0x00 ‖ Context ‖ [L]₄), truncated to L bits.
 * Labels and contexts carry their terminating NUL (MS-SMB2 3.2.5.3.1, 3.3.5.5.3), so a label
 * is followed by two zero bytes: its own NUL and SP800-108's separator.
 */
export function smb3Kdf(key: Buffer, label: Buffer, context: Buffer, bits = 128): Buffer {
  if (bits !== 128 && bits !== 256)
    throw new RangeError(`SMB3 KDF output must be 128 or 256 bits, not ${bits}`);
  const i = Buffer.from([0, 0, 0, 1]);
  const l = Buffer.alloc(4);
  l.writeUInt32BE(bits);
  return createHmac('sha256', key)
    .update(i)
    .update(label)
    .update(Buffer.from([0]))
    .update(context)
    .update(l)
    .digest()
    .subarray(0, bits / 8);
}

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, 'latin1');

/** MS-SMB2 3.3.5.5.3 labels and contexts for 3.0 and 3.0.2. */
export const SMB30_LABELS = {
  signing: [cstr('SMB2AESCMAC'), cstr('SmbSign')],
  application: [cstr('SMB2APP'), cstr('SmbRpc')],
  /** Server→client: what the server encrypts with (the client's DecryptionKey). */
  serverOut: [cstr('SMB2AESCCM'), cstr('ServerOut')],
  /** Client→server: what the server decrypts with (the client's EncryptionKey). */
  serverIn: [cstr('SMB2AESCCM'), cstr('ServerIn ')],
} as const;

/** MS-SMB2 3.3.5.5.3 labels for 3.1.1; the context is Session.PreauthIntegrityHashValue. */
export const SMB311_LABELS = {
  signing: cstr('SMBSigningKey'),
  application: cstr('SMBAppKey'),
  serverToClient: cstr('SMBS2CCipherKey'),
  clientToServer: cstr('SMBC2SCipherKey'),
} as const;

export interface Smb2SessionKeys {
  signingKey: Buffer;
  /** Server→client: the server encrypts with this (3.x only). */
  encryptionKey?: Buffer;
  /** Client→server: the server decrypts with this (3.x only). */
  decryptionKey?: Buffer;
  applicationKey: Buffer;
}

/**
 * The session's keys from the authentication's session key (MS-SMB2 3.3.5.5.3). SMB 2.0.2 and
 * 2.1 sign with the session key itself (its first 16 bytes) and have no encryption. 3.1.1 needs
 * the session's pre-authentication integrity hash (64 bytes) as the KDF context. The 128-bit
 * ciphers take 128-bit keys from the first 16 bytes of the session key; AES-256-CCM and -GCM
 * (3.1.1 only) take 256-bit ones (L = 256) from the whole key (Session.FullSessionKey).
 */
export function deriveKeys(
  dialect: Smb2Dialect,
  sessionKey: Buffer,
  preauthHash?: Buffer,
  cipher?: Smb2Cipher,
): Smb2SessionKeys {
  if (sessionKey.length === 0) throw new RangeError('deriveKeys: the session key is empty');
  // MS-SMB2 3.3.5.5.3: Session.SessionKey is the first 16 bytes of the GSS key, zero-padded if shorter.
  const key = Buffer.alloc(16);
  sessionKey.copy(key, 0, 0, 16);
  switch (dialect) {
    case 0x0202:
    case 0x0210:
      return { signingKey: key, applicationKey: key };
    case 0x0300:
    case 0x0302: {
      if (cipher !== undefined && cipher !== 'AES-128-CCM')
        throw new RangeError(`deriveKeys: dialect 3.0/3.0.2 encrypts with AES-128-CCM only, not ${cipher}`);
      const L = SMB30_LABELS;
      return {
        signingKey: smb3Kdf(key, L.signing[0], L.signing[1]),
        encryptionKey: smb3Kdf(key, L.serverOut[0], L.serverOut[1]),
        decryptionKey: smb3Kdf(key, L.serverIn[0], L.serverIn[1]),
        applicationKey: smb3Kdf(key, L.application[0], L.application[1]),
      };
    }
    case 0x0311: {
      if (preauthHash?.length !== 64)
        throw new RangeError('deriveKeys: dialect 3.1.1 needs the 64-byte pre-authentication integrity hash');
      const L = SMB311_LABELS;
      const bits = cipher === undefined ? 128 : keyBits(cipher);
      const cipherKey = bits === 256 ? sessionKey : key;
      return {
        signingKey: smb3Kdf(key, L.signing, preauthHash),
        encryptionKey: smb3Kdf(cipherKey, L.serverToClient, preauthHash, bits),
        decryptionKey: smb3Kdf(cipherKey, L.clientToServer, preauthHash, bits),
        applicationKey: smb3Kdf(key, L.application, preauthHash),
      };
    }
    default:
      throw new RangeError(`deriveKeys: unknown dialect 0x${(dialect as number).toString(16)}`);
  }
}

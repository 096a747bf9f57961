/**
 * The one place the SMB server imports authentication, crypto and the NTSTATUS table from
 * (protocols/smb/auth, crypto and status, each its own module with its own tests), and the
 * bridges between their vocabulary and the wire values this server uses.
 */
import { CIPHER, type Cipher } from './constants.ts';
import type { Smb2Cipher, Smb2Dialect } from './crypto/index.ts';
import { NT_STATUS } from './status/index.ts';

export { type AcceptorStep, NtlmAcceptor, type NtlmUserRecord } from './auth/index.ts';
export {
  type ArrivingDecryption,
  type DecryptResult,
  decrypt,
  decryptAsArriving,
  decryptInPlace,
  deriveKeys,
  encrypt,
  encryptInto,
  encryptParts,
  isShared,
  OFFLOAD_MIN_BYTES,
  PreauthHash,
  type Smb2SessionKeys,
  sealable,
  sign,
  TRANSFORM_HEADER_SIZE,
  verifySignature,
} from './crypto/index.ts';
export { NT_STATUS, ntStatusName } from './status/index.ts';

const CIPHER_NAMES: Record<Cipher, Smb2Cipher> = {
  [CIPHER.AES128_CCM]: 'AES-128-CCM',
  [CIPHER.AES128_GCM]: 'AES-128-GCM',
  [CIPHER.AES256_CCM]: 'AES-256-CCM',
  [CIPHER.AES256_GCM]: 'AES-256-GCM',
};

/** The crypto module's name of a negotiated cipher id (MS-SMB2 §2.2.3.1.2). */
export function cipherName(c: Cipher): Smb2Cipher {
  return CIPHER_NAMES[c];
}

/** A negotiated dialect as the crypto module types it (never the 0x02FF wildcard). */
export function smb2Dialect(d: number): Smb2Dialect {
  return d as Smb2Dialect;
}

/** An NTSTATUS the acceptor names, as its code. */
export function statusCode(name: keyof typeof NT_STATUS): number {
  return NT_STATUS[name];
}

export { isShared, OFFLOAD_MIN_BYTES, sealable } from './aead-pool.ts';
export { aesCmac, cmacSubkeys } from './aes-cmac.ts';
export { deriveKeys, SMB30_LABELS, SMB311_LABELS, type Smb2SessionKeys, smb3Kdf } from './kdf.ts';
export { PreauthHash } from './preauth.ts';
export { Rc4Stream, rc4 } from './rc4.ts';
export {
  SIGNATURE_OFFSET,
  SIGNATURE_SIZE,
  SMB2_FLAGS_SIGNED,
  SMB2_HEADER_SIZE,
  sign,
  verifySignature,
} from './signing.ts';
export {
  type ArrivingDecryption,
  type DecryptResult,
  decrypt,
  decryptAsArriving,
  decryptInPlace,
  type EncryptOptions,
  encrypt,
  encryptInto,
  encryptParts,
  nonceLength,
  TRANSFORM_HEADER_SIZE,
  TRANSFORM_PROTOCOL_ID,
} from './transform.ts';
export { isSmb3, SMB2_DIALECTS, type Smb2Cipher, type Smb2Dialect } from './types.ts';

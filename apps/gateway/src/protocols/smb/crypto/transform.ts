import {
  type CipherCCM,
  type CipherCCMTypes,
  type CipherGCM,
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  type DecipherCCM,
  type DecipherGCM,
  randomBytes,
} from 'node:crypto';
import { aeadPool, type SealedInput } from './aead-pool.ts';
import { isCcm, keyBits, opensslName, type Smb2Cipher } from './types.ts';

/**
 * SMB 3.x encryption (MS-SMB2 3.1.4.3, 3.3.4.1.4, 3.3.5.2.1.1): the SMB2 TRANSFORM_HEADER
 * (2.2.41) and AEAD over the messages it carries.
 *
 *   0  ProtocolId 0xFD 'S' 'M' 'B'      4  Signature (the AEAD tag, 16)
 *   20 Nonce (16: CCM uses 11, GCM 12)  36 OriginalMessageSize (4)
 *   40 Reserved (2)                     42 Flags / EncryptionAlgorithm (2) = 0x0001
 *   44 SessionId (8)                    52 the encrypted message(s)
 *
 * The additional authenticated data is the header from Nonce to its end (bytes 20..52).
 */
export const TRANSFORM_HEADER_SIZE = 52;
export const TRANSFORM_PROTOCOL_ID = Buffer.from([0xfd, 0x53, 0x4d, 0x42]);
/** Flags = Encrypted (3.1.1) / EncryptionAlgorithm = SMB2_ENCRYPTION_AES128_CCM (3.0.x): both 0x0001. */
const FLAGS_ENCRYPTED = 0x0001;
const TAG_SIZE = 16;
const NONCE_OFFSET = 20;
const NONCE_FIELD_SIZE = 16;

function checkKey(what: string, cipher: Smb2Cipher, key: Buffer): void {
  const bytes = keyBits(cipher) / 8;
  if (key.length !== bytes)
    throw new RangeError(`${what}: a ${cipher} key is ${bytes} bytes, not ${key.length}`);
}

export function nonceLength(cipher: Smb2Cipher): 11 | 12 {
  return isCcm(cipher) ? 11 : 12;
}

type AeadCipher = CipherCCM | CipherGCM;
type AeadDecipher = DecipherCCM | DecipherGCM;

function aeadCipher(cipher: Smb2Cipher, key: Buffer, nonce: Buffer): AeadCipher {
  const name = opensslName(cipher);
  if (isCcm(cipher)) return createCipheriv(name as CipherCCMTypes, key, nonce, { authTagLength: TAG_SIZE });
  return createCipheriv(name as CipherGCMTypes, key, nonce, { authTagLength: TAG_SIZE });
}

function aeadDecipher(cipher: Smb2Cipher, key: Buffer, nonce: Buffer): AeadDecipher {
  const name = opensslName(cipher);
  if (isCcm(cipher)) return createDecipheriv(name as CipherCCMTypes, key, nonce, { authTagLength: TAG_SIZE });
  return createDecipheriv(name as CipherGCMTypes, key, nonce, { authTagLength: TAG_SIZE });
}

// A nonce must never repeat under one key. Keys live as long as their session, inside this
// process, so a process-wide counter under a random prefix (drawn once) is unique for every key
// without per-key state; the prefix keeps two processes that share nothing from colliding.
const NONCE_PREFIX = randomBytes(4);
let nonceCounter = 0n;

function nextNonce(cipher: Smb2Cipher): Buffer {
  const n = Buffer.alloc(NONCE_FIELD_SIZE);
  const len = nonceLength(cipher);
  NONCE_PREFIX.copy(n, 0, 0, len - 8);
  nonceCounter = (nonceCounter + 1n) & 0xffffffffffffffffn;
  n.writeBigUInt64LE(nonceCounter, len - 8);
  return n;
}

export interface EncryptOptions {
  /**
   * The Nonce field to use: the cipher's nonce (11 or 12 bytes) or the whole 16-byte field.
   * Only for reproducing published vectors: a nonce must never be reused under one key.
   */
  nonce?: Buffer;
}

/** TRANSFORM_HEADER + ciphertext of one or more SMB2 messages for sessionId, as one buffer. */
export function encrypt(
  cipher: Smb2Cipher,
  key: Buffer,
  sessionId: bigint,
  plaintext: Buffer,
  options: EncryptOptions = {},
): Buffer {
  return Buffer.concat(encryptParts(cipher, key, sessionId, [plaintext], options));
}

/** Bytes encrypted (or decrypted in place) per cipher.update for GCM (see encryptParts). */
const GCM_PIECE = 256 * 1024;

/** A transform header to fill in: its bytes, and the nonce and AAD views the cipher takes. */
interface SealingHeader {
  header: Buffer;
  nonce: Buffer;
  aad: Buffer;
}

function sealingHeader(
  cipher: Smb2Cipher,
  key: Buffer,
  sessionId: bigint,
  size: number,
  options: EncryptOptions,
): SealingHeader {
  const len = nonceLength(cipher);
  checkKey('encrypt', cipher, key);
  if (size === 0 || size > 0xffffffff)
    throw new RangeError(`encrypt: cannot carry ${size} bytes in one transform`);
  const header = Buffer.alloc(TRANSFORM_HEADER_SIZE);
  TRANSFORM_PROTOCOL_ID.copy(header, 0);
  const nonce = options.nonce ?? nextNonce(cipher);
  if (nonce.length !== len && nonce.length !== NONCE_FIELD_SIZE)
    throw new RangeError(
      `encrypt: a ${cipher} nonce is ${len} bytes (or the ${NONCE_FIELD_SIZE}-byte field)`,
    );
  nonce.copy(header, NONCE_OFFSET);
  header.writeUInt32LE(size, 36);
  header.writeUInt16LE(FLAGS_ENCRYPTED, 42);
  header.writeBigUInt64LE(BigInt.asUintN(64, sessionId), 44);
  return {
    header,
    nonce: header.subarray(NONCE_OFFSET, NONCE_OFFSET + len),
    aad: header.subarray(NONCE_OFFSET, TRANSFORM_HEADER_SIZE),
  };
}

const totalSize = (parts: Buffer[]) => parts.reduce((n, p) => n + p.length, 0);

/**
 * The same frame as pieces to write in order: the header, then the ciphertext. GCM encrypts
 * the plaintext pieces one by one, so a large READ payload is read once and never gathered
 * first; CCM takes its input in one call (Node's CCM has a single update), so it is joined.
 */
export function encryptParts(
  cipher: Smb2Cipher,
  key: Buffer,
  sessionId: bigint,
  plaintext: Buffer[],
  options: EncryptOptions = {},
): Buffer[] {
  const size = totalSize(plaintext);
  const { header, nonce, aad } = sealingHeader(cipher, key, sessionId, size, options);
  const c = aeadCipher(cipher, key, nonce);
  c.setAAD(aad, { plaintextLength: size });
  const inputs = isCcm(cipher) && plaintext.length > 1 ? [Buffer.concat(plaintext, size)] : plaintext;
  const out = [header];
  // GCM streams: large messages go through in pieces, each ciphertext piece a small
  // allocation the heap reuses, instead of one fresh multi-megabyte buffer the kernel must
  // fault in page by page (twice the cost of the encryption itself here). CCM cannot stream.
  const piece = isCcm(cipher) ? Number.POSITIVE_INFINITY : GCM_PIECE;
  for (const p of inputs)
    for (let at = 0; at < p.length; at += piece) out.push(c.update(p.subarray(at, at + piece)));
  c.final();
  c.getAuthTag().copy(header, 4);
  return out;
}

/**
 * encryptParts on a worker thread (aead-pool.ts): the ciphertext is written into `out`, shared
 * memory of exactly the plaintext's size; resolves to the header (the frame is the header and
 * `out`). Every plaintext part must be `sealable`.
 */
export async function encryptInto(
  cipher: Smb2Cipher,
  key: Buffer,
  sessionId: bigint,
  plaintext: Buffer[],
  out: Buffer,
): Promise<Buffer> {
  const size = totalSize(plaintext);
  if (out.length !== size) throw new RangeError(`encryptInto: ${out.length} bytes for ${size}`);
  const { header, nonce, aad } = sealingHeader(cipher, key, sessionId, size, {});
  const tag = await aeadPool.seal(cipher, key, nonce, aad, plaintext, out);
  tag.copy(header, 4);
  return header;
}

export type DecryptResult =
  | { sessionId: bigint; plaintext: Buffer }
  | { error: 'STATUS_ACCESS_DENIED' | 'STATUS_INVALID_PARAMETER' };

/** A transform frame whose header checked out, ready for its cipher. */
interface SealedFrame {
  sessionId: bigint;
  key: Buffer;
  nonce: Buffer;
  aad: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/**
 * The header checks of MS-SMB2 3.3.5.2.1.1: a malformed header (short, wrong ProtocolId, Flags
 * not 0x0001, OriginalMessageSize not the rest of the frame) is STATUS_INVALID_PARAMETER; a
 * session without a key is STATUS_ACCESS_DENIED.
 */
function readSealed(
  cipher: Smb2Cipher,
  keyFor: (sessionId: bigint) => Buffer | undefined,
  frame: Buffer,
): SealedFrame | Extract<DecryptResult, { error: string }> {
  if (frame.length <= TRANSFORM_HEADER_SIZE) return { error: 'STATUS_INVALID_PARAMETER' };
  if (!frame.subarray(0, 4).equals(TRANSFORM_PROTOCOL_ID)) return { error: 'STATUS_INVALID_PARAMETER' };
  if (frame.readUInt16LE(42) !== FLAGS_ENCRYPTED) return { error: 'STATUS_INVALID_PARAMETER' };
  const size = frame.readUInt32LE(36);
  if (size !== frame.length - TRANSFORM_HEADER_SIZE) return { error: 'STATUS_INVALID_PARAMETER' };
  const sessionId = frame.readBigUInt64LE(44);
  const key = keyFor(sessionId);
  if (key === undefined) return { error: 'STATUS_ACCESS_DENIED' };
  checkKey('decrypt', cipher, key);
  return {
    sessionId,
    key,
    nonce: frame.subarray(NONCE_OFFSET, NONCE_OFFSET + nonceLength(cipher)),
    aad: frame.subarray(NONCE_OFFSET, TRANSFORM_HEADER_SIZE),
    tag: frame.subarray(4, 4 + TAG_SIZE),
    ciphertext: frame.subarray(TRANSFORM_HEADER_SIZE),
  };
}

/**
 * Opens one transform frame (MS-SMB2 3.3.5.2.1.1): the header checks of readSealed, then a
 * frame that does not authenticate (any changed byte of header or ciphertext) is
 * STATUS_ACCESS_DENIED.
 *
 * `inPlace` (GCM): the plaintext is written over the ciphertext, piece by piece, and returned
 * as a view of `frame` — no fresh buffer of the message's size, which the kernel would fault in
 * page by page. The frame's bytes are garbage afterwards, also when it does not authenticate.
 */
export function decrypt(
  cipher: Smb2Cipher,
  keyFor: (sessionId: bigint) => Buffer | undefined,
  frame: Buffer,
  options: { inPlace?: boolean } = {},
): DecryptResult {
  const f = readSealed(cipher, keyFor, frame);
  if ('error' in f) return f;
  const d = aeadDecipher(cipher, f.key, f.nonce);
  d.setAuthTag(f.tag);
  d.setAAD(f.aad, { plaintextLength: f.ciphertext.length });
  const ciphertext = f.ciphertext;
  let plaintext: Buffer;
  if (options.inPlace && !isCcm(cipher)) {
    let written = 0;
    for (let at = 0; at < ciphertext.length; at += GCM_PIECE) {
      const piece = d.update(ciphertext.subarray(at, at + GCM_PIECE));
      piece.copy(ciphertext, written);
      written += piece.length;
    }
    plaintext = ciphertext.subarray(0, written);
  } else {
    plaintext = d.update(ciphertext);
  }
  try {
    d.final();
  } catch {
    return { error: 'STATUS_ACCESS_DENIED' };
  }
  return { sessionId: f.sessionId, plaintext };
}

/**
 * decrypt on a worker thread (aead-pool.ts), in place: `frame` must be shared memory. The same
 * answers; the header checks are made before this returns a promise.
 */
export function decryptInPlace(
  cipher: Smb2Cipher,
  keyFor: (sessionId: bigint) => Buffer | undefined,
  frame: Buffer,
): DecryptResult | Promise<DecryptResult> {
  const f = readSealed(cipher, keyFor, frame);
  if ('error' in f) return f;
  return aeadPool.open(sealedInput(cipher, f)).then((ok) => openedInPlace(f, ok));
}

/** A checked transform frame as the workers decrypt it. */
function sealedInput(cipher: Smb2Cipher, f: SealedFrame): SealedInput {
  return { cipher, key: f.key, nonce: f.nonce, aad: f.aad, tag: f.tag, data: f.ciphertext };
}

/** What a decryption in place answers once the tag was checked. */
function openedInPlace(f: SealedFrame, authentic: boolean): DecryptResult {
  return authentic ? { sessionId: f.sessionId, plaintext: f.ciphertext } : { error: 'STATUS_ACCESS_DENIED' };
}

/** A transform frame decrypting on a worker while it arrives (decryptAsArriving). */
export interface ArrivingDecryption {
  /** The first `received` bytes of the frame are in place. */
  more(received: number): void;
  /** The frame is whole: decrypt's answer, the plaintext in place. */
  end(): Promise<DecryptResult>;
  /** The frame will never be whole. */
  drop(): void;
}

/**
 * decryptInPlace, started while the frame arrives (GCM only), so that little is left to
 * decrypt when its last byte is in: `frame` is the whole frame's shared memory, of which the
 * header is in. Undefined when the header checks fail (decrypt then answers why) or the
 * cipher cannot stream (CCM).
 */
export function decryptAsArriving(
  cipher: Smb2Cipher,
  keyFor: (sessionId: bigint) => Buffer | undefined,
  frame: Buffer,
): ArrivingDecryption | undefined {
  if (isCcm(cipher)) return undefined;
  const f = readSealed(cipher, keyFor, frame);
  if ('error' in f) return undefined;
  const open = aeadPool.openAsArriving(sealedInput(cipher, f));
  return {
    more: (received) => open.more(received - TRANSFORM_HEADER_SIZE),
    end: () => open.end().then((ok) => openedInPlace(f, ok)),
    drop: () => open.drop(),
  };
}

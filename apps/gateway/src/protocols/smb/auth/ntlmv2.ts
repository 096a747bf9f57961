import { createHmac, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { rc4 } from '../crypto/rc4.ts';
import { NtlmError } from './errors.ts';
import { type AvPair, decodeAvPairs } from './ntlmssp.ts';

/**
 * NTLMv2 (MS-NLMP 3.3.2), one pure function per step, for the server's side: the client's
 * response is recomputed from the stored NT hash and compared in constant time.
 */

interface Md4Module {
  arrayBuffer(message: Uint8Array): ArrayBuffer;
}
// MD4 is not in Node 20's OpenSSL 3; js-md4's `arrayBuffer()` runs its own JavaScript (a plain
// `md4(x)` call would delegate to OpenSSL and throw).
const md4 = createRequire(import.meta.url)('js-md4') as Md4Module;

const hmacMd5 = (key: Buffer, ...data: Buffer[]): Buffer => {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
};

/** NTOWFv1 (MS-NLMP 3.3.1): MD4 of the UTF-16LE password, the NT hash accounts store. */
export function ntowfv1(password: string): Buffer {
  return Buffer.from(md4.arrayBuffer(Buffer.from(password, 'utf16le')));
}

/**
 * Uppercase as Windows does it (RtlUpcaseUnicodeString): one UTF-16 unit to one, so characters
 * whose full uppercase is longer ('ß' → 'SS') stay as they are.
 */
export function upcaseUnicode(s: string): string {
  let out = '';
  for (const ch of s) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

/** NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(User) ‖ UserDom)); the domain keeps its case. */
export function ntowfv2(ntHash: Buffer, user: string, domain: string): Buffer {
  return hmacMd5(ntHash, Buffer.from(upcaseUnicode(user) + domain, 'utf16le'));
}

/**
 * temp = Responserversion (1) ‖ HiResponserversion (1) ‖ Z(6) ‖ Time ‖ ClientChallenge ‖ Z(4)
 *        ‖ ServerName (the AV pairs) ‖ Z(4)
 */
export function ntlmv2Temp(time: bigint, clientChallenge: Buffer, avPairs: Buffer): Buffer {
  if (clientChallenge.length !== 8) throw new RangeError('ClientChallenge is 8 bytes');
  const head = Buffer.alloc(28);
  head[0] = 1;
  head[1] = 1;
  head.writeBigUInt64LE(time, 8);
  clientChallenge.copy(head, 16);
  return Buffer.concat([head, avPairs, Buffer.alloc(4)]);
}

/** NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp). */
export function ntProofStr(responseKeyNT: Buffer, serverChallenge: Buffer, temp: Buffer): Buffer {
  return hmacMd5(responseKeyNT, serverChallenge, temp);
}

/** SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr); for NTLMv2 it is also the KeyExchangeKey. */
export function sessionBaseKey(responseKeyNT: Buffer, proof: Buffer): Buffer {
  return hmacMd5(responseKeyNT, proof);
}

/** LMv2 = HMAC_MD5(ResponseKeyLM, ServerChallenge ‖ ClientChallenge) ‖ ClientChallenge. */
export function lmv2Response(
  responseKeyLM: Buffer,
  serverChallenge: Buffer,
  clientChallenge: Buffer,
): Buffer {
  return Buffer.concat([hmacMd5(responseKeyLM, serverChallenge, clientChallenge), clientChallenge]);
}

/**
 * ExportedSessionKey (MS-NLMP 3.2.5.1.2): with key exchange, the client's random session key,
 * RC4-encrypted under the KeyExchangeKey; otherwise the KeyExchangeKey itself.
 */
export function exportedSessionKey(keyExchangeKey: Buffer, encryptedRandomSessionKey?: Buffer): Buffer {
  if (encryptedRandomSessionKey === undefined) return Buffer.from(keyExchangeKey);
  if (encryptedRandomSessionKey.length !== 16)
    throw new NtlmError('EncryptedRandomSessionKey', `is ${encryptedRandomSessionKey.length} bytes, not 16`);
  return rc4(keyExchangeKey, encryptedRandomSessionKey);
}

/** MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE with the MIC zeroed). */
export function computeMic(
  exportedKey: Buffer,
  negotiate: Buffer,
  challenge: Buffer,
  authenticate: Buffer,
  micOffset = 72,
): Buffer {
  const zeroed = Buffer.from(authenticate);
  zeroed.fill(0, micOffset, micOffset + 16);
  return hmacMd5(exportedKey, negotiate, challenge, zeroed);
}

export interface Ntlmv2Response {
  ntProofStr: Buffer;
  /** Everything after NTProofStr: the NTLMv2_CLIENT_CHALLENGE the proof covers. */
  temp: Buffer;
  time: bigint;
  clientChallenge: Buffer;
  avPairs: AvPair[];
}

/** Shortest NTLMv2 response: NTProofStr (16) + the fixed 28 bytes + MsvAvEOL (4). */
export const NTLMV2_RESPONSE_MIN = 48;

/** Splits an NTLMv2 NtChallengeResponse (MS-NLMP 2.2.2.8, 2.2.2.7). */
export function parseNtlmv2Response(nt: Buffer): Ntlmv2Response {
  if (nt.length < NTLMV2_RESPONSE_MIN)
    throw new NtlmError('NtChallengeResponse', `${nt.length} bytes is too short for NTLMv2`);
  const temp = nt.subarray(16);
  if (temp[0] !== 1 || temp[1] !== 1)
    throw new NtlmError('NTLMv2_CLIENT_CHALLENGE', `RespType ${temp[0]}.${temp[1]}, expected 1.1`);
  return {
    ntProofStr: nt.subarray(0, 16),
    temp,
    time: temp.readBigUInt64LE(8),
    clientChallenge: temp.subarray(16, 24),
    avPairs: decodeAvPairs(temp.subarray(28), 'NTLMv2_CLIENT_CHALLENGE.AvPairs'),
  };
}

/**
 * Checks an NTLMv2 response against the account's NT hash. Clients key NTOWFv2 with the domain
 * they typed, as sent, but some with it upper-cased or empty (Samba's ntlm_password_check
 * tries the same three); every candidate is computed, and each proof compared in constant
 * time. Returns the SessionBaseKey of the match, or null.
 */
export function verifyNtlmv2(
  ntHash: Buffer,
  user: string,
  domain: string,
  serverChallenge: Buffer,
  response: Ntlmv2Response,
): Buffer | null {
  const candidates = [...new Set([domain, upcaseUnicode(domain), ''])];
  let match: Buffer | null = null;
  for (const dom of candidates) {
    const key = ntowfv2(ntHash, user, dom);
    const proof = ntProofStr(key, serverChallenge, response.temp);
    if (timingSafeEqual(proof, response.ntProofStr) && match === null) match = sessionBaseKey(key, proof);
  }
  return match;
}

import { randomBytes } from 'node:crypto';
import { CIPHER_PREFERENCE, type Cipher, HASH_SHA512, NEG_CTX, SIGNING_ALG } from './constants.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { type Reader, WireError } from './wire/reader.ts';
import type { Writer } from './wire/writer.ts';

export interface NegotiateContext {
  type: number;
  data: Buffer;
}

/** The NegotiateContextList of a 3.1.1 NEGOTIATE request (§2.2.3.1), each 8-aligned from the header. */
export function decodeContexts(r: Reader, offset: number, count: number): NegotiateContext[] {
  if (count === 0) return [];
  if (offset % 8 !== 0) throw new WireError('NegotiateContextOffset', `${offset} is not 8-aligned`);
  r.seek(offset, 'NegotiateContextOffset');
  const out: NegotiateContext[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      const pad = (8 - (r.offset % 8)) % 8;
      r.skip(Math.min(pad, r.remaining), 'NegotiateContext padding');
    }
    const type = r.u16('ContextType');
    const length = r.u16('DataLength');
    r.skip(4, 'Reserved');
    out.push({ type, data: r.bytes(length, 'NegotiateContext Data') });
  }
  return out;
}

export interface ContextChoice {
  /** Salt the response carries (the client's is only hashed in with the request). */
  salt: Buffer;
  /** undefined when the client sent no ENCRYPTION_CAPABILITIES; 0 when none is shared. */
  cipher: Cipher | 0 | undefined;
  /** undefined when the client sent no SIGNING_CAPABILITIES. */
  signing: number | undefined;
}

const u16s = (data: Buffer, countAt: number, firstAt: number, field: string): number[] => {
  if (data.length < countAt + 2)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `${field}: too short`);
  const n = data.readUInt16LE(countAt);
  if (n === 0) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `${field}: count is 0`);
  if (data.length < firstAt + 2 * n)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `${field}: list past its data`);
  return Array.from({ length: n }, (_, i) => data.readUInt16LE(firstAt + 2 * i));
};

/** MS-SMB2 §3.3.5.4: the 3.1.1 context checks and the server's choices. */
export function chooseContexts(contexts: readonly NegotiateContext[]): ContextChoice {
  const seen = new Set<number>();
  for (const c of contexts) {
    if (seen.has(c.type) && c.type !== NEG_CTX.COMPRESSION)
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `negotiate context ${c.type} sent twice`);
    seen.add(c.type);
  }
  const preauth = contexts.find((c) => c.type === NEG_CTX.PREAUTH_INTEGRITY);
  if (!preauth)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, '3.1.1 without PREAUTH_INTEGRITY_CAPABILITIES');
  // HashAlgorithmCount, SaltLength, then the algorithms.
  const hashes = u16s(preauth.data, 0, 4, 'PREAUTH_INTEGRITY_CAPABILITIES');
  if (!hashes.includes(HASH_SHA512)) {
    throw new SmbError(NT_STATUS.STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP, 'client offers no SHA-512');
  }
  let cipher: Cipher | 0 | undefined;
  const enc = contexts.find((c) => c.type === NEG_CTX.ENCRYPTION);
  if (enc) {
    const offered = u16s(enc.data, 0, 2, 'ENCRYPTION_CAPABILITIES');
    cipher = CIPHER_PREFERENCE.find((c) => offered.includes(c)) ?? 0;
  }
  let signing: number | undefined;
  const sig = contexts.find((c) => c.type === NEG_CTX.SIGNING);
  if (sig) {
    const offered = u16s(sig.data, 0, 2, 'SIGNING_CAPABILITIES');
    // AES-GMAC when offered (as Windows and Samba choose it), else AES-CMAC, the 3.x default.
    signing = offered.includes(SIGNING_ALG.AES_GMAC) ? SIGNING_ALG.AES_GMAC : SIGNING_ALG.AES_CMAC;
  }
  return { salt: randomBytes(32), cipher, signing };
}

/** The response's NegotiateContextList; returns how many contexts were written. */
export function encodeContexts(w: Writer, choice: ContextChoice): number {
  const put = (type: number, data: Buffer) => {
    w.align(8);
    w.u16(type).u16(data.length).u32(0).bytes(data);
  };
  const pre = Buffer.alloc(6 + choice.salt.length);
  pre.writeUInt16LE(1, 0);
  pre.writeUInt16LE(choice.salt.length, 2);
  pre.writeUInt16LE(HASH_SHA512, 4);
  choice.salt.copy(pre, 6);
  put(NEG_CTX.PREAUTH_INTEGRITY, pre);
  let n = 1;
  if (choice.cipher !== undefined) {
    const e = Buffer.alloc(4);
    e.writeUInt16LE(1, 0);
    e.writeUInt16LE(choice.cipher, 2);
    put(NEG_CTX.ENCRYPTION, e);
    n++;
  }
  if (choice.signing !== undefined) {
    const s = Buffer.alloc(4);
    s.writeUInt16LE(1, 0);
    s.writeUInt16LE(choice.signing, 2);
    put(NEG_CTX.SIGNING, s);
    n++;
  }
  return n;
}

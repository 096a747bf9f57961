import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Rc4Stream } from '../crypto/rc4.ts';
import { NTLMSSP } from './ntlmssp.ts';

/**
 * NTLMSSP session security with extended session security (MS-NLMP 3.4.4.2, 3.4.5): what
 * SPNEGO's mechListMIC needs — GSS_GetMIC / GSS_VerifyMIC over the MechTypeList.
 * SMB itself signs with its own keys (MS-SMB2 3.1.4.1), never with these.
 */
const MAGIC = {
  clientSign: 'session key to client-to-server signing key magic constant\0',
  serverSign: 'session key to server-to-client signing key magic constant\0',
  clientSeal: 'session key to client-to-server sealing key magic constant\0',
  serverSeal: 'session key to server-to-client sealing key magic constant\0',
} as const;

const md5 = (...parts: Buffer[]): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** SIGNKEY (MS-NLMP 3.4.5.2). */
export function signKey(
  exportedSessionKey: Buffer,
  direction: 'client-to-server' | 'server-to-client',
): Buffer {
  const magic = direction === 'client-to-server' ? MAGIC.clientSign : MAGIC.serverSign;
  return md5(exportedSessionKey, Buffer.from(magic, 'latin1'));
}

/** SEALKEY (MS-NLMP 3.4.5.3), extended session security: 128, 56 or 40 bits of the key, then MD5. */
export function sealKey(
  exportedSessionKey: Buffer,
  flags: number,
  direction: 'client-to-server' | 'server-to-client',
): Buffer {
  const bytes = flags & NTLMSSP.NEGOTIATE_128 ? 16 : flags & NTLMSSP.NEGOTIATE_56 ? 7 : 5;
  const magic = direction === 'client-to-server' ? MAGIC.clientSeal : MAGIC.serverSeal;
  return md5(exportedSessionKey.subarray(0, bytes), Buffer.from(magic, 'latin1'));
}

/**
 * NTLMSSP_MESSAGE_SIGNATURE with extended session security (MS-NLMP 3.4.4.2):
 * Version 1 ‖ Checksum ‖ SeqNum, Checksum = HMAC_MD5(SigningKey, SeqNum ‖ Message)[0..7],
 * sealed by the direction's RC4 stream when key exchange was negotiated.
 */
export function ntlmMac(
  signingKey: Buffer,
  sealStream: Rc4Stream | undefined,
  seqNum: number,
  message: Buffer,
): Buffer {
  const seq = Buffer.alloc(4);
  seq.writeUInt32LE(seqNum >>> 0);
  let checksum: Buffer = createHmac('md5', signingKey).update(seq).update(message).digest().subarray(0, 8);
  if (sealStream !== undefined) checksum = sealStream.process(checksum);
  return Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, seq]);
}

/** One side's NTLMSSP session security state: its own sending keys, its peer's for verifying. */
export class NtlmSessionSecurity {
  private readonly sendSign: Buffer;
  private readonly recvSign: Buffer;
  private readonly sendSeal: Rc4Stream | undefined;
  private readonly recvSeal: Rc4Stream | undefined;
  private sendSeq = 0;
  private recvSeq = 0;

  constructor(exportedSessionKey: Buffer, flags: number, role: 'client' | 'server') {
    const out = role === 'client' ? 'client-to-server' : 'server-to-client';
    const inn = role === 'client' ? 'server-to-client' : 'client-to-server';
    this.sendSign = signKey(exportedSessionKey, out);
    this.recvSign = signKey(exportedSessionKey, inn);
    const keyExch = (flags & NTLMSSP.NEGOTIATE_KEY_EXCH) !== 0;
    this.sendSeal = keyExch ? new Rc4Stream(sealKey(exportedSessionKey, flags, out)) : undefined;
    this.recvSeal = keyExch ? new Rc4Stream(sealKey(exportedSessionKey, flags, inn)) : undefined;
  }

  /** GSS_GetMIC. */
  sign(message: Buffer): Buffer {
    return ntlmMac(this.sendSign, this.sendSeal, this.sendSeq++, message);
  }

  /** GSS_VerifyMIC, constant-time. */
  verify(message: Buffer, signature: Buffer): boolean {
    const expected = ntlmMac(this.recvSign, this.recvSeal, this.recvSeq++, message);
    return signature.length === expected.length && timingSafeEqual(expected, signature);
  }
}

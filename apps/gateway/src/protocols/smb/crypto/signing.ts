import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { aesCmac } from './aes-cmac.ts';
import type { Smb2Dialect } from './types.ts';

/** SMB2 header (MS-SMB2 2.2.1): 64 bytes, the 16-byte Signature at offset 48. */
export const SMB2_HEADER_SIZE = 64;
export const SIGNATURE_OFFSET = 48;
export const SIGNATURE_SIZE = 16;
/** SMB2_FLAGS_SIGNED in the header's Flags (offset 16). */
export const SMB2_FLAGS_SIGNED = 0x00000008;

const ZERO_SIGNATURE = Buffer.alloc(SIGNATURE_SIZE);

/** The message as the MAC sees it: the Signature field as zeros, without copying the message. */
function macInput(message: Buffer): Buffer[] {
  return [
    message.subarray(0, SIGNATURE_OFFSET),
    ZERO_SIGNATURE,
    message.subarray(SIGNATURE_OFFSET + SIGNATURE_SIZE),
  ];
}

const SMB2_FLAGS_SERVER_TO_REDIR = 0x00000001;
const SMB2_CANCEL = 0x000c;

/**
 * AES-128-GMAC (MS-SMB2 3.1.4.1, 3.1.1 with SIGNING_CAPABILITIES): AES-128-GCM over no
 * plaintext with the message as additional data; the nonce is the MessageId, then a 32-bit
 * field with bit 0 set for a response and bit 1 for a CANCEL request.
 */
function aesGmac(signingKey: Buffer, message: Buffer, parts: Buffer[]): Buffer {
  const nonce = Buffer.alloc(12);
  message.copy(nonce, 0, 24, 32);
  const flags = message.readUInt32LE(16);
  const response = (flags & SMB2_FLAGS_SERVER_TO_REDIR) !== 0;
  const cancel = !response && message.readUInt16LE(12) === SMB2_CANCEL;
  nonce.writeUInt32LE((response ? 1 : 0) | (cancel ? 2 : 0), 8);
  const gcm = createCipheriv('aes-128-gcm', signingKey, nonce);
  for (const p of parts) gcm.setAAD(p);
  gcm.final();
  return gcm.getAuthTag();
}

/**
 * The Signature of one SMB2 message (MS-SMB2 3.1.4.1): HMAC-SHA256 truncated to 16 bytes for
 * 2.0.2 and 2.1, AES-128-CMAC for 3.x, AES-128-GMAC for 3.1.1 when negotiated (`gmac`). The
 * message is one header plus body (one element of a compound, up to its NextCommand), with
 * SMB2_FLAGS_SIGNED already set; whatever its Signature field holds is taken as zeros.
 */
export function sign(dialect: Smb2Dialect, signingKey: Buffer, message: Buffer, gmac = false): Buffer {
  if (message.length < SMB2_HEADER_SIZE)
    throw new RangeError(
      `sign: an SMB2 message is at least ${SMB2_HEADER_SIZE} bytes, not ${message.length}`,
    );
  const parts = macInput(message);
  if (gmac && dialect === 0x0311) return aesGmac(signingKey, message, parts);
  if (dialect >= 0x0300) return aesCmac(signingKey, parts);
  const h = createHmac('sha256', signingKey);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, SIGNATURE_SIZE);
}

/** Whether the message's Signature field is its signature under signingKey; constant-time. */
export function verifySignature(
  dialect: Smb2Dialect,
  signingKey: Buffer,
  message: Buffer,
  gmac = false,
): boolean {
  if (message.length < SMB2_HEADER_SIZE) return false;
  const expected = sign(dialect, signingKey, message, gmac);
  return timingSafeEqual(expected, message.subarray(SIGNATURE_OFFSET, SIGNATURE_OFFSET + SIGNATURE_SIZE));
}

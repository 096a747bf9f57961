import { createHmac, timingSafeEqual } from 'node:crypto';
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

/**
 * The Signature of one SMB2 message (MS-SMB2 3.1.4.1): HMAC-SHA256 truncated to 16 bytes for
 * 2.0.2 and 2.1, AES-128-CMAC for 3.x. The message is one header plus body (one element of a
 * compound, up to its NextCommand), with SMB2_FLAGS_SIGNED already set; whatever its
 * Signature field holds is taken as zeros.
 */
export function sign(dialect: Smb2Dialect, signingKey: Buffer, message: Buffer): Buffer {
  if (message.length < SMB2_HEADER_SIZE)
    throw new RangeError(
      `sign: an SMB2 message is at least ${SMB2_HEADER_SIZE} bytes, not ${message.length}`,
    );
  const parts = macInput(message);
  if (dialect >= 0x0300) return aesCmac(signingKey, parts);
  const h = createHmac('sha256', signingKey);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, SIGNATURE_SIZE);
}

/** Whether the message's Signature field is its signature under signingKey; constant-time. */
export function verifySignature(dialect: Smb2Dialect, signingKey: Buffer, message: Buffer): boolean {
  if (message.length < SMB2_HEADER_SIZE) return false;
  const expected = sign(dialect, signingKey, message);
  return timingSafeEqual(expected, message.subarray(SIGNATURE_OFFSET, SIGNATURE_OFFSET + SIGNATURE_SIZE));
}

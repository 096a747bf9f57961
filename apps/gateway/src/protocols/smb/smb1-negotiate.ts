import { DIALECT } from './constants.ts';

const SMB1_NEGOTIATE = 0x72;

/**
 * MS-SMB2 §3.3.5.3.1: an SMB1 NEGOTIATE is answered only when it offers SMB2 — "SMB 2.???"
 * gets the wildcard 0x02FF (the client then negotiates again in SMB2), "SMB 2.002" alone gets
 * 2.0.2. Undefined: nothing this server speaks (the connection closes).
 */
export function smb1NegotiateDialect(frame: Buffer): number | undefined {
  if (frame.length < 35 || frame[4] !== SMB1_NEGOTIATE) return undefined;
  const wordCount = frame[32]!;
  const at = 33 + wordCount * 2;
  if (at + 2 > frame.length) return undefined;
  const byteCount = frame.readUInt16LE(at);
  const bytes = frame.subarray(at + 2, Math.min(frame.length, at + 2 + byteCount));
  const dialects = new Set<string>();
  for (let p = 0; p < bytes.length; ) {
    if (bytes[p] !== 0x02) break;
    const end = bytes.indexOf(0, p + 1);
    if (end < 0) break;
    dialects.add(bytes.toString('latin1', p + 1, end));
    p = end + 1;
  }
  if (dialects.has('SMB 2.???')) return DIALECT.WILDCARD;
  if (dialects.has('SMB 2.002')) return DIALECT.SMB202;
  return undefined;
}

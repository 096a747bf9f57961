import { createCipheriv } from 'node:crypto';

/**
 * AES-128-CMAC (RFC 4493), the SMB 3.x signing MAC (MS-SMB2 3.1.4.1). The blocks before the last
 * go through aes-128-cbc with a zero IV, whose last output block is the CBC-MAC state; the last
 * block is masked with K1 (complete) or K2 (padded) and enciphered on its own. The message may
 * come in pieces (signing skips over a header's Signature field without copying the message).
 */
const BLOCK = 16;
const RB = 0x87;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

function aesBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** RFC 4493 §2.3 Generate_Subkey: doubling in GF(2^128). */
function double(block: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BLOCK);
  let carry = 0;
  for (let n = BLOCK - 1; n >= 0; n--) {
    const b = block[n]!;
    out[n] = ((b << 1) | carry) & 0xff;
    carry = b >> 7;
  }
  if (carry) out[BLOCK - 1] = out[BLOCK - 1]! ^ RB;
  return out;
}

export function cmacSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const k1 = double(aesBlock(key, ZERO_BLOCK));
  return { k1, k2: double(k1) };
}

/** AES-128-CMAC of data, or of the concatenation of its pieces. */
export function aesCmac(key: Buffer, data: Buffer | readonly Buffer[]): Buffer {
  if (key.length !== 16) throw new RangeError(`AES-128-CMAC key must be 16 bytes, not ${key.length}`);
  const parts: readonly Buffer[] = Buffer.isBuffer(data) ? [data] : data;
  let total = 0;
  for (const p of parts) total += p.length;
  const { k1, k2 } = cmacSubkeys(key);
  const complete = total > 0 && total % BLOCK === 0;
  const headLength = (Math.max(1, Math.ceil(total / BLOCK)) - 1) * BLOCK;

  // The head runs through CBC; the tail (1 to 16 bytes, or none for an empty message) is kept.
  const last = Buffer.alloc(BLOCK);
  let state = ZERO_BLOCK;
  const cbc = headLength > 0 ? createCipheriv('aes-128-cbc', key, ZERO_BLOCK) : undefined;
  cbc?.setAutoPadding(false);
  let fed = 0;
  let tail = 0;
  for (const p of parts) {
    let from = 0;
    if (cbc !== undefined && fed < headLength) {
      from = Math.min(p.length, headLength - fed);
      const out = cbc.update(from === p.length ? p : p.subarray(0, from));
      if (out.length > 0) state = out.subarray(out.length - BLOCK);
      fed += from;
    }
    if (from < p.length) tail += p.copy(last, tail, from);
  }
  cbc?.final();

  if (!complete) last[tail] = 0x80;
  const mask = complete ? k1 : k2;
  for (let n = 0; n < BLOCK; n++) last[n] = last[n]! ^ mask[n]! ^ state[n]!;
  return aesBlock(key, last);
}

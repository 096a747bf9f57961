import { ByteCursor } from '../../../util/byte-cursor.ts';

/**
 * A decoding failure: the bytes do not form the structure MS-SMB2 requires. Handled as
 * STATUS_INVALID_PARAMETER for a message body, as a framing error (close) for headers and
 * chains. `field` names what was being read.
 */
export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * Bounds-checked little-endian reads over one SMB2 message. Offsets in SMB2 bodies count from
 * the start of the SMB2 header, so the reader covers the whole message and `region()` checks an
 * (offset, length) pair the message names against what it holds.
 */
export class Reader extends ByteCursor {
  constructor(buf: Buffer, offset = 0, limit = buf.length) {
    super(buf, offset, limit);
  }

  protected error(field: string, message: string): Error {
    return new WireError(field, message);
  }

  seek(offset: number, field: string): void {
    if (offset < 0 || offset > this.limit) throw new WireError(field, `offset ${offset} outside the message`);
    this.pos = offset;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number, field: string): Buffer {
    if (n < 0) throw new WireError(field, `negative length ${n}`);
    return this.take(n, field);
  }

  /** StructureSize must be exactly what the command defines (MS-SMB2 §3.3.5.2.6). */
  structureSize(expected: number, field = 'StructureSize'): void {
    const v = this.u16(field);
    if (v !== expected) throw new WireError(field, `is ${v}, expected ${expected}`);
  }

  /**
   * The bytes at (offset, length) counted from the start of the message; `min` is the first
   * offset allowed (the end of the fixed part). A zero length yields an empty buffer whatever
   * the offset.
   */
  region(offset: number, length: number, field: string, min = 0): Buffer {
    if (length === 0) return Buffer.alloc(0);
    if (offset < min || offset + length > this.limit || offset + length < offset) {
      throw new WireError(field, `(${offset}, ${length}) lies outside the message body`);
    }
    return this.buf.subarray(offset, offset + length);
  }
}

/** UTF-16LE text of a name field: even length, no NUL characters. */
export function utf16(buf: Buffer, field: string): string {
  if (buf.length % 2 !== 0) throw new WireError(field, `odd UTF-16 length ${buf.length}`);
  return buf.toString('utf16le');
}

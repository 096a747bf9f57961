/**
 * A growable little-endian writer for SMB2 bodies and info-class encodings. `at()` patches a
 * field written earlier (offsets and lengths known only once the payload is placed).
 */
export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.pos;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16LE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    this.room(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  bytes(b: Buffer | Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  utf16(s: string): this {
    return this.bytes(Buffer.from(s, 'utf16le'));
  }

  /** Zero bytes up to the next multiple of `n` (counted from the writer's start). */
  align(n: number): this {
    const pad = (n - (this.pos % n)) % n;
    return this.zeros(pad);
  }

  at(offset: number): { u16(v: number): void; u32(v: number): void } {
    return {
      u16: (v) => void this.buf.writeUInt16LE(v & 0xffff, offset),
      u32: (v) => void this.buf.writeUInt32LE(v >>> 0, offset),
    };
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

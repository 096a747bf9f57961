import { WireError } from '../wire/reader.ts';

/** NDR (C706 §14) little-endian encoding of what srvsvc needs: integers, unique pointers, strings. */
export class NdrWriter {
  private parts: Buffer[] = [];
  private len = 0;
  private referent = 0x0002_0000;

  get length(): number {
    return this.len;
  }

  private push(b: Buffer): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }

  align(n: number): this {
    const pad = (n - (this.len % n)) % n;
    return pad ? this.push(Buffer.alloc(pad)) : this;
  }

  u32(v: number): this {
    this.align(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.push(b);
  }

  /** A non-null unique pointer's referent id (the pointee follows later, deferred). */
  pointer(present: boolean): this {
    if (!present) return this.u32(0);
    this.referent += 4;
    return this.u32(this.referent);
  }

  /** A conformant varying UTF-16 string with its terminating NUL ([string] wchar_t*). */
  string(s: string): this {
    const chars = Buffer.from(`${s}\0`, 'utf16le');
    const n = chars.length / 2;
    this.u32(n).u32(0).u32(n);
    this.push(chars);
    return this.align(4);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts, this.len);
  }
}

/** NDR decoding with alignment relative to the stub's start; short input is a WireError. */
export class NdrReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  align(n: number): void {
    this.pos += (n - (this.pos % n)) % n;
  }

  u32(field: string): number {
    this.align(4);
    if (this.pos + 4 > this.buf.length) throw new WireError(field, 'NDR stub too short');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  string(field: string): string {
    const max = this.u32(`${field}.MaxCount`);
    const offset = this.u32(`${field}.Offset`);
    const actual = this.u32(`${field}.ActualCount`);
    if (offset !== 0 || actual > max || actual > 4096) throw new WireError(field, 'bad NDR string header');
    if (this.pos + actual * 2 > this.buf.length) throw new WireError(field, 'NDR string past the stub');
    const s = this.buf.toString('utf16le', this.pos, this.pos + actual * 2);
    this.pos += actual * 2;
    return s.replace(/\0$/, '');
  }
}

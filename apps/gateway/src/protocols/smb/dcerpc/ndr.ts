import { readSid, type Sid, sidBytes } from '../sids.ts';
import { WireError } from '../wire/reader.ts';

/** NDR (C706 §14) little-endian encoding of what srvsvc and lsarpc need: integers, unique pointers, strings, SIDs. */
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

  u16(v: number): this {
    this.align(2);
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return this.push(b);
  }

  bytes(b: Buffer): this {
    return this.push(Buffer.from(b));
  }

  /** An RPC_SID (MS-DTYP §2.4.2.3): its conformance (the sub-authority count), then the SID. */
  sid(s: Sid): this {
    return this.u32(s.subAuthorities.length).push(sidBytes(s));
  }

  /** An RPC_UNICODE_STRING's fixed part (MS-DTYP §2.3.10); `unicodeBody` writes its deferred characters. */
  unicodeHeader(s: string): this {
    this.align(4);
    const bytes = s.length * 2;
    return this.u16(bytes)
      .u16(bytes)
      .pointer(bytes > 0);
  }

  unicodeBody(s: string): this {
    if (s.length === 0) return this;
    this.u32(s.length).u32(0).u32(s.length);
    this.push(Buffer.from(s, 'utf16le'));
    return this.align(4);
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

  u16(field: string): number {
    this.align(2);
    if (this.pos + 2 > this.buf.length) throw new WireError(field, 'NDR stub too short');
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  bytes(n: number, field: string): Buffer {
    if (this.pos + n > this.buf.length) throw new WireError(field, 'NDR stub too short');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** An RPC_SID: its conformance, then a SID with as many sub-authorities. */
  sid(field: string): Sid {
    const count = this.u32(`${field}.Count`);
    if (count > 15) throw new WireError(field, 'more than 15 sub-authorities');
    const sid = readSid(this.bytes(8 + 4 * count, field), 0);
    if (!sid || sid.subAuthorities.length !== count) throw new WireError(field, 'malformed SID');
    return sid;
  }

  /** An RPC_UNICODE_STRING's fixed part: its length in bytes and whether characters follow. */
  unicodeHeader(field: string): { bytes: number; present: boolean } {
    this.align(4);
    const bytes = this.u16(`${field}.Length`);
    const max = this.u16(`${field}.MaximumLength`);
    const present = this.u32(`${field}.Buffer`) !== 0;
    if (bytes > max || bytes % 2 !== 0) throw new WireError(field, 'bad RPC_UNICODE_STRING lengths');
    return { bytes, present };
  }

  /** The deferred characters of an RPC_UNICODE_STRING whose header said `bytes`. */
  unicodeBody(header: { bytes: number; present: boolean }, field: string): string {
    if (!header.present) return '';
    const max = this.u32(`${field}.MaxCount`);
    const offset = this.u32(`${field}.Offset`);
    const actual = this.u32(`${field}.ActualCount`);
    if (offset !== 0 || actual > max || actual * 2 !== header.bytes || actual > 4096)
      throw new WireError(field, 'bad NDR string header');
    return this.bytes(actual * 2, field).toString('utf16le');
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

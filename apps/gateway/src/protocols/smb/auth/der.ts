import { DerError } from './errors.ts';

/**
 * The slice of ASN.1 DER (X.690) that SPNEGO needs: single-byte tags, definite lengths of up to
 * four octets, OBJECT IDENTIFIER, OCTET STRING, ENUMERATED, BIT STRING and constructed types.
 * Every read is bounds-checked and names its field; an indefinite length, a high tag number, a
 * length past the end of the enclosing value or (with `end()`) trailing bytes are errors.
 */
export const TAG = {
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  ENUMERATED: 0x0a,
  GENERAL_STRING: 0x1b,
  SEQUENCE: 0x30,
  /** [APPLICATION 0], constructed: the GSS-API InitialContextToken (RFC 2743 §3.1). */
  APPLICATION_0: 0x60,
} as const;

/** [n] context-specific, constructed (explicit tagging, as RFC 4178 uses). */
export const context = (n: number): number => 0xa0 | n;

export interface DerValue {
  tag: number;
  /** The contents octets. */
  content: Buffer;
  /** Tag, length and contents: the whole encoding as received. */
  raw: Buffer;
}

export class DerReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    offset = 0,
    private readonly limit = buf.length,
  ) {
    this.pos = offset;
  }

  get remaining(): number {
    return this.limit - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.limit;
  }

  /** The next tag, or undefined at the end. */
  peekTag(): number | undefined {
    return this.pos < this.limit ? this.buf[this.pos] : undefined;
  }

  read(field: string, expectTag?: number): DerValue {
    const start = this.pos;
    if (this.remaining < 2)
      throw new DerError(field, `needs a tag and a length, ${this.remaining} bytes left`);
    const tag = this.buf[this.pos++]!;
    if ((tag & 0x1f) === 0x1f) throw new DerError(field, 'high tag numbers are not used by SPNEGO');
    if (expectTag !== undefined && tag !== expectTag)
      throw new DerError(field, `expected tag 0x${hex(expectTag)}, found 0x${hex(tag)}`);
    const first = this.buf[this.pos++]!;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const octets = first & 0x7f;
      if (octets === 0) throw new DerError(field, 'indefinite length is not DER');
      if (octets > 4) throw new DerError(field, `a ${octets}-octet length is too long`);
      if (this.remaining < octets) throw new DerError(field, 'length octets run past the end');
      length = 0;
      for (let n = 0; n < octets; n++) length = length * 256 + this.buf[this.pos++]!;
    }
    if (length > this.remaining)
      throw new DerError(field, `length ${length} runs past the end (${this.remaining} left)`);
    const content = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return { tag, content, raw: this.buf.subarray(start, this.pos) };
  }

  /** The contents of the next value, which must carry tag. */
  expect(tag: number, field: string): Buffer {
    return this.read(field, tag).content;
  }

  end(field: string): void {
    if (this.pos !== this.limit) throw new DerError(field, `${this.limit - this.pos} trailing bytes`);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Definite-length DER length octets. */
export function derLength(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`DER length ${n} out of range`);
  if (n < 0x80) return Buffer.from([n]);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

export function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((s) => {
    if (!/^\d+$/.test(s)) throw new RangeError(`bad OID arc '${s}' in ${dotted}`);
    return BigInt(s);
  });
  if (arcs.length < 2) throw new RangeError(`an OID has at least two arcs: ${dotted}`);
  const bytes: number[] = [];
  const sub = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  for (const arc of sub) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...group);
  }
  return tlv(TAG.OID, Buffer.from(bytes));
}

/** Dotted form of OID contents; at most 16 arcs of at most 32 bits (SPNEGO's OIDs are short). */
export function decodeOid(content: Buffer, field: string): string {
  if (content.length === 0) throw new DerError(field, 'empty OBJECT IDENTIFIER');
  if (content.length > 64)
    throw new DerError(field, `OBJECT IDENTIFIER of ${content.length} bytes is too long`);
  const arcs: number[] = [];
  let v = 0;
  let started = false;
  for (const b of content) {
    if (!started && b === 0x80) throw new DerError(field, 'OBJECT IDENTIFIER arc with a leading 0x80');
    started = true;
    v = v * 128 + (b & 0x7f);
    if (v > 0xffffffff) throw new DerError(field, 'OBJECT IDENTIFIER arc over 32 bits');
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
      started = false;
    }
  }
  if (started) throw new DerError(field, 'OBJECT IDENTIFIER ends inside an arc');
  if (arcs.length > 16) throw new DerError(field, 'OBJECT IDENTIFIER with more than 16 arcs');
  const first = arcs[0]!;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

export function encodeEnumerated(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 127) throw new RangeError(`ENUMERATED ${n} out of range`);
  return tlv(TAG.ENUMERATED, Buffer.from([n]));
}

export function decodeEnumerated(content: Buffer, field: string): number {
  if (content.length !== 1)
    throw new DerError(field, `ENUMERATED of ${content.length} bytes (SPNEGO's fit in one)`);
  const v = content[0]!;
  if (v > 127) throw new DerError(field, 'negative ENUMERATED');
  return v;
}

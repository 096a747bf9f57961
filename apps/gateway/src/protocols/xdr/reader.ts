import { ByteCursor } from '../../util/byte-cursor.ts';
import { XdrError } from './errors.ts';

/** Every empty opaque read (an AUTH_NONE verifier on each call): nothing to view. */
const EMPTY = Buffer.alloc(0);

/**
 * Bounds-checked XDR decoding (RFC 4506) over one buffer: every read names its field, and
 * short buffers, non-zero padding, lengths past the end or over a limit, and (with `end()`)
 * trailing bytes are errors — never a partial value.
 */
export class XdrReader extends ByteCursor {
  constructor(buf: Buffer, offset = 0, limit = buf.length) {
    super(buf, offset, limit);
  }

  protected error(field: string, message: string): Error {
    return new XdrError(field, message);
  }

  uint32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int32(field: string): number {
    this.need(4, field);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  int64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(field: string): boolean {
    return this.asBool(this.uint32(field), field, '');
  }

  /** A boolean's value read as a uint32: 0 or 1, else an error naming `field` + `part`. */
  private asBool(v: number, field: string, part: string): boolean {
    if (v > 1) throw new XdrError(`${field}${part}`, `boolean must be 0 or 1, got ${v}`);
    return v === 1;
  }

  /** An enum whose value must be one of `allowed`. */
  enumOf<T extends number>(field: string, allowed: ReadonlySet<number>): T {
    const v = this.int32(field);
    if (!allowed.has(v)) throw new XdrError(field, `unknown value ${v}`);
    return v as T;
  }

  /** Fixed-length opaque: `n` bytes plus padding (a view, not a copy; one shared empty one). */
  fixedOpaque(n: number, field: string): Buffer {
    if (n === 0) return EMPTY;
    const out = this.take(n, field);
    this.padding(n, field);
    return out;
  }

  /**
   * The uint32 that leads a field (an opaque's length, an array's count, an optional's
   * presence), named `field` + `part` in an error. The name is built only for the error: these
   * run several times in every call (a file handle, a credential), and a name built each time
   * is garbage each time.
   */
  private leading(field: string, part: string): number {
    if (4 > this.limit - this.pos) this.need(4, `${field}${part}`);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Variable-length opaque of at most `max` bytes (a view, not a copy). */
  opaque(max: number, field: string): Buffer {
    const n = this.leading(field, '.length');
    if (n > max) throw new XdrError(field, `length ${n} exceeds the limit ${max}`);
    return this.fixedOpaque(n, field);
  }

  /** A string of at most `max` bytes; must be valid UTF-8 without NUL. */
  string(max: number, field: string): string {
    const bytes = this.opaque(max, field);
    const text = bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(bytes)) throw new XdrError(field, 'not valid UTF-8');
    return text;
  }

  /** `optional` (XDR `*T`): a boolean, then the value when true. */
  optional<T>(field: string, read: () => T): T | undefined {
    return this.asBool(this.leading(field, '.present'), field, '.present') ? read() : undefined;
  }

  /** A counted array of at most `max` items. */
  array<T>(max: number, field: string, read: (i: number) => T): T[] {
    const n = this.leading(field, '.count');
    if (n > max) throw new XdrError(field, `count ${n} exceeds the limit ${max}`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(i));
    return out;
  }

  private padding(n: number, field: string): void {
    const pad = (4 - (n % 4)) % 4;
    if (pad === 0) return;
    if (pad > this.limit - this.pos) this.need(pad, `${field}.padding`);
    for (let i = 0; i < pad; i++) {
      if (this.buf[this.pos + i] !== 0) throw new XdrError(field, 'non-zero padding');
    }
    this.pos += pad;
  }

  /** Asserts everything was consumed: trailing bytes are garbage. */
  end(what: string): void {
    if (this.pos !== this.limit) throw new XdrError(what, `${this.limit - this.pos} trailing bytes`);
  }
}

/**
 * XDR encoding (RFC 4506) into a growing buffer. Large payloads (READ data) can be appended
 * as separate chunks with `raw()` so they are written to the socket without being copied.
 */
export class XdrWriter {
  private chunks: Buffer[] = [];
  private releases: Array<() => void> = [];
  private buf: Buffer;
  /** A DataView of `buf`, made at the first number written into it (5–7× faster than Buffer's). */
  private view: DataView | undefined;
  private pos = 0;
  private flushed = 0;
  /** The encoding still lies in `buf` alone, after `headroom` bytes left for a framing header. */
  private contiguous = true;

  /** `headroom` bytes are kept before the encoding, for the caller's framing (`framed`). */
  constructor(
    initial = 512,
    private readonly headroom = 0,
  ) {
    this.buf = Buffer.allocUnsafe(initial + headroom);
    this.pos = headroom;
    this.flushed = headroom;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = undefined;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.dataView().setUint32(this.pos, v >>> 0);
    this.pos += 4;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  private dataView(): DataView {
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    return this.view;
  }

  /** Big-endian; wraps modulo 2^64 (DataView's conversion, as BigInt.asUintN(64, v)). */
  uint64(v: bigint): this {
    this.ensure(8);
    this.dataView().setBigUint64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** Big-endian two's complement; wraps modulo 2^64. */
  int64(v: bigint): this {
    this.ensure(8);
    this.dataView().setBigInt64(this.pos, v);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.uint32(v ? 1 : 0);
  }

  fixedOpaque(data: Buffer): this {
    const pad = (4 - (data.length % 4)) % 4;
    this.ensure(data.length + pad);
    // TypedArray#set, not Buffer#copy: the same memcpy without copy's argument checks, which
    // cost more than the copy for a handle or an encoded fattr3 (listings write two an entry).
    this.buf.set(data, this.pos);
    this.pos += data.length;
    this.zeroPad(pad);
    return this;
  }

  private zeroPad(pad: number): void {
    for (let i = 0; i < pad; i++) this.buf[this.pos++] = 0;
  }

  opaque(data: Buffer): this {
    return this.uint32(data.length).fixedOpaque(data);
  }

  /** A copy of the last `n` bytes written, or undefined when they are not all in one buffer. */
  copyOfLast(n: number): Buffer | undefined {
    if (this.pos - this.flushed < n) return undefined;
    return Buffer.from(this.buf.subarray(this.pos - n, this.pos));
  }

  /** UTF-8, encoded straight into the buffer (no Buffer made per string: a listing has one an entry). */
  string(s: string): this {
    // At most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2), plus the length and padding.
    this.ensure(4 + s.length * 3 + 3);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.dataView().setUint32(this.pos, n);
    this.pos += 4 + n;
    this.zeroPad((4 - (n % 4)) % 4);
    return this;
  }

  /**
   * Variable-length opaque whose bytes are appended by reference (no copy); padded. `release`
   * runs once the message has been sent (see `afterSend`), e.g. to reuse a pooled buffer.
   */
  opaqueByRef(data: Buffer, release?: () => void): this {
    this.uint32(data.length);
    this.cut();
    this.chunks.push(data);
    if (release) this.releases.push(release);
    const pad = (4 - (data.length % 4)) % 4;
    if (pad > 0) {
      this.ensure(pad);
      this.zeroPad(pad);
    }
    return this;
  }

  private cut(): void {
    this.contiguous = false;
    if (this.pos > this.flushed) this.chunks.push(this.buf.subarray(this.flushed, this.pos));
    // Later writes go to a fresh buffer so the pushed view is never overwritten.
    this.buf = Buffer.allocUnsafe(Math.max(256, this.buf.length - this.pos));
    this.view = undefined;
    this.pos = 0;
    this.flushed = 0;
  }

  get length(): number {
    let n = this.pos - this.flushed;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /** The encoded bytes as chunks in order (views; the writer must not be used afterwards). */
  toChunks(): Buffer[] {
    if (this.pos > this.flushed) this.chunks.push(this.buf.subarray(this.flushed, this.pos));
    this.flushed = this.pos;
    return this.chunks;
  }

  /**
   * The headroom and the encoding as one buffer, for a caller to write its framing header into
   * the headroom and send it without a copy; undefined when the encoding is in several chunks
   * (by-reference data) or there is no headroom.
   */
  framed(): Buffer | undefined {
    if (this.headroom === 0 || !this.contiguous) return undefined;
    return this.buf.subarray(0, this.pos);
  }

  /** Runs the releases of by-reference chunks: call once the chunks are no longer used. */
  afterSend(): (() => void) | undefined {
    const releases = this.releases;
    if (releases.length === 0) return undefined;
    this.releases = [];
    return () => {
      for (const r of releases) r();
    };
  }

  /** One buffer (copied when there are several chunks; by-reference chunks are released). */
  toBuffer(): Buffer {
    const chunks = this.toChunks();
    if (chunks.length === 1) return chunks[0]!;
    const whole = Buffer.concat(chunks);
    this.afterSend()?.();
    return whole;
  }
}

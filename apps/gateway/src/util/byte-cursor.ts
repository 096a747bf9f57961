/**
 * The bounds-checked cursor under the wire decoders (XDR, SMB2): a position in one buffer up to
 * a limit, and `need`, which refuses a read past the limit with the decoder's own error (so a
 * short message is a protocol status, never a partial value). Subclasses read the fields in
 * their byte order.
 */
export abstract class ByteCursor {
  protected pos: number;

  constructor(
    protected readonly buf: Buffer,
    offset: number,
    protected readonly limit: number,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.limit - this.pos;
  }

  /** The decoder's error for `field`: what it was reading and what was wrong. */
  protected abstract error(field: string, message: string): Error;

  protected need(n: number, field: string): void {
    if (n > this.limit - this.pos) throw this.error(field, `needs ${n} bytes, ${this.limit - this.pos} left`);
  }

  /** The next `n` bytes as a view (not a copy). */
  protected take(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

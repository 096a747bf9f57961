import { WireError } from './wire/reader.ts';

/** RFC 1002 §4.3.1 session message; the only type direct TCP (port 445) carries, bar keep-alives. */
const SESSION_MESSAGE = 0x00;
const SESSION_KEEP_ALIVE = 0x85;

/**
 * Direct-TCP transport framing (MS-SMB2 §2.1): a 4-byte header (zero, then a 24-bit big-endian
 * length) before each SMB message. Frames over `maxFrame` are refused before their bytes
 * arrive, so a client cannot make the server buffer more than one maximal message.
 */
/**
 * Reusable buffers for large frames (big WRITEs): a new 8 MiB buffer per request costs more in
 * garbage collection than the copy itself. A frame from the pool is returned with `release`
 * once its request is done with it (nothing keeps a frame's bytes past its reply).
 */
export class FramePool {
  private readonly free: Buffer[] = [];
  private readonly leased = new WeakMap<Buffer, Buffer>();

  constructor(
    readonly slabSize: number,
    private readonly keep = 8,
    readonly threshold = 1024 * 1024,
  ) {}

  get(n: number): Buffer {
    const slab = this.free.pop() ?? Buffer.allocUnsafe(this.slabSize);
    const frame = slab.subarray(0, n);
    this.leased.set(frame, slab);
    return frame;
  }

  release(frame: Buffer): void {
    const slab = this.leased.get(frame);
    if (!slab) return;
    this.leased.delete(frame);
    if (this.free.length < this.keep) this.free.push(slab);
  }
}

/**
 * A frame at least this long is filled as its bytes arrive: its buffer is taken as soon as its
 * header is read and each socket chunk is copied in and dropped at once. Kept until the frame
 * was whole, the chunks (an 8 MiB WRITE is 128 of them) outlived young-generation collections,
 * and their memory, freed only by full collections, set off one every 64 MiB received.
 */
const FILL_AS_ARRIVING = 64 * 1024;
/**
 * Bytes of frames taken before they arrived, over every connection. A client announcing a
 * large frame and sending a little of it makes the server hold the whole frame; past this
 * budget, frames wait for their bytes as small ones do.
 */
const RESERVE_BUDGET = 256 * 1024 * 1024;
let reserved = 0;

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The large frame being filled, and how much of it is. */
  private filling: { frame: Buffer; filled: number } | undefined;

  constructor(
    private readonly maxFrame: number,
    private readonly pool?: FramePool,
  ) {}

  get pendingBytes(): number {
    return this.buffered + (this.filling?.filled ?? 0);
  }

  /**
   * Adds bytes; returns the complete frames now available. `chunk` may be reused by the caller
   * once this returns (a socket reading into one buffer): every frame returned and every byte
   * kept is a copy. Throws WireError: close the connection.
   */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let rest = chunk;
    if (this.filling) {
      const f = this.filling;
      const part = Math.min(rest.length, f.frame.length - f.filled);
      rest.copy(f.frame, f.filled, 0, part);
      f.filled += part;
      if (f.filled < f.frame.length) return frames;
      this.stopFilling();
      frames.push(f.frame);
      rest = rest.subarray(part);
    }
    if (rest.length > 0) {
      this.chunks.push(rest);
      this.buffered += rest.length;
    }
    const lent = chunk.buffer;
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const type = head[0]!;
      const length = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
      if (type === SESSION_KEEP_ALIVE) {
        if (length !== 0) throw new WireError('NetBIOS keep-alive', `length ${length}`);
        this.take(4);
        continue;
      }
      if (type !== SESSION_MESSAGE)
        throw new WireError('NetBIOS header', `message type 0x${type.toString(16)}`);
      if (length > this.maxFrame)
        throw new WireError('NetBIOS length', `${length} bytes exceeds ${this.maxFrame}`);
      if (this.buffered < 4 + length) {
        if (
          length >= FILL_AS_ARRIVING &&
          this.buffered >= FILL_AS_ARRIVING &&
          reserved + length <= RESERVE_BUDGET
        )
          this.startFilling(length);
        break;
      }
      this.take(4);
      const frame = this.take(length);
      frames.push(frame.buffer === lent ? this.copy(frame) : frame);
    }
    // What is left of the lent chunk (the last one held) is kept as a copy.
    const last = this.chunks.length - 1;
    if (last >= 0 && this.chunks[last]!.buffer === lent) this.chunks[last] = Buffer.from(this.chunks[last]!);
    return frames;
  }

  private copy(view: Buffer): Buffer {
    const out = this.allocate(view.length);
    view.copy(out);
    return out;
  }

  /** Moves what has arrived of a large frame into its own buffer; the rest goes there directly. */
  private startFilling(length: number): void {
    this.take(4);
    const frame = this.allocate(length);
    let filled = 0;
    for (const c of this.chunks) {
      c.copy(frame, filled);
      filled += c.length;
    }
    this.chunks = [];
    this.buffered = 0;
    this.filling = { frame, filled };
    reserved += length;
  }

  private stopFilling(): void {
    if (!this.filling) return;
    reserved -= this.filling.frame.length;
    this.filling = undefined;
  }

  /** The connection is gone: a frame half filled gives its reservation back. */
  close(): void {
    this.stopFilling();
    this.chunks = [];
    this.buffered = 0;
  }

  private allocate(n: number): Buffer {
    return this.pool && n >= this.pool.threshold && n <= this.pool.slabSize
      ? this.pool.get(n)
      : Buffer.allocUnsafe(n);
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks, Math.min(this.buffered, Math.max(n, 0))).subarray(0, n);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = this.allocate(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const part = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, part);
      filled += part;
      if (part === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(part);
    }
    this.buffered -= n;
    return out;
  }
}

/** The 4-byte transport header for a message of `length` bytes. */
export function frameHeader(length: number): Buffer {
  if (length > 0xffffff) throw new RangeError(`SMB message of ${length} bytes does not fit a frame`);
  const h = Buffer.allocUnsafe(4);
  h[0] = SESSION_MESSAGE;
  h[1] = (length >>> 16) & 0xff;
  h[2] = (length >>> 8) & 0xff;
  h[3] = length & 0xff;
  return h;
}

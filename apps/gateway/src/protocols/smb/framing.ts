import { ArrivingMessage, FILL_AS_ARRIVING, owned } from '../../util/arriving.ts';
import { copyInto } from '../../util/copy-into.ts';
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
 * once its request is done with it (nothing keeps a frame's bytes past its reply). The slabs
 * are shared memory: a worker decrypts and encrypts frames where they are (crypto/aead-pool.ts);
 * bytes are copied into them with copyInto (util/copy-into.ts), never Buffer#copy.
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
    const slab = this.free.pop() ?? Buffer.from(new SharedArrayBuffer(this.slabSize));
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

/** Told about a large frame while it fills (the connection starts decrypting it early). */
export interface FrameWatch {
  /** The first `received` bytes of `frame` (the frame push will return once whole) are in. */
  partial(frame: Buffer, received: number): void;
  /** The connection closed before `frame` was whole. */
  abandoned(frame: Buffer): void;
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The large frame being filled as its bytes arrive (arriving.ts). */
  private arriving: ArrivingMessage | undefined;

  constructor(
    private readonly maxFrame: number,
    private readonly pool?: FramePool,
    private readonly watch?: FrameWatch,
  ) {}

  /** Where the socket's next read may go: the rest of the large frame arriving (arriving.ts). */
  readTarget(): Buffer | undefined {
    return this.arriving?.readTarget();
  }

  get pendingBytes(): number {
    return this.buffered + (this.arriving?.received ?? 0);
  }

  /**
   * Adds bytes; returns the complete frames now available. `chunk` may be reused by the caller
   * once this returns (a socket reading into one buffer): every frame returned and every byte
   * kept is a copy. Throws WireError: close the connection.
   */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let rest = chunk;
    if (this.arriving) {
      rest = rest.subarray(this.arriving.fill(rest));
      if (!this.arriving.complete) {
        this.watch?.partial(this.arriving.buffer, this.arriving.received);
        return frames;
      }
      frames.push(this.arriving.take());
      this.arriving = undefined;
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
        if (length >= FILL_AS_ARRIVING && this.buffered >= FILL_AS_ARRIVING) this.startArriving(length);
        break;
      }
      this.take(4);
      frames.push(owned(this.take(length), lent, this.allocate));
    }
    // What is left of the lent chunk (the last one held) is kept as a copy.
    const last = this.chunks.length - 1;
    if (last >= 0) this.chunks[last] = owned(this.chunks[last]!, lent);
    return frames;
  }

  private startArriving(length: number): void {
    // Over the budget, the frame waits for its bytes in the chunks they came in.
    if (!ArrivingMessage.affordable(length)) return;
    this.take(4);
    this.arriving = ArrivingMessage.start(length, this.chunks, this.allocate);
    this.chunks = [];
    this.buffered = 0;
    this.watch?.partial(this.arriving.buffer, this.arriving.received);
  }

  /** The connection is gone: a frame half filled gives its reservation back. */
  close(): void {
    if (this.arriving) this.watch?.abandoned(this.arriving.buffer);
    this.arriving?.end();
    this.arriving = undefined;
    this.chunks = [];
    this.buffered = 0;
  }

  private readonly allocate = (n: number): Buffer =>
    this.pool && n >= this.pool.threshold && n <= this.pool.slabSize
      ? this.pool.get(n)
      : Buffer.allocUnsafe(n);

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
      copyInto(out, filled, c.subarray(0, part));
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

const KiB = 1024;
const MiB = 1024 * KiB;

/** Reads smaller than this are allocated as usual (Node's slab serves the small ones well). */
export const POOLED_MIN_BYTES = 64 * KiB;
const LARGEST_CLASS = 64 * MiB;

/**
 * Reusable I/O buffers for large reads, by power-of-two size class. A fresh multi-megabyte
 * allocation is page-faulted and zeroed by the kernel on first touch, and it lives until the
 * garbage collector finds it; a served READ hands its buffer back once the socket has taken the
 * bytes, so a sequential reader keeps reusing the same few warm buffers. At most
 * `maxKeptBytes` are held idle; a buffer never given back is simply collected.
 */
export class BufferPool {
  private readonly idle = new Map<number, Buffer[]>();
  private keptBytes = 0;
  /** Buffers served from the idle lists (for tests and metrics). */
  reused = 0;

  /**
   * `shared`: the buffers are SharedArrayBuffer memory, which a worker thread can read where it
   * is (the SMB server encrypts large READs on one). Copy into them with copyInto.
   */
  constructor(
    private readonly maxKeptBytes = 64 * MiB,
    private readonly shared = false,
  ) {}

  /** A buffer of at least `size` bytes (its size class); give it back with `give` when done. */
  take(size: number): Buffer {
    const cls = sizeClass(size);
    const list = this.idle.get(cls);
    const buf = list?.pop();
    if (buf) {
      this.keptBytes -= cls;
      this.reused++;
      return buf;
    }
    return this.shared ? Buffer.from(new SharedArrayBuffer(cls)) : Buffer.allocUnsafeSlow(cls);
  }

  /** Returns a buffer from `take`; nothing may use it (or a view of it) afterwards. */
  give(buf: Buffer): void {
    const cls = buf.length;
    if (cls !== sizeClass(cls) || buf.byteOffset !== 0 || buf.buffer.byteLength !== cls) return;
    if (this.keptBytes + cls > this.maxKeptBytes) return;
    let list = this.idle.get(cls);
    if (!list) {
      list = [];
      this.idle.set(cls, list);
    }
    list.push(buf);
    this.keptBytes += cls;
  }

  /** Views handed out by `lease`, by their memory. */
  private readonly leased = new WeakSet<ArrayBufferLike>();

  /** `n` bytes from the pool, as a view of exactly that length; give it back with `release`. */
  lease(n: number): Buffer {
    const buf = this.take(n);
    this.leased.add(buf.buffer);
    return buf.subarray(0, n);
  }

  /** Gives back the memory of a view from `lease`; anything else is left alone. */
  release(view: Buffer): void {
    if (this.leased.delete(view.buffer)) this.give(Buffer.from(view.buffer));
  }

  get idleBytes(): number {
    return this.keptBytes;
  }
}

function sizeClass(size: number): number {
  if (size <= POOLED_MIN_BYTES) return POOLED_MIN_BYTES;
  if (size > LARGEST_CLASS) return size;
  return 2 ** Math.ceil(Math.log2(size));
}

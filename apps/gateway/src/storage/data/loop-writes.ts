/**
 * Which buffered writes a local data store makes from the event loop instead of the thread
 * pool. A write of up to LOOP_WRITE_MAX bytes that the page cache takes without reading the
 * disk is a memory copy (~0.2 ms for 1 MiB on this VM); through the pool it also pays two
 * thread hand-offs, which on this VM cost more than the copy (a 1 MiB NFS WRITE waited
 * 390–460 µs for its bytes through the pool, 230–260 µs from the loop). A client that sends one
 * write at a time (nfs-cp) waits for every one of them.
 *
 * The page cache can still make such a write wait: the kernel throttles a writer while too much
 * memory is dirty, and a write into part of a page that is not cached reads that page first.
 * So only writes that need no read of old bytes (whole pages, or from the page holding the
 * file's end onwards) go on the loop, and one that took longer than LOOP_WRITE_SLOW_MS sends
 * every write to the pool for the next LOOP_WRITE_BACKOFF_MS: at most one such stall a second.
 *
 * A disk that stops answering (a frozen file system, a hung SAN or NFS volume under the data
 * folder) would hold a write on the loop — the whole process — until it answers. So writes go
 * to the pool, where only their own requests wait, while `backendAnswers` says no: the
 * transport circuit is not closed, or one of its calls has waited past LOOP_WRITE_WAITING_MS.
 */
export const LOOP_WRITE_MAX = 1024 * 1024;
export const LOOP_WRITE_SLOW_MS = 5;
export const LOOP_WRITE_BACKOFF_MS = 1000;
/** A data-store call waiting this long means the disk may not answer: no writes on the loop. */
export const LOOP_WRITE_WAITING_MS = 1000;
const PAGE = 4096;

export class LoopWrites {
  /** Writes made from the loop, writes that took too long there, writes sent to the pool. */
  readonly counts = { loop: 0, slow: 0, pool: 0 };
  private backoffUntil = 0;
  /** Set where the data store is put behind its circuit (open.ts): whether the disk answers. */
  backendAnswers: () => boolean = () => true;

  constructor(
    private readonly enabled = true,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether `length` bytes at `offset` of a file of `size` bytes may be written from the loop. */
  suits(offset: number, length: number, size: number): boolean {
    const ok =
      this.enabled &&
      length <= LOOP_WRITE_MAX &&
      this.now() >= this.backoffUntil &&
      ((offset % PAGE === 0 && length % PAGE === 0) || offset >= size - (size % PAGE)) &&
      this.backendAnswers();
    if (!ok) this.counts.pool++;
    return ok;
  }

  /** Runs a write that `suits` allowed, timing it. */
  run<T>(write: () => T): T {
    const started = this.now();
    try {
      return write();
    } finally {
      const took = this.now() - started;
      this.counts.loop++;
      if (took > LOOP_WRITE_SLOW_MS) {
        this.counts.slow++;
        this.backoffUntil = this.now() + LOOP_WRITE_BACKOFF_MS;
      }
    }
  }
}

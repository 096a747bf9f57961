/**
 * Group commit: many callers wait on one flush. A caller's change is covered only by a flush
 * that *starts* after the change was made, so callers arriving while a flush runs wait for
 * the next one, which then covers all of them at once. With `maxDelayMs` a flush that would
 * start at once on an idle disk waits that long first, so that commits arriving just after
 * join it (`durability.group_commit_max_delay`: fewer flushes, each caller up to that much
 * later).
 *
 * Given `written` (a count of the writes made so far, which only grows: the SQLite store's
 * statements that write), a flush also knows what it covers: a caller arriving while a flush
 * runs that started after the last write joins that flush, and one arriving when the last
 * completed flush started after it is answered at once. That is what lets `anticipate` start
 * a flush before anyone asks.
 */
export class GroupCommit {
  private flushing = false;
  private delaying = false;
  private waiting: Waiter[] = [];
  /** The batch the running flush answers (joined by callers it covers). */
  private running: Waiter[] = [];
  /** `written()` when the running flush started, and when the last successful one did. */
  private runningFrom = -1;
  private flushedUpTo = -1;
  /**
   * A failed flush nobody waited for (an anticipated one). What it covered may not be on disk
   * (and a later fdatasync may not say so): the next flush's callers are told, whatever it does.
   */
  private unheard: Error | undefined;
  flushes = 0;

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly maxDelayMs = 0,
    private readonly written?: () => number,
  ) {}

  sync(): Promise<void> {
    const now = this.written?.();
    if (now !== undefined && !this.flushing && !this.delaying && now === this.flushedUpTo) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      if (now !== undefined && this.flushing && now === this.runningFrom) {
        this.running.push({ resolve, reject });
        return;
      }
      this.waiting.push({ resolve, reject });
      if (this.flushing || this.delaying) return;
      if (this.maxDelayMs <= 0) {
        this.run();
        return;
      }
      this.delaying = true;
      setTimeout(() => {
        this.delaying = false;
        this.run();
      }, this.maxDelayMs);
    });
  }

  /**
   * Starts a flush now if the disk is idle and a write is not yet covered by one, so that a
   * caller expected to ask soon (an NFS COMMIT after an unstable write) finds it under way.
   * Does nothing without `written`, or with a group delay (which would only be cut short).
   */
  anticipate(): void {
    if (this.written === undefined || this.maxDelayMs > 0 || this.flushing || this.delaying) return;
    if (this.written() !== this.flushedUpTo) this.run();
  }

  private run(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.running = batch;
    this.runningFrom = this.written?.() ?? -1;
    const earlier = batch.length > 0 ? this.unheard : undefined;
    if (earlier) this.unheard = undefined;
    this.flushing = true;
    this.flushes++;
    this.flush().then(
      () => this.settle(batch, earlier),
      (e: Error) => this.settle(batch, e),
    );
  }

  /** Callers that arrived during a flush have waited already: their flush starts at once. */
  private settle(batch: Waiter[], error: Error | undefined): void {
    this.flushing = false;
    if (!error && this.written) this.flushedUpTo = this.runningFrom;
    if (error && batch.length === 0) this.unheard = error;
    for (const w of batch) {
      if (error) w.reject(error);
      else w.resolve();
    }
    if (this.waiting.length > 0) this.run();
  }
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

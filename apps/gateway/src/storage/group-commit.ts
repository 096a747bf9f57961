/**
 * Group commit: many callers wait on one flush. A caller's change is covered only by a flush
 * that *starts* after the change was made, so callers arriving while a flush runs wait for
 * the next one, which then covers all of them at once. With `maxDelayMs` a flush that would
 * start at once on an idle disk waits that long first, so that commits arriving just after
 * join it (`durability.group_commit_max_delay`: fewer flushes, each caller up to that much
 * later).
 */
export class GroupCommit {
  private flushing = false;
  private delaying = false;
  private waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  flushes = 0;

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly maxDelayMs = 0,
  ) {}

  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
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

  private run(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.flushing = true;
    this.flushes++;
    this.flush().then(
      () => this.settle(batch, undefined),
      (e: Error) => this.settle(batch, e),
    );
  }

  /** Callers that arrived during a flush have waited already: their flush starts at once. */
  private settle(batch: typeof this.waiting, error: Error | undefined): void {
    this.flushing = false;
    for (const w of batch) {
      if (error) w.reject(error);
      else w.resolve();
    }
    if (this.waiting.length > 0) this.run();
  }
}

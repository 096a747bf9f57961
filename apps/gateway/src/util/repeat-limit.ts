/**
 * At most `perWindow` of a kind of event per key and window go through one by one; past that
 * they are counted, and when the key's window ends `summarize` hears how many were held back
 * (with a tally by `kind`). What a client can make as fast as it is answered — a refusal's
 * audit entry or log line — passes here, keyed by the client's address, so a flood costs one
 * summary a window instead of a row or a line each, and one client's flood never hides another's.
 */
export interface RepeatLimitOptions {
  perWindow: number;
  windowMs: number;
  /** Keys tracked at once; past it the oldest window is closed early. */
  maxKeys: number;
}

/** What `summarize` hears when a window that held events back ends. */
export interface HeldBack {
  key: string;
  suppressed: number;
  /** How many of each kind were held back. */
  kinds: Record<string, number>;
  windowSeconds: number;
}

interface Window {
  passed: number;
  suppressed: number;
  kinds: Record<string, number>;
  timer: NodeJS.Timeout;
}

export class RepeatLimit {
  private readonly o: RepeatLimitOptions;
  private readonly windows = new Map<string, Window>();
  /** Events held back so far, over every key. */
  suppressedTotal = 0;

  constructor(
    private readonly summarize: (h: HeldBack) => void,
    options: Partial<RepeatLimitOptions> & Pick<RepeatLimitOptions, 'perWindow' | 'windowMs'>,
  ) {
    this.o = { maxKeys: 10_000, ...options };
  }

  /** Whether this event goes through now; false: counted in the key's summary. */
  admit(key: string, kind = ''): boolean {
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= this.o.maxKeys) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.close(oldest);
      }
      w = { passed: 0, suppressed: 0, kinds: {}, timer: setTimeout(() => this.close(key), this.o.windowMs) };
      w.timer.unref();
      this.windows.set(key, w);
    }
    if (w.passed < this.o.perWindow) {
      w.passed++;
      return true;
    }
    w.suppressed++;
    this.suppressedTotal++;
    w.kinds[kind] = (w.kinds[kind] ?? 0) + 1;
    return false;
  }

  /** Ends every window now, with the summaries owed (tests read them without waiting). */
  closeAll(): void {
    for (const key of [...this.windows.keys()]) this.close(key);
  }

  private close(key: string): void {
    const w = this.windows.get(key);
    if (!w) return;
    clearTimeout(w.timer);
    this.windows.delete(key);
    if (w.suppressed > 0) {
      this.summarize({
        key,
        suppressed: w.suppressed,
        kinds: w.kinds,
        windowSeconds: Math.round(this.o.windowMs / 1000),
      });
    }
  }
}

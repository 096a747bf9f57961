/**
 * When the event loop stood still: gaps of at least `minMs` between the turns of a timer that
 * ticks every `tickMs`. A backend call in flight across such a gap answers late because nothing
 * here could take its answer — the process was stopped (a VM pause, SIGSTOP, swapping, a heap
 * snapshot) or a synchronous call held the loop — not because its backend was slow. The circuit
 * breakers take that time off a call's duration before they judge it slow (circuit-breaker.ts):
 * otherwise a few seconds' pause of a VM would open a circuit and turn every client away. The
 * health probes' timeouts count the same way (loopTimeout), or the pause would read as an outage.
 *
 * Timers run before the poll that hands over I/O completions, so after a stall the tick that
 * records it mostly runs before the answers of the calls it held up are seen; `since` also
 * counts a stall the tick has not recorded yet. The time a call itself held the loop (its
 * synchronous part: SQLite) is never excused: the breaker takes it back out.
 */
export class LoopStalls {
  /** When the timer last ran; 0 until started. */
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Recent stalls, oldest first, as [from, to] in performance.now() milliseconds. */
  private readonly gaps: Array<[number, number]> = [];
  private readonly listeners: Array<(ms: number) => void> = [];
  /** Stalls seen, and their milliseconds (gateway_event_loop_stalls_total, …_stalled_seconds_total). */
  readonly counts = { stalls: 0, ms: 0 };

  constructor(
    readonly tickMs = 250,
    readonly minMs = 1000,
  ) {}

  /** Starts the timer (once; it keeps no process alive). */
  start(): void {
    if (this.timer) return;
    this.last = performance.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Calls `listener` with each stall's length in milliseconds, once the loop turns again; returns its removal. */
  onStall(listener: (ms: number) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /** One turn of the timer: a gap since the last one longer than its interval by `minMs` is a stall. */
  tick(): void {
    const now = performance.now();
    if (this.overdue(now)) {
      const ms = now - this.last;
      this.gaps.push([this.last, now]);
      if (this.gaps.length > MAX_GAPS) this.gaps.shift();
      this.counts.stalls++;
      this.counts.ms += ms;
      for (const l of this.listeners) l(ms);
    }
    this.last = now;
  }

  /** Whether the timer, running, has not turned for a stall's length by `now`. */
  private overdue(now: number): boolean {
    return this.timer !== undefined && now - this.last - this.tickMs >= this.minMs;
  }

  /**
   * Milliseconds since `since` (a performance.now() reading) during which the loop stood still: each
   * stall's overlap with that span, up to a tick's interval more than the stall itself. A stall
   * still going on counts too — the timer overdue now by `minMs` or more — since an answer that
   * arrives with a timer's callback, or right after a synchronous call, is seen before the tick.
   */
  since(since: number): number {
    const now = performance.now();
    let ms = 0;
    if (this.overdue(now)) ms += now - Math.max(this.last, since);
    for (let i = this.gaps.length - 1; i >= 0; i--) {
      const [from, to] = this.gaps[i]!;
      if (to <= since) break;
      ms += to - Math.max(from, since);
    }
    return ms;
  }

  /** Milliseconds since `since` during which the loop did not stand still (a timeout's measure). */
  ranSince(since: number): number {
    return performance.now() - since - this.since(since);
  }
}

/** The longest one timer can wait (Node's setTimeout limit). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How a loopTimeout is kept. */
export interface LoopTimeoutOptions {
  /** The watch whose stalls are left out (the process's one by default). */
  stalls?: LoopStalls;
  /** Does not by itself keep the process alive (as Node's `timer.unref()`). */
  unref?: boolean;
}

/**
 * A timeout of `ms` that counts only time the event loop ran: come due across a stall, it waits
 * on for what is left, so an answer that arrived while the process stood still is read before
 * the timeout can win. Returns its cancel.
 */
export function loopTimeout(ms: number, expire: () => void, options: LoopTimeoutOptions = {}): () => void {
  const stalls = options.stalls ?? loopStalls;
  const started = performance.now();
  const arm = (after: number) => {
    // Node fires a timer of more than 2^31-1 ms at once; a longer timeout comes back to check.
    const t = setTimeout(check, Math.min(after, MAX_TIMER_MS));
    if (options.unref) t.unref();
    return t;
  };
  const check = () => {
    const left = ms - stalls.ranSince(started);
    if (left <= 0) expire();
    else timer = arm(left);
  };
  let timer = arm(ms);
  return () => clearTimeout(timer);
}

/** Stalls kept, the newest: far more than one call or timeout spans. */
const MAX_GAPS = 64;

/** The process's one watch over its event loop: the circuit breakers, health probes and loopTimeout read it. */
export const loopStalls = new LoopStalls();

/**
 * What stands between the network and console password checks. Each check is an scrypt of
 * 16 MiB on libuv's thread pool, the pool whose four threads also write and flush every
 * protocol's data: 32 clients sending wrong passwords as fast as they were answered cut an
 * NFS client's small-file rate from 385–597 files/s to 79 (53 checks a second, every one
 * audited and logged). So:
 *
 * - at most `concurrent` checks run at once, each starting `spacingMs` after the one before, and
 *   `queue` more wait; a sign-in beyond that is refused at once, unchecked (a flood of them
 *   costs the thread pool one check at a time, 5 a second: about a fifth of one core);
 * - after `freeFailures` wrong passwords in a row for one user from one address, that pair
 *   waits 1 s after its last failure, then 2 s, 4 s … up to `maxDelayMs`, and a sign-in before
 *   then is refused unchecked (a right password included). A success clears the pair; so does
 *   `forgetMs` without an attempt. Only that pair waits: the user signs in from elsewhere, and
 *   others from the same address, as before.
 */
export interface SignInThrottleOptions {
  concurrent: number;
  /** The least time between the starts of two checks. */
  spacingMs: number;
  queue: number;
  freeFailures: number;
  maxDelayMs: number;
  forgetMs: number;
  /** Pairs remembered at most (the oldest go first). */
  maxPairs: number;
  /** Milliseconds on a clock that never steps back (a VM's wall clock does). */
  now(): number;
}

export const SIGN_IN_THROTTLE_DEFAULTS: SignInThrottleOptions = {
  concurrent: 1,
  spacingMs: 200,
  queue: 8,
  freeFailures: 5,
  maxDelayMs: 30_000,
  forgetMs: 15 * 60_000,
  maxPairs: 10_000,
  now: () => performance.now(),
};

/** Why a sign-in was refused unchecked, and when the same one may be tried again. */
export interface Throttled {
  reason: 'busy' | 'failures';
  retryAfterMs: number;
}

interface Failures {
  count: number;
  last: number;
}

export class SignInThrottle {
  private readonly o: SignInThrottleOptions;
  private running = 0;
  private lastStart = Number.NEGATIVE_INFINITY;
  private readonly waiting: Array<() => void> = [];
  /** Consecutive failures per address and user, oldest first (a Map keeps insertion order). */
  private readonly failures = new Map<string, Failures>();
  /** The most checks that ever ran at once (for tests and diagnostics). */
  peakConcurrent = 0;
  /** Sign-ins refused unchecked, by reason. */
  readonly refused = { busy: 0, failures: 0 };

  constructor(options: Partial<SignInThrottleOptions> = {}) {
    this.o = { ...SIGN_IN_THROTTLE_DEFAULTS, ...options };
  }

  /**
   * Runs `check` (the password verification) within the limits, and records its outcome for
   * the pair: `check` answers whether the password was right. Returns the refusal instead when
   * the pair must wait or too many checks are under way.
   */
  async verify(address: string, user: string, check: () => Promise<boolean>): Promise<boolean | Throttled> {
    const key = `${address}\u0000${user}`;
    this.forgetOld(this.o.now());
    const early = this.mustWait(key);
    if (early) return early;
    if (this.running < this.o.concurrent) {
      this.running++;
    } else {
      if (this.waiting.length >= this.o.queue) {
        this.refused.busy++;
        return { reason: 'busy', retryAfterMs: 1000 };
      }
      // The slot is handed over by the check that ends (running stays counted).
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.peakConcurrent = Math.max(this.peakConcurrent, this.running);
    let ok = false;
    try {
      const spacing = this.lastStart + this.o.spacingMs - this.o.now();
      if (spacing > 0) await new Promise((resolve) => setTimeout(resolve, spacing));
      // Attempts of one pair sent together queue up: each counts the failures of those before.
      const late = this.mustWait(key);
      if (late) return late;
      this.lastStart = this.o.now();
      ok = await check();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
    if (ok) this.failures.delete(key);
    else this.noteFailure(key);
    return ok;
  }

  /** The refusal for a pair that must still wait after its failures, counted; else undefined. */
  private mustWait(key: string): Throttled | undefined {
    const f = this.failures.get(key);
    const wait = f ? this.waitAfter(f, this.o.now()) : 0;
    if (wait <= 0) return undefined;
    this.refused.failures++;
    return { reason: 'failures', retryAfterMs: wait };
  }

  /** Consecutive failures of the pair, 0 when none are remembered. */
  failuresOf(address: string, user: string): number {
    return this.failures.get(`${address}\u0000${user}`)?.count ?? 0;
  }

  /** How long after its last failure the pair must still wait, in ms (0: it may try). */
  private waitAfter(f: Failures, now: number): number {
    if (f.count < this.o.freeFailures) return 0;
    const delay = Math.min(1000 * 2 ** (f.count - this.o.freeFailures), this.o.maxDelayMs);
    return Math.max(0, f.last + delay - now);
  }

  private noteFailure(key: string): void {
    const f = this.failures.get(key);
    // Moved to the end: the map stays ordered by last failure, oldest first.
    this.failures.delete(key);
    this.failures.set(key, { count: (f?.count ?? 0) + 1, last: this.o.now() });
    if (this.failures.size > this.o.maxPairs) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private forgetOld(now: number): void {
    for (const [key, f] of this.failures) {
      if (now - f.last < this.o.forgetMs) break;
      this.failures.delete(key);
    }
  }
}

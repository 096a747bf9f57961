/**
 * Buckets: whole microseconds below 16 µs, then 16 linear steps per power of two (each at most
 * 1/16 of its value wide, so a quantile read at a bucket's middle is within ±3.2 %), up to
 * 2^31 µs (≈ 36 min); anything longer lands in the last bucket. Integer arithmetic only.
 */
const SUB = 16;
const BUCKETS = SUB + (31 - 4) * SUB;
const MAX_US = 2 ** 31 - 1;

/**
 * Request latencies of the last few intervals, for a quantile over a sliding window (the
 * runbook's `gateway_latency_p99_us`, the console's p99 chart). Recording is a few integer operations and
 * one increment in a preallocated array — nothing is allocated and no clock is read on the
 * request path; `rotate()` (called by the 5 s sampler) starts the next slot and drops the
 * oldest, so the window spans between (slots − 1) and slots intervals.
 */
export class LatencyWindow {
  private readonly counts: Uint32Array;
  private cur = 0;
  private base = 0;

  constructor(readonly slots: number) {
    this.counts = new Uint32Array(slots * BUCKETS);
  }

  record(seconds: number): void {
    const us = seconds < MAX_US / 1e6 ? (seconds * 1e6) | 0 : MAX_US;
    let i = us;
    if (us >= SUB) {
      const octave = 31 - Math.clz32(us);
      i = SUB + (octave - 4) * SUB + ((us >>> (octave - 4)) & (SUB - 1));
    }
    this.counts[this.base + i]!++;
  }

  /** Closes the current slot and opens the next (the oldest is forgotten). */
  rotate(): void {
    this.cur = (this.cur + 1) % this.slots;
    this.base = this.cur * BUCKETS;
    this.counts.fill(0, this.base, this.base + BUCKETS);
  }

  /** Requests recorded in the whole window. */
  count(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }

  /** The q-quantile in microseconds over the whole window; undefined when it holds no request. */
  quantileUs(q: number): number | undefined {
    return this.quantileOver(q, 0, this.slots);
  }

  /** The q-quantile in microseconds of the current (still open) slot alone. */
  currentQuantileUs(q: number): number | undefined {
    return this.quantileOver(q, this.cur, 1);
  }

  /** Over `n` slots starting at slot `first` (wrapping); nearest rank, read at the bucket's middle. */
  private quantileOver(q: number, first: number, n: number): number | undefined {
    const merged = new Float64Array(BUCKETS);
    let total = 0;
    for (let k = 0; k < n; k++) {
      const base = ((first + k) % this.slots) * BUCKETS;
      for (let i = 0; i < BUCKETS; i++) {
        const c = this.counts[base + i]!;
        merged[i]! += c;
        total += c;
      }
    }
    if (total === 0) return undefined;
    // The smallest value with at least q of all requests at or below it.
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += merged[i]!;
      if (seen >= rank) return bucketMidUs(i);
    }
    return bucketMidUs(BUCKETS - 1);
  }
}

/** Middle of a bucket, in microseconds. */
function bucketMidUs(i: number): number {
  if (i < SUB) return i + 0.5;
  const octave = 4 + ((i - SUB) >> 4);
  const step = (i - SUB) & (SUB - 1);
  return 2 ** (octave - 4) * (SUB + step + 0.5);
}

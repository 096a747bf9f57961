import type { Protocol } from '../../config/types.ts';
import type { Backend, BreakerState } from '../../storage/circuit-breaker.ts';

export type CacheName = 'attributes' | 'entries';

/** One protocol over one sampling interval. */
export interface ProtocolPoint {
  requestsPerSec: number;
  errorsPerSec: number;
  /** errors / requests over the interval; null when it had no request. */
  errorRatio: number | null;
  /** p99 of the requests finished in the interval, in milliseconds; null when there were none. */
  p99Ms: number | null;
  activeConnections: number;
}

/** What the console charts, for one sampling interval ending at `t`. */
export interface MetricsPoint {
  /** End of the interval, ms since the epoch. */
  t: number;
  /** Length of the interval in seconds (rates are per second over it). */
  seconds: number;
  protocols: Record<Protocol, ProtocolPoint>;
  /** All protocols together; `max` is limits.max_connections, shared by all protocols. */
  connections: { active: number; max: number };
  /** hits / (hits + misses) over the interval; null when the cache was not consulted. */
  cacheHitRatio: Record<CacheName, number | null>;
  /** Backend failures during the interval. */
  backendErrors: Record<Backend, number>;
  circuits: Record<Backend, BreakerState>;
  draining: boolean;
}

export interface MetricsHistory {
  intervalSeconds: number;
  /** Oldest first. */
  points: MetricsPoint[];
}

/** Fixed-capacity ring of samples, oldest overwritten first. */
export class HistoryRing {
  private readonly ring: Array<MetricsPoint | undefined>;
  private next = 0;
  private filled = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<MetricsPoint | undefined>(capacity).fill(undefined);
  }

  push(p: MetricsPoint): void {
    this.ring[this.next] = p;
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  get size(): number {
    return this.filled;
  }

  latest(): MetricsPoint | undefined {
    return this.filled === 0 ? undefined : this.ring[(this.next - 1 + this.capacity) % this.capacity];
  }

  /** Points whose interval ended within `windowMs` of the latest one, oldest first. */
  within(windowMs: number): MetricsPoint[] {
    const last = this.latest();
    if (!last) return [];
    const out: MetricsPoint[] = [];
    for (let k = this.filled; k >= 1; k--) {
      const p = this.ring[(this.next - k + this.capacity) % this.capacity];
      if (p && p.t > last.t - windowMs) out.push(p);
    }
    return out;
  }
}

// The console's chart types are the API's: one definition, which the gateway fills.
import type { CacheName, MetricsHistory, MetricsPoint, ProtocolPoint } from '@claudefs/api';

export type { CacheName, MetricsHistory, MetricsPoint, ProtocolPoint };

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

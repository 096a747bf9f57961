import type { ServerResponse } from 'node:http';
import type { DiskRoom, MetricsSnapshot, ProtocolSnapshot } from '@claudefs/api';
import type { Registry } from 'prom-client';
import { PROTOCOLS } from '../../config/defaults.ts';
import type { Protocol } from '../../config/types.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import type { Backend } from '../../storage/circuit-breaker.ts';
import { backendRoom } from './capacity.ts';
import { BACKENDS, buildRegistry, isDraining } from './exposition.ts';
import {
  type CacheName,
  HistoryRing,
  type MetricsHistory,
  type MetricsPoint,
  type ProtocolPoint,
} from './history.ts';
import { QuotaReader } from './quota-reader.ts';
import { RequestStats } from './request-stats.ts';

// The console's headline numbers are the API's shapes, which the gateway fills.
export type { MetricsSnapshot, ProtocolSnapshot };

export interface GatewayMetricsOptions {
  /** History resolution and sampling period (default 5000 ms). */
  intervalMs?: number;
  /** How much history is kept (default 3600 s: 720 samples at 5 s). */
  historySeconds?: number;
  /** The p99 window of `gateway_latency_p99_us` and the snapshot (default 60 s). */
  p99WindowSeconds?: number;
  /** Start of the first sampling interval, ms since the epoch (default now). */
  startMs?: number;
}

/** Counter readings at the end of the previous interval. */
interface Baseline {
  t: number;
  requests: Record<Protocol, number>;
  errors: Record<Protocol, number>;
  hits: Record<CacheName, number>;
  misses: Record<CacheName, number>;
  failures: Record<Backend, number>;
}

const byProtocol = <T>(f: (p: Protocol) => T) =>
  Object.fromEntries(PROTOCOLS.map((p) => [p, f(p)])) as Record<Protocol, T>;
const byBackend = <T>(f: (b: Backend) => T) =>
  Object.fromEntries(BACKENDS.map((b) => [b, f(b)])) as Record<Backend, T>;
const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

/**
 * The gateway's metrics: the request observer, the prom-client registry behind `GET /metrics`,
 * and a ring of 5 s samples (≥ 1 h) the console charts without a Prometheus.
 */
export class GatewayMetrics {
  readonly stats: RequestStats;
  readonly registry: Registry;
  readonly intervalMs: number;
  private readonly ring: HistoryRing;
  private baseline: Baseline;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly gw: Gateway,
    options: GatewayMetricsOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 5000;
    const historyMs = (options.historySeconds ?? 3600) * 1000;
    this.ring = new HistoryRing(Math.max(1, Math.ceil(historyMs / this.intervalMs)));
    this.stats = new RequestStats(
      Math.max(1, Math.ceil(((options.p99WindowSeconds ?? 60) * 1000) / this.intervalMs)),
    );
    this.registry = buildRegistry(gw, this.stats, new QuotaReader(gw));
    this.baseline = this.read(options.startMs ?? Date.now());
  }

  /** Starts observing requests (idempotent). */
  attach(): void {
    if (!this.gw.connections.observers.includes(this.stats)) this.gw.connections.observers.push(this.stats);
  }

  /** Observes requests and samples every interval on an unref'd timer. */
  start(): void {
    this.attach();
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sample(Date.now());
      void this.measureDisks();
    }, this.intervalMs);
    this.timer.unref();
    void this.measureDisks();
  }

  /** The backends' disks as last measured (the snapshot's `disks`). */
  private disks: DiskRoom[] = [];

  /** Reads each backend's file system (capacity.ts: skipped while its circuit is open, a second at most). */
  private async measureDisks(): Promise<void> {
    const rooms = await Promise.all(BACKENDS.map((b) => backendRoom(this.gw, b)));
    const next: DiskRoom[] = [];
    for (const r of rooms) {
      if (!r) continue;
      const room = r.room
        ? { totalBytes: Number(r.room.totalBytes), availableBytes: Number(r.room.availBytes) }
        : this.disks.find((d) => d.backend === r.backend);
      if (room)
        next.push({
          backend: r.backend,
          folder: r.folder,
          totalBytes: room.totalBytes,
          availableBytes: room.availableBytes,
        });
    }
    this.disks = next;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const i = this.gw.connections.observers.indexOf(this.stats);
    if (i >= 0) this.gw.connections.observers.splice(i, 1);
  }

  /** The Prometheus text exposition. */
  async serve(res: ServerResponse): Promise<void> {
    // prom-client spells a NaN sample `Nan`; the exposition format (and strict parsers) say `NaN`.
    const body = (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
    res.writeHead(200, {
      'content-type': this.registry.contentType,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  /**
   * Closes the interval ending at `nowMs`: rates over it, its p99, and the readings at its end
   * go into the history ring; the p99 window moves on by one slot. The timer calls it with
   * Date.now(); tests drive it with their own clock.
   */
  sample(nowMs: number): MetricsPoint {
    const prev = this.baseline;
    const cur = this.read(nowMs);
    const seconds = (nowMs - prev.t) / 1000;
    const perSec = (delta: number) => (seconds > 0 ? delta / seconds : 0);
    const protocols = byProtocol((p): ProtocolPoint => {
      const requests = cur.requests[p] - prev.requests[p];
      const errors = cur.errors[p] - prev.errors[p];
      const p99Us = this.stats.protocol(p).latency.currentQuantileUs(0.99);
      return {
        requestsPerSec: perSec(requests),
        errorsPerSec: perSec(errors),
        errorRatio: ratio(errors, requests),
        p99Ms: p99Us === undefined ? null : p99Us / 1000,
        activeConnections: this.gw.connections.count(p),
      };
    });
    for (const p of this.stats.protocols.values()) p.latency.rotate();
    const cacheRatio = (c: CacheName) => {
      const hits = cur.hits[c] - prev.hits[c];
      return ratio(hits, hits + cur.misses[c] - prev.misses[c]);
    };
    const point: MetricsPoint = {
      t: nowMs,
      seconds,
      protocols,
      connections: { active: this.gw.connections.count(), max: this.gw.connections.maxConnections },
      cacheHitRatio: { attributes: cacheRatio('attributes'), entries: cacheRatio('entries') },
      backendErrors: byBackend((b) => cur.failures[b] - prev.failures[b]),
      circuits: byBackend((b) => this.gw.ns.breakers[b].state),
      draining: isDraining(this.gw),
    };
    this.ring.push(point);
    this.baseline = cur;
    return point;
  }

  /** The samples of the last `windowSeconds` (at most the ring's hour), oldest first. */
  history(windowSeconds: number): MetricsHistory {
    const windowMs = Math.max(0, windowSeconds) * 1000;
    return { intervalSeconds: this.intervalMs / 1000, points: this.ring.within(windowMs) };
  }

  snapshot(): MetricsSnapshot {
    const { gw, stats } = this;
    const last = this.ring.latest();
    const protocols = byProtocol((p): ProtocolSnapshot => {
      const s = stats.protocol(p);
      const lp = last?.protocols[p];
      const p99Us = s.latency.quantileUs(0.99);
      return {
        requestsTotal: s.requests,
        errorsTotal: s.errors,
        requestsPerSec: lp?.requestsPerSec ?? 0,
        errorsPerSec: lp?.errorsPerSec ?? 0,
        errorRatio: lp?.errorRatio ?? null,
        p99Ms: p99Us === undefined ? null : p99Us / 1000,
        activeConnections: gw.connections.count(p),
        refusedTotal: gw.connections.refusedBy.get(p) ?? 0,
      };
    });
    const cache = (c: { hits: number; misses: number; size: number }) => ({
      hits: c.hits,
      misses: c.misses,
      hitRatio: ratio(c.hits, c.hits + c.misses),
      entries: c.size,
    });
    return {
      at: Date.now(),
      protocols,
      connections: {
        active: gw.connections.count(),
        max: gw.connections.maxConnections,
        refusedTotal: PROTOCOLS.reduce((n, p) => n + (gw.connections.refusedBy.get(p) ?? 0), 0),
      },
      caches: { attributes: cache(gw.ns.nodes), entries: cache(gw.ns.entries) },
      backends: byBackend((b) => {
        const s = gw.ns.breakers[b].snapshot();
        return { state: s.state, errorsTotal: s.totalFailures };
      }),
      draining: isDraining(gw),
      durability: {
        metadata: gw.ns.metadataDurability,
        flushIntervalMs: gw.ns.metadataDurability === 'async' ? gw.config.durability.flushIntervalMs : null,
      },
      disks: this.disks,
    };
  }

  private read(t: number): Baseline {
    const { gw, stats } = this;
    return {
      t,
      requests: byProtocol((p) => stats.protocol(p).requests),
      errors: byProtocol((p) => stats.protocol(p).errors),
      hits: { attributes: gw.ns.nodes.hits, entries: gw.ns.entries.hits },
      misses: { attributes: gw.ns.nodes.misses, entries: gw.ns.entries.misses },
      failures: byBackend((b) => gw.ns.breakers[b].snapshot().totalFailures),
    };
  }
}

const attached = new WeakMap<Gateway, GatewayMetrics>();

/** The metrics of a started gateway (the tRPC router and other features reach them here). */
export function getMetrics(gw: Gateway): GatewayMetrics {
  const m = attached.get(gw);
  if (!m)
    throw new Error('metrics are not running on this gateway (the metrics feature starts with the gateway)');
  return m;
}

/** Called by the metrics feature. */
export function setMetrics(gw: Gateway, m: GatewayMetrics | undefined): void {
  if (m) attached.set(gw, m);
  else attached.delete(gw);
}

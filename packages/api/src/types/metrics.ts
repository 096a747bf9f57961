/** The protocols the gateway serves, as metrics and connections label them. */
export type ProtocolName = 'nfs' | 's3' | 'smb';
/** The two backends behind circuit breakers. */
export type BackendName = 'metadata' | 'transport';
export type BreakerState = 'closed' | 'open' | 'half-open';
export type CacheName = 'attributes' | 'entries';

/** The console's chart windows, in seconds. The gateway keeps one hour of 5 s samples. */
export const METRICS_WINDOWS = { '15m': 900, '1h': 3600 } as const;
export type MetricsWindow = keyof typeof METRICS_WINDOWS;

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

/** One sampling interval ending at `t` (ms since the epoch), `seconds` long. */
export interface MetricsPoint {
  t: number;
  seconds: number;
  protocols: Record<ProtocolName, ProtocolPoint>;
  /** All protocols together; `max` is limits.max_connections. */
  connections: { active: number; max: number };
  /** hits / (hits + misses) over the interval; null when the cache was not consulted. */
  cacheHitRatio: Record<CacheName, number | null>;
  /** Backend failures during the interval. */
  backendErrors: Record<BackendName, number>;
  circuits: Record<BackendName, BreakerState>;
  draining: boolean;
}

export interface MetricsHistory {
  intervalSeconds: number;
  /** Oldest first. */
  points: MetricsPoint[];
}

export interface ProtocolSnapshot {
  requestsTotal: number;
  errorsTotal: number;
  /** Over the last sampling interval; 0 before the first sample. */
  requestsPerSec: number;
  errorsPerSec: number;
  errorRatio: number | null;
  /** Over the sliding p99 window (about 60 s), in milliseconds; null when no request finished in it. */
  p99Ms: number | null;
  activeConnections: number;
  refusedTotal: number;
}

/** The console's headline numbers, read now. */
export interface MetricsSnapshot {
  at: number;
  protocols: Record<ProtocolName, ProtocolSnapshot>;
  connections: { active: number; max: number; refusedTotal: number };
  /** Counters since start; hitRatio is hits / (hits + misses), null before any lookup. */
  caches: Record<CacheName, { hits: number; misses: number; hitRatio: number | null; entries: number }>;
  backends: Record<BackendName, { state: BreakerState; errorsTotal: number }>;
  draining: boolean;
  /**
   * `durability.metadata`: sync answers a change once on disk; async once committed, flushed
   * within `flushIntervalMs` (null under sync) or when a client asks.
   */
  durability: { metadata: 'sync' | 'async'; flushIntervalMs: number | null };
  /**
   * The file systems under the backends on this host (meta.db's folder, the local data
   * folder): their size and the room left to the gateway's writes, as of the last 5 s sample.
   * A backend elsewhere (PostgreSQL, an object store), or whose disk did not answer, is not
   * listed.
   */
  disks: DiskRoom[];
}

export interface DiskRoom {
  backend: BackendName;
  folder: string;
  totalBytes: number;
  availableBytes: number;
}

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { PROTOCOLS } from '../../config/defaults.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import type { Backend, BreakerState } from '../../storage/circuit-breaker.ts';
import { loopStalls } from '../../util/loop-stalls.ts';
import { auditSuppressedTotal } from '../audit-limit.ts';
import { signInThrottle } from '../trpc/session.ts';
import { backendCapacity } from './capacity.ts';
import type { QuotaReader } from './quota-reader.ts';
import { LATENCY_BUCKETS, type RequestStats } from './request-stats.ts';

type Labels = Record<string, string>;
type Sample = [Labels, number];

export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 };
export const BACKENDS: readonly Backend[] = ['metadata', 'transport'];

/** Whether the drain controller (another feature) says the gateway is draining. */
export function isDraining(gw: Gateway): boolean {
  return (gw as unknown as { draining?: unknown }).draining === true;
}

function counter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Sample[],
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

function gauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Sample[] | Promise<Sample[]>,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of samples) this.set(labels, value);
    },
  });
}

type HistogramData = Awaited<ReturnType<Histogram['get']>>;
const LATENCY_NAME = 'gateway_latency_seconds';
const LATENCY_HELP = 'Request latency from request start to reply, by protocol and operation';

/**
 * `gateway_latency_seconds`, exported from RequestStats' own bucket counters (kept there so the
 * request path stays allocation-free) in prom-client's histogram shape.
 */
class LatencyHistogram extends Histogram<'protocol' | 'op'> {
  constructor(
    registry: Registry,
    private readonly stats: RequestStats,
  ) {
    super({
      name: LATENCY_NAME,
      help: LATENCY_HELP,
      labelNames: ['protocol', 'op'],
      buckets: [...LATENCY_BUCKETS],
      registers: [registry],
    });
  }

  override async get(): Promise<HistogramData> {
    const values: HistogramData['values'] = [];
    for (const p of this.stats.protocols.values()) {
      for (const s of p.ops.values()) {
        const labels = { protocol: s.protocol, op: s.op };
        let cumulative = 0;
        for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
          cumulative += s.buckets[i]!;
          const le = { ...labels, le: LATENCY_BUCKETS[i]! } as HistogramData['values'][number]['labels'];
          values.push({ metricName: `${LATENCY_NAME}_bucket`, labels: le, value: cumulative });
        }
        const inf = { ...labels, le: '+Inf' } as HistogramData['values'][number]['labels'];
        values.push({ metricName: `${LATENCY_NAME}_bucket`, labels: inf, value: s.requests });
        values.push({ metricName: `${LATENCY_NAME}_sum`, labels, value: s.sumSeconds });
        values.push({ metricName: `${LATENCY_NAME}_count`, labels, value: s.requests });
      }
    }
    // prom-client's typings declare `type` as a numeric enum; at run time it is the string.
    const type = 'histogram' as unknown as HistogramData['type'];
    return { name: LATENCY_NAME, help: LATENCY_HELP, type, values, aggregator: 'sum', collect: () => {} };
  }

  /** What the registry formats for the text exposition. */
  getForPromString(): Promise<HistogramData> {
    return this.get();
  }
}

/** Default process metrics promtool objects to: gauges named like counters. */
function dropNonCounterTotals(registry: Registry, prefix: string): void {
  for (const m of registry.getMetricsAsArray()) {
    if (m.name.startsWith(prefix) && String(m.type) !== 'counter' && m.name.endsWith('_total')) {
      registry.removeSingleMetric(m.name);
    }
  }
}

/**
 * The gateway's own registry (never prom-client's global one) with the series the runbook and
 * the ops-plane issue name. Everything but the request counters is read from its source at
 * scrape time.
 */
export function buildRegistry(gw: Gateway, stats: RequestStats, quotas: QuotaReader): Registry {
  const registry = new Registry();
  const opSeries = () => [...stats.protocols.values()].flatMap((p) => [...p.ops.values()]);

  counter(
    registry,
    'gateway_requests_total',
    'Requests finished, by protocol and operation',
    ['protocol', 'op'],
    () => opSeries().map((s) => [{ protocol: s.protocol, op: s.op }, s.requests]),
  );
  // The same label sets as gateway_requests_total (zeros included) so the runbook's error-rate
  // division matches series one to one.
  counter(
    registry,
    'gateway_errors_total',
    'Requests answered with a protocol error, by protocol and operation',
    ['protocol', 'op'],
    () => opSeries().map((s) => [{ protocol: s.protocol, op: s.op }, s.errors]),
  );
  counter(
    registry,
    'gateway_error_codes_total',
    "Requests answered with a protocol error, by the protocol's error code",
    ['protocol', 'code'],
    () =>
      [...stats.protocols.values()].flatMap((p) =>
        [...p.codes.values()].map((c): Sample => [{ protocol: c.protocol, code: c.code }, c.count]),
      ),
  );
  new LatencyHistogram(registry, stats);
  gauge(
    registry,
    'gateway_latency_p99_us',
    'p99 request latency over the last minute, in microseconds (NaN when no request finished)',
    ['protocol'],
    () => PROTOCOLS.map((p) => [{ protocol: p }, stats.protocol(p).latency.quantileUs(0.99) ?? Number.NaN]),
  );

  gauge(registry, 'gateway_active_connections', 'Open client connections', ['protocol'], () =>
    PROTOCOLS.map((p) => [{ protocol: p }, gw.connections.count(p)]),
  );
  // limits.max_connections is one limit shared by all protocols; repeating it per protocol keeps
  // the labels identical to gateway_active_connections so the runbook's division works as written.
  gauge(
    registry,
    'gateway_max_connections',
    'Connection limit (limits.max_connections, shared by all protocols)',
    ['protocol'],
    () => PROTOCOLS.map((p) => [{ protocol: p }, gw.connections.maxConnections]),
  );
  counter(
    registry,
    'gateway_connections_refused_total',
    'Connections refused because the limit was reached',
    ['protocol'],
    () => PROTOCOLS.map((p) => [{ protocol: p }, gw.connections.refusedBy.get(p) ?? 0]),
  );
  counter(
    registry,
    'gateway_console_signins_refused_total',
    'Console sign-ins refused unchecked: too many at once (busy), or after wrong passwords in a row (failures)',
    ['reason'],
    () => {
      const refused = signInThrottle(gw).refused;
      return [
        [{ reason: 'busy' }, refused.busy],
        [{ reason: 'failures' }, refused.failures],
      ];
    },
  );
  counter(
    registry,
    'gateway_audit_entries_suppressed_total',
    'Refusals of unauthenticated callers not recorded one by one in the audit log (past 30 per address and minute)',
    [],
    () => [[{}, auditSuppressedTotal(gw)]],
  );

  counter(
    registry,
    'gateway_backend_errors_total',
    'Backend calls that failed (each counts toward opening the circuit)',
    ['backend'],
    () => BACKENDS.map((b) => [{ backend: b }, gw.ns.breakers[b].snapshot().totalFailures]),
  );
  counter(
    registry,
    'gateway_event_loop_stalls_total',
    'Times the event loop stood still for a second or more (the process paused — a VM stall, swapping — or held by a synchronous call); backend calls in flight then are not counted as slow',
    [],
    () => [[{}, loopStalls.counts.stalls]],
  );
  counter(
    registry,
    'gateway_event_loop_stalled_seconds_total',
    'Seconds the event loop stood still in those stalls',
    [],
    () => [[{}, loopStalls.counts.ms / 1000]],
  );
  gauge(
    registry,
    'gateway_backend_capacity_bytes',
    'Size (kind="total") and room left to an unprivileged writer (kind="available", df\'s Avail) of the file system under each backend: meta.db\'s folder, the local data folder',
    ['backend', 'kind'],
    () => backendCapacity(gw),
  );
  gauge(
    registry,
    'gateway_circuit_breaker_state',
    'Circuit breaker state: 0 closed, 1 open, 2 half-open',
    ['backend'],
    () => BACKENDS.map((b) => [{ backend: b }, BREAKER_STATE_VALUE[gw.ns.breakers[b].state]]),
  );

  const caches = () => [gw.ns.nodes, gw.ns.entries];
  counter(registry, 'gateway_cache_hits_total', 'Cache lookups answered from the cache', ['cache'], () =>
    caches().map((c) => [{ cache: c.name }, c.hits]),
  );
  counter(
    registry,
    'gateway_cache_misses_total',
    'Cache lookups that went to the metadata backend',
    ['cache'],
    () => caches().map((c) => [{ cache: c.name }, c.misses]),
  );
  // Present with the local data directory (storage/data/local-blobs.ts); 0 on an object store.
  gauge(
    registry,
    'gateway_small_file_cache_bytes',
    'Bytes of files (up to 1 MiB each) held in memory once read, within transport.cache_size (each dropped before its file changes)',
    [],
    () => [[{}, gw.ns.data.smallFiles?.bytes ?? 0]],
  );
  counter(
    registry,
    'gateway_small_file_reads_total',
    'Reads of files up to 1 MiB, answered from their copy in memory or from the disk',
    ['from'],
    () => [
      [{ from: 'memory' }, gw.ns.data.smallFiles?.hits ?? 0],
      [{ from: 'disk' }, gw.ns.data.smallFiles?.misses ?? 0],
    ],
  );
  const recalls = gw.ns.caching.stats;
  counter(
    registry,
    'gateway_caching_recalls_total',
    "Reads and changes (NFS, S3; SMB's of other nodes' clients) that first recalled SMB clients' oplocks or leases on the file",
    [],
    () => [[{}, recalls.recalls]],
  );
  counter(
    registry,
    'gateway_caching_recall_seconds_total',
    'Time those reads and changes waited for the SMB clients to write back and give up their caching',
    [],
    () => [[{}, recalls.waitedMs / 1000]],
  );
  counter(
    registry,
    'gateway_caching_breaks_unanswered_total',
    'Oplock and lease breaks an SMB client did not acknowledge within smb.break_timeout, 35 s by default (its caching was taken)',
    [],
    () => [[{}, recalls.unanswered]],
  );
  counter(
    registry,
    'gateway_caching_remote_recalls_total',
    "Requests to other gateway nodes (PostgreSQL metadata) to recall their SMB clients' caching or record their opens, by whether the node answered within smb.break_timeout and 5 s (40 s by default)",
    ['outcome'],
    () => {
      const c = gw.ns.caching.cluster?.stats;
      return [
        [{ outcome: 'answered' }, c?.answered ?? 0],
        [{ outcome: 'unanswered' }, c?.unanswered ?? 0],
      ];
    },
  );
  counter(
    registry,
    'gateway_inline_writes_total',
    'Writes to small files kept in the metadata database (transport.inline_max): answered there, or moving the file to its own blob',
    ['outcome'],
    () => [
      [{ outcome: 'inline' }, gw.ns.inlineWrites.inline],
      [{ outcome: 'moved' }, gw.ns.inlineWrites.moved],
    ],
  );
  counter(
    registry,
    'gateway_direct_io_bytes_total',
    'Bytes written and read past the page cache (O_DIRECT: large aligned writes, and large reads of what was written so)',
    ['op'],
    () => [
      [{ op: 'write' }, gw.ns.data.directIo?.written ?? 0],
      [{ op: 'read' }, gw.ns.data.directIo?.read ?? 0],
    ],
  );
  counter(
    registry,
    'gateway_metadata_statements_total',
    'Statements run on the metadata database (one round trip each on PostgreSQL)',
    ['backend'],
    () => [[{ backend: gw.ns.meta.kind }, gw.ns.meta.statements]],
  );
  counter(
    registry,
    'gateway_metadata_retries_total',
    'Metadata write transactions run again: SQLite found the database locked (waited out off the event loop, up to 30 ms), PostgreSQL answered a serialization failure or deadlock',
    ['backend'],
    () => [[{ backend: gw.ns.meta.kind }, gw.ns.meta.retries]],
  );
  // The embedded metadata store (SQLite): its WAL and the work that keeps it bounded.
  gauge(
    registry,
    'gateway_metadata_wal_bytes',
    'Size of the SQLite metadata WAL file (checkpoints start it over; steady growth means they cannot)',
    [],
    () => (gw.ns.checkpointer ? [[{}, gw.ns.checkpointer.walBytes()]] : []),
  );
  counter(
    registry,
    'gateway_metadata_checkpoints_total',
    'SQLite WAL checkpoint passes, those run with new writes held to catch up, and the WAL restarts made on the checkpoint thread',
    ['kind'],
    () =>
      gw.ns.checkpointer
        ? [
            [{ kind: 'pass' }, gw.ns.checkpointer.checkpoints],
            [{ kind: 'held' }, gw.ns.checkpointer.holds],
            [{ kind: 'restart' }, gw.ns.checkpointer.restarts],
          ]
        : [],
  );
  counter(
    registry,
    'gateway_metadata_checkpoint_hold_seconds_total',
    'Time new metadata writes waited for the held checkpoint passes (a few milliseconds a second at most)',
    [],
    () => (gw.ns.checkpointer ? [[{}, gw.ns.checkpointer.heldMs / 1000]] : []),
  );
  counter(
    registry,
    'gateway_metadata_flushes_total',
    'Flushes that made metadata commits durable (one WAL fdatasync covers every commit made before it)',
    [],
    () => [[{}, gw.ns.barrierFlushes]],
  );
  gauge(
    registry,
    'gateway_metadata_durability',
    'durability.metadata: 1 on the mode in force (sync: changes on disk when answered; async: committed, flushed within flush_interval or when a client asks)',
    ['mode'],
    () => [
      [{ mode: 'sync' }, gw.ns.metadataDurability === 'sync' ? 1 : 0],
      [{ mode: 'async' }, gw.ns.metadataDurability === 'async' ? 1 : 0],
    ],
  );
  counter(
    registry,
    'gateway_cluster_invalidations_total',
    'Cache invalidation batches exchanged with other gateway nodes (PostgreSQL LISTEN/NOTIFY)',
    ['direction'],
    () => [
      [{ direction: 'received' }, gw.ns.cluster?.received ?? 0],
      [{ direction: 'published' }, gw.ns.cluster?.published ?? 0],
    ],
  );

  counter(
    registry,
    'gateway_s3_turns_waited_total',
    'S3 requests that waited for a turn because NFS or SMB needed the saturated event loop',
    [],
    () => [[{}, gw.connections.share.queued]],
  );
  const s3 = () => gw.servers.find((s) => s.staleUploads)?.staleUploads;
  counter(
    registry,
    'gateway_s3_stale_uploads_aborted_total',
    'Multipart uploads aborted after s3.stale_uploads_expiry without activity',
    [],
    () => [[{}, s3()?.aborted ?? 0]],
  );
  counter(
    registry,
    'gateway_s3_stale_upload_bytes_freed_total',
    'Bytes of parts freed by aborting stale multipart uploads',
    [],
    () => [[{}, Number(s3()?.freedBytes ?? 0n)]],
  );
  const lifecycle = () => gw.servers.find((s) => s.lifecycleTotals)?.lifecycleTotals;
  counter(
    registry,
    'gateway_s3_lifecycle_expired_total',
    "Objects removed by their bucket's lifecycle rules",
    [],
    () => [[{}, lifecycle()?.expired ?? 0]],
  );
  counter(
    registry,
    'gateway_s3_lifecycle_bytes_freed_total',
    "Bytes freed by removing objects under their bucket's lifecycle rules",
    [],
    () => [[{}, Number(lifecycle()?.freedBytes ?? 0n)]],
  );
  counter(
    registry,
    'gateway_s3_lifecycle_uploads_aborted_total',
    'Multipart uploads aborted by a lifecycle rule (AbortIncompleteMultipartUpload)',
    [],
    () => [[{}, lifecycle()?.aborted ?? 0]],
  );
  gauge(
    registry,
    'gateway_s3_giving_way',
    '1 while S3 runs one request at a time to leave the saturated event loop to NFS and SMB',
    [],
    () => [[{}, gw.connections.share.contended ? 1 : 0]],
  );

  gauge(
    registry,
    'gateway_quota_usage_bytes',
    'Bytes charged to a uid or gid that has a quota',
    ['kind', 'id'],
    async () =>
      (await quotas.read()).flatMap((q) =>
        q.usage ? [[{ kind: q.kind, id: String(q.id) }, Number(q.usage.bytes)]] : [],
      ),
  );
  gauge(
    registry,
    'gateway_quota_limit_bytes',
    'Quota byte limits (soft and hard) per uid or gid',
    ['kind', 'id', 'limit'],
    async () => limits(await quotas.read(), 'softBytes', 'hardBytes'),
  );
  gauge(
    registry,
    'gateway_quota_usage_inodes',
    'Inodes charged to a uid or gid that has a quota',
    ['kind', 'id'],
    async () =>
      (await quotas.read()).flatMap((q) =>
        q.usage ? [[{ kind: q.kind, id: String(q.id) }, Number(q.usage.inodes)]] : [],
      ),
  );
  gauge(
    registry,
    'gateway_quota_limit_inodes',
    'Quota inode limits (soft and hard) per uid or gid',
    ['kind', 'id', 'limit'],
    async () => limits(await quotas.read(), 'softInodes', 'hardInodes'),
  );

  gauge(registry, 'gateway_draining', '1 while the gateway drains (refuses new work), else 0', [], () => [
    [{}, isDraining(gw) ? 1 : 0],
  ]);

  const prefix = 'gateway_process_';
  collectDefaultMetrics({ register: registry, prefix });
  dropNonCounterTotals(registry, prefix);
  return registry;
}

type LimitField = 'softBytes' | 'hardBytes' | 'softInodes' | 'hardInodes';

function limits(
  rows: Awaited<ReturnType<QuotaReader['read']>>,
  soft: LimitField & `soft${string}`,
  hard: LimitField & `hard${string}`,
): Sample[] {
  const out: Sample[] = [];
  for (const q of rows) {
    const id = String(q.id);
    const s = q.limits[soft];
    const h = q.limits[hard];
    if (s !== null) out.push([{ kind: q.kind, id, limit: 'soft' }, Number(s)]);
    if (h !== null) out.push([{ kind: q.kind, id, limit: 'hard' }, Number(h)]);
  }
  return out;
}

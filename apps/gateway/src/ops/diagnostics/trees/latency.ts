import { cpus } from 'node:os';
import { getMetrics } from '../../metrics/index.ts';
import type { DiagnosisContext, DiagnosticTree, StepOutcome } from '../engine.ts';
import { type HostSample, median, sampleHost, type Timed, timeRepeatedly } from '../probes.ts';
import { commands, manual, ms, opsBase, pct, RUNBOOK } from './common.ts';

/** The runbook's own threshold: "If > 80%: Scale horizontally or tune worker threads". */
export const CPU_HIGH_PERCENT = 80;
/** Five times the runbook's NFS p99 alert (10 ms): a backend round trip this slow shows in every request. */
export const PROBE_SLOW_MS = 50;
const PROBES = 5;
/** Retransmitted segments above 1% of those sent is loss a client notices as stalls. */
export const RETRANS_HIGH = 0.01;
/** Below this many segments sent in the window the ratio says nothing. */
const RETRANS_MIN_SEGMENTS = 100;
/** A miss storm: under half the lookups hit, over enough lookups to mean it. */
export const CACHE_HIT_LOW = 0.5;
const CACHE_MIN_LOOKUPS = 200;
/** The runbook's Key Metrics alert: active connections > 90% of the pool. */
export const POOL_HIGH = 0.9;

const host = (ctx: DiagnosisContext) =>
  ctx.memo<HostSample>('host-sample', () => sampleHost(ctx.options.sampleMs, cpus().length));

async function backendProbe(ctx: DiagnosisContext, backend: 'metadata' | 'transport'): Promise<StepOutcome> {
  const { gw } = ctx;
  const probe = backend === 'metadata' ? () => gw.ns.probeMetadata() : () => gw.ns.probeTransport();
  const runs: Timed[] = await timeRepeatedly(probe, PROBES);
  ctx.facts.set(`${backend}-probes`, runs);
  const failed = runs.find((r) => !r.ok);
  const times = runs.filter((r) => r.ok).map((r) => r.ms);
  const med = median(times);
  const check = gw.health.report().checks.find((c) => c.name === backend);
  const breaker = gw.ns.breakers[backend].snapshot();
  const measured = {
    probes: runs.map((r) => ({ ...r })),
    medianMs: med,
    maxMs: times.length > 0 ? Math.max(...times) : null,
    thresholdMs: PROBE_SLOW_MS,
    circuit: breaker.state,
    healthCheck: check
      ? { status: check.status, message: check.message, durationMs: check.duration_ms }
      : null,
  };
  const evidence = runs.map(
    (r, i) => `probe ${i + 1}: ${r.ok ? ms(r.ms) : `failed after ${ms(r.ms)}: ${r.error}`}`,
  );
  if (check)
    evidence.push(
      `/health ${backend}: ${check.status}${check.message ? ` (${check.message})` : ''}, ${check.duration_ms} ms`,
    );
  const what = backend === 'metadata' ? 'metadata (A2)' : 'transport (A4)';
  if (failed) {
    return {
      outcome: 'failing',
      verdict: 'fail',
      summary: `${what} probe failed: ${failed.error}`,
      because: `a ${backend} round trip failed (circuit ${breaker.state}): every request that needs it fails or waits`,
      measured,
      evidence,
      finding: `${what} probe failed (${failed.error}): run ./cfs diagnose backend`,
    };
  }
  if (med > PROBE_SLOW_MS) {
    return {
      outcome: 'slow',
      verdict: 'warn',
      summary: `${what} is slow: median ${ms(med)} over ${runs.length} probes`,
      because: `median ${ms(med)} > ${PROBE_SLOW_MS} ms`,
      measured,
      evidence,
    };
  }
  return {
    outcome: 'ok',
    verdict: 'pass',
    summary: `${what} answers in ${ms(med)} (median of ${runs.length})`,
    because: `median ${ms(med)} ≤ ${PROBE_SLOW_MS} ms`,
    measured,
    evidence,
  };
}

export const latencyTree: DiagnosticTree = {
  id: 'latency',
  title: 'High latency',
  runbook: { section: RUNBOOK.latency, quote: 'High Latency?' },
  summary:
    'Gateway CPU, metadata and transport round trips, TCP retransmits, then the common causes: cache miss storm, backend overload, connection pool exhausted.',
  inputs: [],
  start: 'cpu',
  steps: [
    {
      id: 'cpu',
      title: 'Gateway CPU',
      kind: 'check',
      runbook: {
        section: RUNBOOK.latency,
        quote: 'Check Gateway CPU: top/htop — If > 80%: Scale horizontally or tune worker threads',
      },
      description: `Samples the gateway process's CPU (all threads) over about a second; above ${CPU_HIGH_PERCENT}% of a core it is CPU-bound.`,
      branches: { high: 'cpu-high', normal: 'metadata' },
      async run(ctx) {
        const s = await host(ctx);
        const measured = {
          cpuPercent: s.cpuPercent,
          userMs: s.userMs,
          systemMs: s.systemMs,
          windowMs: s.windowMs,
          cores: s.cores,
          thresholdPercent: CPU_HIGH_PERCENT,
          pid: process.pid,
        };
        const line = `CPU ${s.cpuPercent}% of one core over ${s.windowMs} ms (user ${s.userMs} ms, system ${s.systemMs} ms; ${s.cores} cores)`;
        if (s.cpuPercent > CPU_HIGH_PERCENT) {
          return {
            outcome: 'high',
            verdict: 'warn',
            summary: line,
            because: `${s.cpuPercent}% > ${CPU_HIGH_PERCENT}%: the event loop is busy, every request queues behind it`,
            measured,
            evidence: [line],
            finding: `gateway CPU ${s.cpuPercent}% > ${CPU_HIGH_PERCENT}%: scale horizontally or tune`,
          };
        }
        return {
          outcome: 'normal',
          verdict: 'pass',
          summary: line,
          because: `${s.cpuPercent}% ≤ ${CPU_HIGH_PERCENT}%: not CPU-bound`,
          measured,
          evidence: [line],
        };
      },
    },
    {
      id: 'cpu-high',
      title: 'Scale horizontally or tune',
      kind: 'manual',
      runbook: { section: RUNBOOK.latency, quote: 'If > 80%: Scale horizontally or tune worker threads' },
      description: 'Add a gateway node behind the load balancer, or find what the process spends its CPU on.',
      branches: { done: 'metadata' },
      commands: commands(
        ['top', 'htop'],
        ['top -p <gateway pid>', './cfs gateway drain  # before taking a node out'],
      ),
      run: () =>
        manual(
          'the gateway is CPU-bound: add a node (the namespace is shared) or reduce the work per request',
          commands(
            ['top', 'htop'],
            [`top -p ${process.pid}`, 'curl -s localhost:8080/metrics | grep gateway_requests_total'],
            'The gateway serves protocol work on one event loop; fsync and hashing go to worker threads. More nodes on the same metadata and data backends spread the clients.',
          ),
        ),
    },
    {
      id: 'metadata',
      title: 'Metadata (A2) round trip',
      kind: 'check',
      runbook: {
        section: RUNBOOK.latency,
        quote: 'Check A2 Metadata: curl /health of A2 — If slow: Check A2 performance',
      },
      description: `Times ${PROBES} metadata probes (a read and a durability barrier, through the circuit breaker). A2 has no HTTP health here: this is its stand-in.`,
      branches: { ok: 'transport', slow: 'metadata-slow', failing: 'metadata-slow' },
      run: (ctx) => backendProbe(ctx, 'metadata'),
    },
    {
      id: 'metadata-slow',
      title: 'Check A2 performance',
      kind: 'manual',
      runbook: { section: RUNBOOK.latency, quote: 'If slow: Check A2 performance' },
      description: 'The metadata store is slow or failing: check its disk, or run the backend wizard.',
      branches: { done: 'transport' },
      commands: commands(['curl /health of A2'], ['./cfs gateway preflight', './cfs diagnose backend']),
      run: (ctx) =>
        manual(
          'look at the metadata store: its disk (fsync latency), its free space, or the backend wizard',
          commands(
            ['curl /health of A2'],
            [
              `curl -s ${opsBase(ctx.gw)}/health  # the metadata check`,
              './cfs gateway preflight',
              './cfs diagnose backend',
            ],
            'The metadata backend is embedded SQLite (or PostgreSQL) with no HTTP health of its own: the gateway’s metadata check stands in for it.',
          ),
        ),
    },
    {
      id: 'transport',
      title: 'Transport (A4) round trip',
      kind: 'check',
      runbook: {
        section: RUNBOOK.latency,
        quote: 'Check A4 Transport: RDMA: ibv_devinfo, ibv_stat — TCP: netstat -c, ss -s',
      },
      description: `Times ${PROBES} data-store probes (write, read back, delete). RDMA does not apply: the transport is TCP or a local folder.`,
      branches: { ok: 'network', slow: 'transport-slow', failing: 'transport-slow' },
      async run(ctx) {
        const o = await backendProbe(ctx, 'transport');
        const t = ctx.gw.config.transport;
        const rdma = `RDMA not available: the transport is ${t.kind === 'file' ? `a local folder (${t.path})` : 'S3 over TCP'}, so ibv_devinfo/ibv_stat do not apply; the next step checks TCP retransmits instead`;
        return {
          ...o,
          evidence: [...(o.evidence ?? []), rdma],
          measured: { ...o.measured, rdma: 'not available (TCP transport)' },
        };
      },
    },
    {
      id: 'transport-slow',
      title: 'Check A4 transport',
      kind: 'manual',
      runbook: { section: RUNBOOK.latency, quote: 'TCP: netstat -c, ss -s' },
      description:
        'The data store is slow or failing: check the folder’s disk or the object store, or run the backend wizard.',
      branches: { done: 'network' },
      commands: commands(['ibv_devinfo', 'ibv_stat', 'netstat -c', 'ss -s'], ['./cfs diagnose backend']),
      run: (ctx) =>
        manual(
          'look at the data store: its disk and free space, or the backend wizard',
          commands(
            ['netstat -c', 'ss -s'],
            [
              ...(ctx.gw.config.transport.kind === 'file'
                ? [`df -h ${ctx.gw.config.transport.path}`, `ls -ld ${ctx.gw.config.transport.path}`]
                : []),
              './cfs diagnose backend',
            ],
            'ibv_devinfo and ibv_stat (RDMA) do not apply: the transport is TCP or a local folder.',
          ),
        ),
    },
    {
      id: 'network',
      title: 'Network: TCP retransmits and interface errors',
      kind: 'check',
      runbook: { section: RUNBOOK.latency, quote: 'Check Network: iftop, iperf3 — Check for packet loss' },
      description: `Tcp RetransSegs over OutSegs from /proc/net/snmp across the CPU sample's window; above ${pct(RETRANS_HIGH)} is packet loss. Interface error and drop counters from /proc/net/dev.`,
      branches: { ok: 'cache', loss: 'network-loss', unknown: 'cache' },
      async run(ctx) {
        const s = await host(ctx);
        const ifaces = s.interfaces.map((i) => ({ ...i }));
        const ifaceLines = s.interfaces.map(
          (i) =>
            `${i.name}: rx errors ${i.rxErrors} dropped ${i.rxDropped}, tx errors ${i.txErrors} dropped ${i.txDropped} (+${i.deltaErrors} errors, +${i.deltaDropped} dropped in the window)`,
        );
        if (!s.tcp) {
          return {
            outcome: 'unknown',
            verdict: 'skipped',
            summary: '/proc/net/snmp cannot be read here: TCP retransmits unknown',
            because: 'no counters, no verdict',
            measured: { interfaces: ifaces },
            evidence: ifaceLines,
          };
        }
        const { outSegs, retransSegs, retransRatio } = s.tcp;
        const measured = {
          windowMs: s.windowMs,
          outSegs,
          retransSegs,
          retransRatio,
          threshold: RETRANS_HIGH,
          interfaces: ifaces,
        };
        const line = `TCP: ${retransSegs} of ${outSegs} segments retransmitted in ${s.windowMs} ms${retransRatio === null ? '' : ` (${pct(retransRatio)})`}`;
        const ifaceErrors = s.interfaces.reduce((n, i) => n + i.deltaErrors + i.deltaDropped, 0);
        if (
          ifaceErrors > 0 ||
          (retransRatio !== null && outSegs >= RETRANS_MIN_SEGMENTS && retransRatio > RETRANS_HIGH)
        ) {
          return {
            outcome: 'loss',
            verdict: 'warn',
            summary: `${line}; ${ifaceErrors} interface errors/drops in the window`,
            because:
              ifaceErrors > 0
                ? `${ifaceErrors} interface errors or drops during the sample`
                : `${pct(retransRatio ?? 0)} > ${pct(RETRANS_HIGH)} over ${outSegs} segments`,
            measured,
            evidence: [line, ...ifaceLines],
            finding: `packet loss: ${line}`,
          };
        }
        return {
          outcome: 'ok',
          verdict: 'pass',
          summary: line,
          because:
            outSegs < RETRANS_MIN_SEGMENTS
              ? `only ${outSegs} segments sent in the window (< ${RETRANS_MIN_SEGMENTS}): too few to show loss, and none of the interfaces counted an error`
              : `${pct(retransRatio ?? 0)} ≤ ${pct(RETRANS_HIGH)} and no interface errors`,
          measured,
          evidence: [line, ...ifaceLines],
        };
      },
    },
    {
      id: 'network-loss',
      title: 'Check for packet loss',
      kind: 'manual',
      runbook: { section: RUNBOOK.latency, quote: 'iftop, iperf3 — Check for packet loss' },
      description: 'Retransmits or interface errors: measure the path between clients and the gateway.',
      branches: { done: 'cache' },
      commands: commands(
        ['iftop', 'iperf3', 'netstat -c', 'ss -s'],
        ['ip -s link', 'nstat -az TcpRetransSegs'],
      ),
      run: () =>
        manual(
          'measure the network between clients and this node; look for a congested or erroring link',
          commands(
            ['iftop', 'iperf3 -s  # here; iperf3 -c <gateway> on a client', 'netstat -c', 'ss -s'],
            ['ip -s link', 'nstat -az TcpRetransSegs'],
          ),
        ),
    },
    {
      id: 'cache',
      title: 'Cache miss storm',
      kind: 'check',
      runbook: {
        section: RUNBOOK.latencyCauses,
        quote: 'Cache miss storm: Check gateway_cache_hits_total ratio',
      },
      description: `Hit ratio of the attribute and name caches over the last metrics interval (else since start); under ${pct(CACHE_HIT_LOW)} over ${CACHE_MIN_LOOKUPS}+ lookups is a miss storm.`,
      branches: { ok: 'backend-load', storm: 'cache-storm' },
      run(ctx) {
        const { gw } = ctx;
        const caches = { attributes: gw.ns.nodes, entries: gw.ns.entries };
        const since = Object.fromEntries(
          Object.entries(caches).map(([k, c]) => [k, { hits: c.hits, misses: c.misses, entries: c.size }]),
        );
        const hits = gw.ns.nodes.hits + gw.ns.entries.hits;
        const lookups = hits + gw.ns.nodes.misses + gw.ns.entries.misses;
        const ratio = lookups === 0 ? null : hits / lookups;
        const last = getMetrics(gw).history(60).points.at(-1);
        const measured = {
          sinceStart: since,
          hitRatioSinceStart: ratio,
          lastInterval: last
            ? {
                seconds: last.seconds,
                attributes: last.cacheHitRatio.attributes,
                entries: last.cacheHitRatio.entries,
              }
            : null,
          ttlMs: gw.config.cache.ttlMs,
          maxEntries: gw.config.cache.maxEntries,
          threshold: CACHE_HIT_LOW,
        };
        const line = `hit ratio since start ${ratio === null ? 'n/a (no lookups)' : pct(ratio)} over ${lookups} lookups (cache.ttl ${gw.config.cache.ttlMs} ms, max ${gw.config.cache.maxEntries} entries)`;
        const evidence = [
          line,
          ...Object.entries(since).map(
            ([k, v]) => `${k}: ${v.hits} hits, ${v.misses} misses, ${v.entries} cached`,
          ),
        ];
        if (last)
          evidence.push(
            `last ${last.seconds} s: attributes ${last.cacheHitRatio.attributes === null ? 'n/a' : pct(last.cacheHitRatio.attributes)}, entries ${last.cacheHitRatio.entries === null ? 'n/a' : pct(last.cacheHitRatio.entries)}`,
          );
        if (ratio !== null && lookups >= CACHE_MIN_LOOKUPS && ratio < CACHE_HIT_LOW) {
          return {
            outcome: 'storm',
            verdict: 'warn',
            summary: line,
            because: `${pct(ratio)} < ${pct(CACHE_HIT_LOW)} over ${lookups} lookups: most requests go to the metadata store`,
            measured,
            evidence,
            finding: `cache miss storm: ${pct(ratio)} hits over ${lookups} lookups`,
          };
        }
        return {
          outcome: 'ok',
          verdict: 'pass',
          summary: line,
          because:
            ratio === null || lookups < CACHE_MIN_LOOKUPS
              ? `${lookups} lookups (< ${CACHE_MIN_LOOKUPS}): too few for a miss storm`
              : `${pct(ratio)} ≥ ${pct(CACHE_HIT_LOW)}`,
          measured,
          evidence,
        };
      },
    },
    {
      id: 'cache-storm',
      title: 'Make the caches hold more',
      kind: 'manual',
      runbook: { section: RUNBOOK.latencyCauses, quote: 'Cache miss storm' },
      description:
        'Raise cache.ttl or cache.max_entries (live on SIGHUP), or find the client walking the tree.',
      branches: { done: 'backend-load' },
      commands: commands(
        ['rate(gateway_cache_hits_total[5m])'],
        ['# gateway.yaml: cache: { ttl: 5s, max_entries: 500000 }', 'kill -HUP <gateway pid>'],
      ),
      run: () =>
        manual(
          'raise cache.ttl / cache.max_entries in gateway.yaml and reload (SIGHUP); do not invalidate the caches now, that makes a storm worse',
          commands(
            ['curl -s localhost:8080/metrics | grep gateway_cache'],
            [
              '# gateway.yaml: cache: { ttl: 5s, max_entries: 500000 }',
              `kill -HUP ${process.pid}`,
              'curl -s localhost:8080/admin/connections  # who is busy',
            ],
          ),
        ),
    },
    {
      id: 'backend-load',
      title: 'Backend overload',
      kind: 'check',
      runbook: { section: RUNBOOK.latencyCauses, quote: 'Backend overload: Check A2 metrics' },
      description: 'Circuit states, backend errors over the last minute, and the probes above.',
      branches: { ok: 'pool', overloaded: 'backend-overload' },
      run(ctx) {
        const { gw } = ctx;
        const history = getMetrics(gw).history(60).points;
        const errors = { metadata: 0, transport: 0 };
        for (const p of history) {
          errors.metadata += p.backendErrors.metadata;
          errors.transport += p.backendErrors.transport;
        }
        const circuits = Object.values(gw.ns.breakers).map((b) => b.snapshot());
        const failedProbes = (['metadata', 'transport'] as const).filter((b) =>
          ((ctx.facts.get(`${b}-probes`) as Timed[] | undefined) ?? []).some((r) => !r.ok),
        );
        const measured = {
          circuits: circuits.map((c) => ({
            backend: c.backend,
            state: c.state,
            totalFailures: c.totalFailures,
            lastError: c.lastError?.message ?? null,
          })),
          errorsLastMinute: errors,
          failedProbes,
        };
        const evidence = [
          ...circuits.map(
            (c) =>
              `${c.backend} circuit ${c.state}, ${c.totalFailures} failures since start${c.lastError ? ` (last: ${c.lastError.message})` : ''}`,
          ),
          `backend errors in the last minute: metadata ${errors.metadata}, transport ${errors.transport}`,
        ];
        const notClosed = circuits.filter((c) => c.state !== 'closed');
        if (notClosed.length > 0 || errors.metadata + errors.transport > 0 || failedProbes.length > 0) {
          const why = [
            ...notClosed.map((c) => `${c.backend} circuit ${c.state}`),
            ...(errors.metadata + errors.transport > 0
              ? [`${errors.metadata + errors.transport} backend errors in the last minute`]
              : []),
            ...failedProbes.map((b) => `${b} probe failed`),
          ].join(', ');
          return {
            outcome: 'overloaded',
            verdict: 'fail',
            summary: `a backend is failing: ${why}`,
            because: why,
            measured,
            evidence,
            finding: `backend trouble: ${why}`,
          };
        }
        return {
          outcome: 'ok',
          verdict: 'pass',
          summary: 'both circuits closed, no backend errors in the last minute',
          because: 'no open circuit, no errors',
          measured,
          evidence,
        };
      },
    },
    {
      id: 'backend-overload',
      title: 'Run the backend wizard',
      kind: 'manual',
      runbook: { section: RUNBOOK.latencyCauses, quote: 'Backend overload: Check A2 metrics' },
      description:
        'Circuit states and probes are the backend wizard’s: it shows what recovery will do and when.',
      branches: { done: 'pool' },
      commands: commands(
        ['curl http://meta-1:8080/health'],
        ['./cfs diagnose backend', './cfs gateway preflight'],
      ),
      run: () =>
        manual(
          'the backends are the bottleneck: run the backend wizard',
          commands(
            ['curl http://meta-1:8080/health'],
            ['./cfs diagnose backend', './cfs gateway preflight'],
            'A2 has no HTTP health here; the gateway’s metadata check and preflight stand in for it.',
          ),
        ),
    },
    {
      id: 'pool',
      title: 'Connection pool',
      kind: 'check',
      runbook: {
        section: RUNBOOK.latencyCauses,
        quote: 'Connection pool exhausted: Check active connections',
      },
      description: `Active connections against limits.max_connections; above ${pct(POOL_HIGH)} (the Key Metrics alert) the pool is exhausted.`,
      branches: { ok: null, exhausted: 'pool-exhausted' },
      run(ctx) {
        const { gw } = ctx;
        const active = gw.connections.count();
        const max = gw.connections.maxConnections;
        const refused = Object.fromEntries(gw.connections.refusedBy);
        const ratio = max > 0 ? active / max : 0;
        const measured = {
          active,
          max,
          ratio,
          threshold: POOL_HIGH,
          inFlight: gw.connections.inFlight(),
          refused,
        };
        const line = `${active} of ${max} connections in use (${pct(ratio)}), ${gw.connections.inFlight()} requests in flight; refused since start: ${JSON.stringify(refused)}`;
        if (ratio > POOL_HIGH) {
          return {
            outcome: 'exhausted',
            verdict: 'warn',
            summary: line,
            because: `${pct(ratio)} > ${pct(POOL_HIGH)}`,
            measured,
            evidence: [line],
            finding: `connection pool nearly exhausted: ${active}/${max}`,
          };
        }
        return {
          outcome: 'ok',
          verdict: 'pass',
          summary: line,
          because: `${pct(ratio)} ≤ ${pct(POOL_HIGH)}`,
          measured,
          evidence: [line],
          conclusion:
            'no cause of high latency found on the gateway: CPU, backends, network, caches and connections are within bounds',
        };
      },
    },
    {
      id: 'pool-exhausted',
      title: 'Raise the pool or shed clients',
      kind: 'manual',
      runbook: { section: RUNBOOK.keyMetrics, quote: 'gateway_active_connections > 90% max pool' },
      description: 'Raise limits.max_connections (live on SIGHUP) or find the clients holding connections.',
      branches: { done: null },
      commands: commands(
        ['gateway_active_connections / gateway_max_connections'],
        [
          'sum(gateway_active_connections) / max(gateway_max_connections)   # the whole pool, as this wizard counts it',
          'curl -s localhost:8080/admin/connections',
          '# gateway.yaml: limits: { max_connections: 4096 }',
          'kill -HUP <gateway pid>',
        ],
      ),
      run: (ctx) =>
        manual(
          'raise limits.max_connections and reload, or find the clients that hold idle connections',
          commands(
            ['gateway_active_connections / gateway_max_connections'],
            [
              'sum(gateway_active_connections) / max(gateway_max_connections)   # the whole pool, as this wizard counts it',
              `curl -s ${opsBase(ctx.gw)}/admin/connections`,
              '# gateway.yaml: limits: { max_connections: 4096 }',
              `kill -HUP ${process.pid}`,
            ],
          ),
        ),
    },
  ],
};

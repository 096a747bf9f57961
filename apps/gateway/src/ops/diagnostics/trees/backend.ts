import type { Gateway } from '../../../daemon/gateway.ts';
import type { BreakerSnapshot } from '../../../storage/circuit-breaker.ts';
import { formatSize } from '../../../util/units.ts';
import { backendRoom, type Capacity } from '../../metrics/capacity.ts';
import { checkMetadata, checkTransport } from '../../preflight/backends.ts';
import { fail, type PreflightResult } from '../../preflight/result.ts';
import { offer } from '../actions.ts';
import type { DiagnosisContext, DiagnosticTree } from '../engine.ts';
import { commands, opsBase, pct, RUNBOOK } from './common.ts';

/**
 * Preflight's verdicts are for a gateway about to start, which creates a missing database or
 * data folder; for this running one, missing means moved or deleted.
 */
export function whileRunning(gw: Gateway, r: PreflightResult): PreflightResult {
  if (!/does not exist yet/.test(r.message)) return r;
  const where = r.item === 'metadata' ? gw.config.metadata : gw.config.transport;
  const path = 'path' in where ? where.path : where.url;
  return fail(
    r.item,
    `${where.url}: ${path} is missing although the gateway is running on it: it was moved or deleted`,
  );
}

/** Below this share of its size left a backend's disk is full for the diagnosis (a few blocks are not room). */
const FULL_ROOM = 0.01;
/** The runbook's alert on gateway_backend_capacity_bytes. */
const LOW_ROOM = 0.15;

const share = (c: Capacity) => (c.totalBytes === 0n ? 0 : Number(c.availBytes) / Number(c.totalBytes));

const snapshots = (ctx: DiagnosisContext): BreakerSnapshot[] =>
  Object.values(ctx.gw.ns.breakers).map((b) => b.snapshot());

function describe(c: BreakerSnapshot): string {
  const since = c.openedAt ? ` since ${new Date(c.openedAt).toISOString()}` : '';
  return `${c.backend}: ${c.state}${since}, ${c.consecutiveFailures} consecutive / ${c.totalFailures} total failures${c.lastError ? `, last error: ${c.lastError.message}` : ''}`;
}

export const backendTree: DiagnosticTree = {
  id: 'backend',
  title: 'Backend (A2/A4) failures',
  runbook: { section: RUNBOOK.backend },
  summary:
    'Circuit states, a probe round now, each backend checked directly (the stand-ins for A2’s and A4’s /health), the room left on their disks, and what auto-close will do and when.',
  inputs: [],
  start: 'circuits',
  steps: [
    {
      id: 'circuits',
      title: 'Circuit breakers',
      kind: 'check',
      runbook: {
        section: RUNBOOK.backend,
        quote: 'Circuit breakers will open - requests rejected with error',
      },
      description:
        'Each backend’s breaker: closed, open (requests refused at once with EAGAIN) or half-open (one trial call).',
      branches: { closed: 'probes', open: 'probes' },
      run(ctx) {
        const all = snapshots(ctx);
        const measured = {
          circuits: all.map((c) => ({
            backend: c.backend,
            state: c.state,
            consecutiveFailures: c.consecutiveFailures,
            totalFailures: c.totalFailures,
            lastError: c.lastError?.message ?? null,
            openedAt: c.openedAt ?? null,
            nextProbeAt: c.nextProbeAt ?? null,
          })),
        };
        const open = all.filter((c) => c.state !== 'closed');
        if (open.length > 0) {
          return {
            outcome: 'open',
            verdict: 'fail',
            summary: open.map((c) => `${c.backend} circuit ${c.state}`).join(', '),
            because: open.map((c) => `${c.backend}: ${c.lastError?.message ?? 'failures'}`).join('; '),
            measured,
            evidence: all.map(describe),
            finding: open
              .map(
                (c) =>
                  `${c.backend} circuit ${c.state} (${c.lastError?.message ?? 'failures'}): requests needing it are refused`,
              )
              .join('; '),
          };
        }
        return {
          outcome: 'closed',
          verdict: 'pass',
          summary: 'both circuits closed',
          because: 'no backend has failed repeatedly',
          measured,
          evidence: all.map(describe),
        };
      },
    },
    {
      id: 'probes',
      title: 'Probe both backends now',
      kind: 'check',
      runbook: { section: RUNBOOK.backend },
      description:
        'Runs the health monitor’s probe round at once (through the breakers, so a recovered backend closes its circuit here) and reads /health’s metadata and transport checks.',
      branches: { healthy: 'backend-status', failing: 'backend-status' },
      async run(ctx) {
        await ctx.gw.health.probeAll({ fresh: true });
        const checks = ctx.gw.health
          .report()
          .checks.filter((c) => c.name === 'metadata' || c.name === 'transport');
        const measured = { checks: checks.map((c) => ({ ...c })) };
        const evidence = checks.map(
          (c) => `${c.name}: ${c.status} in ${c.duration_ms} ms${c.message ? ` (${c.message})` : ''}`,
        );
        const bad = checks.filter((c) => c.status !== 'healthy');
        if (bad.length > 0) {
          return {
            outcome: 'failing',
            verdict: 'fail',
            summary: bad.map((c) => `${c.name} ${c.status}: ${c.message}`).join('; '),
            because: 'the probe round failed',
            measured,
            evidence,
          };
        }
        return {
          outcome: 'healthy',
          verdict: 'pass',
          summary: 'metadata and transport probes succeed',
          because: 'both round trips answered',
          measured,
          evidence,
        };
      },
    },
    {
      id: 'backend-status',
      title: 'Check A2 and A4 directly',
      kind: 'check',
      runbook: {
        section: RUNBOOK.backend,
        quote:
          'Check A2 status: curl http://meta-1:8080/health — Check A4 status: curl http://transport-1:8080/health',
      },
      description:
        'A2 and A4 have no HTTP health here: the metadata database is opened and read (PostgreSQL: connected to as the gateway does), and a probe is written, read back and deleted in the data folder or the object store — past the breakers, so the answer is the backend’s own.',
      branches: { up: 'space', down: 'space' },
      commands: commands(
        ['curl http://meta-1:8080/health', 'curl http://transport-1:8080/health'],
        ['./cfs gateway preflight'],
      ),
      async run(ctx) {
        const results = (
          await Promise.all([checkMetadata(ctx.gw.config), checkTransport(ctx.gw.config)])
        ).map((r) => whileRunning(ctx.gw, r));
        const measured = { results: results.map((r) => ({ ...r })) };
        const evidence = results.map((r) => `${r.verdict} ${r.item}: ${r.message}`);
        const cmds = commands(
          ['curl http://meta-1:8080/health', 'curl http://transport-1:8080/health'],
          ['./cfs gateway preflight', `curl -s ${opsBase(ctx.gw)}/health`],
          'A2 and A4 have no HTTP health of their own here: the gateway’s metadata and transport checks and preflight stand in.',
        );
        const down = results.filter((r) => r.verdict === 'FAIL');
        ctx.facts.set(
          'backends-down',
          down.map((r) => r.item),
        );
        if (down.length > 0) {
          return {
            outcome: 'down',
            verdict: 'fail',
            summary: down.map((r) => `${r.item}: ${r.message}`).join('; '),
            because: 'the backend itself fails, not only the circuit',
            measured,
            evidence,
            commands: cmds,
            finding: down.map((r) => `${r.item} backend down: ${r.message}`).join('; '),
          };
        }
        return {
          outcome: 'up',
          verdict: 'pass',
          summary: 'the metadata database answers; the data store takes a write',
          because: 'both backends answer directly',
          measured,
          evidence,
          commands: cmds,
        };
      },
    },
    {
      id: 'space',
      title: 'Room left on the backends’ disks',
      kind: 'check',
      runbook: { section: RUNBOOK.backend },
      description: `The file systems under meta.db and the local data folder, as df reads them. A full one opens no circuit: writes are refused as disk full (NFS3ERR_NOSPC, S3 507, STATUS_DISK_FULL) while reads and deletes go on, and writes resume by themselves once there is room. Below ${LOW_ROOM * 100}% left is the runbook’s alert on gateway_backend_capacity_bytes.`,
      branches: {
        room: 'auto-close',
        low: 'auto-close',
        full: 'auto-close',
        'no figures': 'auto-close',
        'not measured': 'auto-close',
      },
      async run(ctx) {
        const rooms = (
          await Promise.all(
            (['metadata', 'transport'] as const).map((b) => backendRoom(ctx.gw, b, { evenWhenOpen: true })),
          )
        ).filter((r) => r !== undefined);
        const measured = {
          disks: rooms.map((r) => ({
            backend: r.backend,
            folder: r.folder,
            totalBytes: r.room ? Number(r.room.totalBytes) : null,
            availableBytes: r.room ? Number(r.room.availBytes) : null,
          })),
        };
        const cmds = commands(
          [],
          [...new Set(rooms.map((r) => `df -h ${r.folder}`))],
          'A full disk: delete what is no longer needed (over any protocol, or S3 expired versions and unfinished uploads) or grow the file system; the gateway needs no restart.',
        );
        const size = (n: bigint) => formatSize(n);
        const evidence = rooms.map((r) =>
          r.room
            ? `${r.backend}: ${r.folder}: ${size(r.room.availBytes)} of ${size(r.room.totalBytes)} available (${pct(share(r.room))})`
            : `${r.backend}: ${r.folder}: no figures: ${r.problem}`,
        );
        if (rooms.length === 0) {
          return {
            outcome: 'not measured',
            verdict: 'info',
            summary: 'neither backend is on a local file system here (PostgreSQL, an object store)',
            because: 'their room is the database server’s and the object store’s to report',
            measured,
          };
        }
        const full = rooms.filter((r) => r.room && share(r.room) < FULL_ROOM);
        const low = rooms.filter((r) => r.room && share(r.room) < LOW_ROOM && !full.includes(r));
        const silent = rooms.filter((r) => !r.room);
        const line = (r: (typeof rooms)[number]) =>
          `${r.backend} disk ${r.folder}: ${size(r.room!.availBytes)} of ${size(r.room!.totalBytes)} left`;
        if (full.length > 0) {
          return {
            outcome: 'full',
            verdict: 'fail',
            summary: full.map((r) => `${line(r)}: full`).join('; '),
            because: 'writes needing that disk are refused as disk full until room is freed',
            measured,
            evidence,
            commands: cmds,
            finding: full
              .map(
                (r) =>
                  `${line(r)}: full — writes are refused as disk full, reads and deletes go on; free room there and writes resume by themselves`,
              )
              .join('; '),
          };
        }
        if (low.length > 0 || silent.length > 0) {
          return {
            outcome: low.length > 0 ? 'low' : 'no figures',
            verdict: 'warn',
            summary: [
              ...low.map((r) => `${line(r)} (under ${LOW_ROOM * 100}%)`),
              ...silent.map((r) => `${r.backend} disk ${r.folder}: no figures: ${r.problem}`),
            ].join('; '),
            because:
              low.length > 0
                ? 'the disk fills up: when it is full, writes are refused'
                : 'the file system gave no figures (a folder gone, or a disk that does not answer: ./cfs diagnose unresponsive)',
            measured,
            evidence,
            commands: cmds,
            finding: low.map((r) => `${line(r)}: under ${LOW_ROOM * 100}%`).join('; ') || undefined,
          };
        }
        return {
          outcome: 'room',
          verdict: 'pass',
          summary: rooms.map((r) => `${r.backend} ${pct(share(r.room!))} free`).join(', '),
          because: `every backend disk has more than ${LOW_ROOM * 100}% left`,
          measured,
          evidence,
          commands: cmds,
        };
      },
    },
    {
      id: 'auto-close',
      title: 'What auto-close will do, and when',
      kind: 'action',
      runbook: { section: RUNBOOK.backend, quote: 'After recovery, circuits auto-close' },
      description:
        'An open circuit lets the next background probe through after reset_timeout (the half-open trial): a backend that answers closes it with no client traffic; one that fails opens it for another reset_timeout.',
      branches: { closed: null, 'will close': null, 'stays open': null },
      run(ctx) {
        const now = Date.now();
        const { resetTimeoutMs, failureThreshold } = ctx.gw.config.circuitBreaker;
        const probeMs = ctx.gw.config.health.probeIntervalMs;
        const down = (ctx.facts.get('backends-down') as string[] | undefined) ?? [];
        const open = snapshots(ctx).filter((c) => c.state !== 'closed');
        const measured = {
          now,
          resetTimeoutMs,
          failureThreshold,
          probeIntervalMs: probeMs,
          circuits: open.map((c) => ({
            backend: c.backend,
            state: c.state,
            nextProbeAt: c.nextProbeAt ?? null,
            inMs: c.nextProbeAt ? Math.max(0, c.nextProbeAt - now) : null,
          })),
        };
        if (open.length === 0) {
          return {
            outcome: 'closed',
            verdict: 'pass',
            summary: 'every circuit is closed: nothing to recover',
            because: 'no open circuit',
            measured,
            conclusion: 'the metadata and transport backends answer and both circuits are closed',
          };
        }
        const evidence = open.map((c) => {
          const at = c.nextProbeAt ? new Date(c.nextProbeAt).toISOString() : 'now';
          const within = c.nextProbeAt ? Math.max(0, c.nextProbeAt - now) + probeMs : probeMs;
          return down.includes(c.backend)
            ? `${c.backend}: the trial after ${at} will fail while the backend is down, and the circuit opens again for ${resetTimeoutMs} ms; it closes by itself within ${probeMs} ms of the first probe after recovery`
            : `${c.backend}: the backend answers again: the background probe after ${at} (within ~${within} ms) closes the circuit by itself`;
        });
        const actions = open.map((c) =>
          offer(
            ctx.gw,
            { action: 'circuit.reset', backend: c.backend },
            `Reset the ${c.backend} circuit`,
            down.includes(c.backend)
              ? `Close the ${c.backend} circuit now? The backend still fails: ${failureThreshold} more failures open it again.`
              : `Close the ${c.backend} circuit now instead of waiting for the next probe?`,
          ),
        );
        const stuck = open.filter((c) => down.includes(c.backend));
        return {
          outcome: stuck.length > 0 ? 'stays open' : 'will close',
          verdict: stuck.length > 0 ? 'fail' : 'warn',
          summary: evidence.join('; '),
          because:
            stuck.length > 0
              ? `${stuck.map((c) => c.backend).join(', ')} still fails its direct check`
              : 'the backend answers: only the trial probe is left',
          measured,
          evidence,
          actions,
          commands: commands(
            [],
            open.map(
              (c) =>
                actions.find(
                  (a) =>
                    a.request.action === 'circuit.reset' &&
                    'backend' in a.request &&
                    a.request.backend === c.backend,
                )!.cli,
            ),
          ),
          finding:
            stuck.length > 0
              ? `${stuck.map((c) => c.backend).join(', ')} stays open until the backend recovers; then it closes by itself`
              : `${open.map((c) => c.backend).join(', ')} will close at the next probe`,
        };
      },
    },
  ],
};

import { runningGatewayPid } from '../../../daemon/pid-file.ts';
import { offer } from '../actions.ts';
import type { DiagnosticTree } from '../engine.ts';
import { listenerEndpoints, sampleEventLoop, tcpProbe } from '../probes.ts';
import { commands, manual, ms, opsBase, RUNBOOK } from './common.ts';

/**
 * p99 event-loop delay above this stalls every protocol at once: NFS clients start to
 * retransmit and S3 SDKs time out long before the health check's own 500 ms mark.
 */
export const LAG_HIGH_MS = 100;

const PROBLEMS = 'unresponsive-problems';

function problems(facts: Map<string, unknown>): string[] {
  let list = facts.get(PROBLEMS) as string[] | undefined;
  if (!list) {
    list = [];
    facts.set(PROBLEMS, list);
  }
  return list;
}

export const unresponsiveTree: DiagnosticTree = {
  id: 'unresponsive',
  title: 'Gateway unresponsive',
  runbook: { section: RUNBOOK.unresponsive },
  summary:
    'The process answers; event-loop delay (a stuck loop is a deadlock here); every listener accepts; debug logging on and off at runtime; restart as the last resort.',
  inputs: [],
  start: 'process',
  steps: [
    {
      id: 'process',
      title: 'Is the process up?',
      kind: 'check',
      runbook: {
        section: RUNBOOK.unresponsive,
        quote: 'Check process status: ps aux | grep claudefs-gateway',
      },
      description: 'The gateway answered this request; its PID, uptime and memory, and the PID file.',
      branches: { up: 'event-loop' },
      run(ctx) {
        const mem = process.memoryUsage();
        const pidFile = runningGatewayPid(ctx.gw.config.stateDir);
        const measured = {
          pid: process.pid,
          title: process.title,
          uptimeSeconds: Math.round(process.uptime()),
          rssMb: Math.round(mem.rss / 2 ** 20),
          heapUsedMb: Math.round(mem.heapUsed / 2 ** 20),
          pidFile: pidFile ?? null,
          nodeVersion: process.version,
        };
        const line = `PID ${process.pid} (${process.title}) up ${measured.uptimeSeconds} s, RSS ${measured.rssMb} MiB, heap ${measured.heapUsedMb} MiB; ${ctx.gw.config.stateDir}/gateway.pid says ${pidFile ?? 'nothing'}`;
        return {
          outcome: 'up',
          verdict: 'pass',
          summary: line,
          because: 'it answered this request',
          measured,
          evidence: [line],
          commands: commands(
            ['ps aux | grep claudefs-gateway'],
            [`ps -o pid,etime,rss,pcpu,args -p ${process.pid}`],
          ),
        };
      },
    },
    {
      id: 'event-loop',
      title: 'Event-loop delay (deadlock check)',
      kind: 'check',
      runbook: { section: RUNBOOK.unresponsive, quote: 'Check for deadlocks' },
      description: `Event-loop delay sampled for about a second (perf_hooks): every protocol runs on this loop, so p99 above ${LAG_HIGH_MS} ms is a stall felt by every client. Requests in flight are listed.`,
      branches: { ok: 'listeners', lagging: 'listeners' },
      async run(ctx) {
        const lag = await sampleEventLoop(ctx.options.sampleMs);
        const busy = ctx.gw.connections
          .list()
          .filter((c) => c.inFlight > 0)
          .map((c) => ({
            id: c.id,
            protocol: c.protocol,
            remote: `${c.remoteAddress}:${c.remotePort}`,
            inFlight: c.inFlight,
            op: c.currentOp ?? null,
          }));
        const measured = {
          ...lag,
          thresholdMs: LAG_HIGH_MS,
          inFlight: ctx.gw.connections.inFlight(),
          busyConnections: busy,
        };
        const line = `event-loop delay over ${lag.windowMs} ms: p50 ${ms(lag.p50Ms)}, p99 ${ms(lag.p99Ms)}, max ${ms(lag.maxMs)}`;
        const evidence = [
          line,
          `${ctx.gw.connections.inFlight()} requests in flight`,
          ...busy.map((b) => `${b.protocol} ${b.remote}: ${b.inFlight} in flight (${b.op ?? '?'})`),
        ];
        if (lag.p99Ms > LAG_HIGH_MS) {
          problems(ctx.facts).push('event loop stalled');
          return {
            outcome: 'lagging',
            verdict: 'fail',
            summary: line,
            because: `p99 ${ms(lag.p99Ms)} > ${LAG_HIGH_MS} ms: something holds the loop (a synchronous call, a tight loop)`,
            measured,
            evidence,
            finding: `the event loop stalls (p99 ${ms(lag.p99Ms)}, max ${ms(lag.maxMs)}): every client waits on it; turn on debug logging to see what runs`,
          };
        }
        return {
          outcome: 'ok',
          verdict: 'pass',
          summary: line,
          because: `p99 ${ms(lag.p99Ms)} ≤ ${LAG_HIGH_MS} ms: no stall`,
          measured,
          evidence,
        };
      },
    },
    {
      id: 'listeners',
      title: 'Does every listener accept?',
      kind: 'check',
      runbook: { section: RUNBOOK.unresponsive },
      description:
        'A TCP connect to every socket the gateway listens on; a draining gateway refuses new connections on purpose.',
      branches: { accepting: 'debug-logging', refusing: 'debug-logging', draining: 'debug-logging' },
      async run(ctx) {
        const targets = listenerEndpoints(ctx.gw);
        const probes = await Promise.all(
          targets.map(async (t) => ({ ...t, ...(await tcpProbe(t.host, t.port)) })),
        );
        const measured = {
          draining: ctx.gw.draining,
          listeners: probes.map((p) => ({
            name: p.name,
            target: `${p.host}:${p.port}`,
            ok: p.ok,
            ms: p.ms,
            error: p.error ?? null,
          })),
        };
        const evidence = probes.map(
          (p) => `${p.name} ${p.host}:${p.port}: ${p.ok ? `accepts (${ms(p.ms)})` : `FAILED: ${p.error}`}`,
        );
        if (ctx.gw.draining) {
          problems(ctx.facts).push('draining');
          return {
            outcome: 'draining',
            verdict: 'warn',
            summary: 'the gateway is draining: listeners refuse new connections on purpose',
            because: 'a drain is in force (./cfs gateway drain)',
            measured,
            evidence,
            actions: [
              offer(
                ctx.gw,
                { action: 'undrain' },
                'Resume serving (undrain)',
                'Undrain: listeners accept new connections again?',
              ),
            ],
            finding: 'the gateway is draining: new clients are refused until ./cfs gateway undrain',
          };
        }
        const failed = probes.filter((p) => !p.ok);
        if (failed.length > 0) {
          problems(ctx.facts).push('listener refusing');
          return {
            outcome: 'refusing',
            verdict: 'fail',
            summary: `${failed.map((f) => f.name).join(', ')} do not accept connections`,
            because: failed.map((f) => `${f.name}: ${f.error}`).join('; '),
            measured,
            evidence,
            finding: `listeners not accepting: ${failed.map((f) => `${f.name} (${f.error})`).join(', ')}`,
          };
        }
        return {
          outcome: 'accepting',
          verdict: 'pass',
          summary: `all ${probes.length} listeners accept connections`,
          because: 'every connect succeeded',
          measured,
          evidence,
        };
      },
    },
    {
      id: 'debug-logging',
      title: 'Debug logging, at runtime',
      kind: 'action',
      runbook: { section: RUNBOOK.unresponsive, quote: 'Enable debug mode: Add to config: log_level: debug' },
      description: 'Switch the running gateway to debug (no reload) to see what it is doing, then back.',
      branches: { problems: 'restart', healthy: null },
      run(ctx) {
        const current = ctx.gw.log.level;
        const back = current === 'debug' ? ctx.gw.config.logLevel : current;
        const actions = [
          ...(current === 'debug'
            ? []
            : [
                offer(
                  ctx.gw,
                  { action: 'log-level.set', level: 'debug' },
                  'Switch to debug logging',
                  `Switch the running gateway from ${current} to debug logging? (verbose; switch back when done)`,
                ),
              ]),
          ...(back !== 'debug'
            ? [
                offer(
                  ctx.gw,
                  { action: 'log-level.set', level: back as 'info' | 'warn' | 'error' },
                  `Switch back to ${back}`,
                  `Switch the running gateway's log level back to ${back}?`,
                ),
              ]
            : []),
        ];
        const found = problems(ctx.facts);
        return manual(
          `log level is ${current}: switch to debug to watch what the gateway does, and back to ${back} afterwards`,
          commands(
            ['# Add to config: log_level: debug'],
            [
              './cfs gateway log-level debug',
              `./cfs gateway log-level ${back}`,
              `kill -HUP ${process.pid}  # re-reads log_level from the file`,
            ],
          ),
          {
            outcome: found.length > 0 ? 'problems' : 'healthy',
            actions,
            measured: { level: current, configured: ctx.gw.config.logLevel },
            conclusion:
              'the gateway is up, its event loop is not stalled and every listener accepts: an unresponsive client is blocked elsewhere (network, firewall: ./cfs diagnose connection)',
          },
        );
      },
    },
    {
      id: 'restart',
      title: 'If stuck, restart',
      kind: 'manual',
      runbook: {
        section: RUNBOOK.unresponsive,
        quote: 'If stuck, restart: sudo systemctl restart claudefs-gateway',
      },
      description: 'A restart loses nothing acknowledged; drain first when clients can be moved.',
      branches: { done: null },
      commands: commands(['sudo systemctl restart claudefs-gateway']),
      run: (ctx) =>
        manual(
          'if the loop stays stuck with debug logging on, restart: nothing acknowledged is lost',
          commands(
            ['sudo systemctl restart claudefs-gateway'],
            [
              './cfs gateway drain --timeout 30s',
              `kill ${process.pid}  # without systemd: SIGTERM stops cleanly`,
              `curl -s ${opsBase(ctx.gw)}/health`,
            ],
          ),
          {
            actions: [
              offer(
                ctx.gw,
                { action: 'drain' },
                'Drain before restarting',
                'Drain this gateway? Listeners refuse new connections; open ones keep being served.',
              ),
            ],
          },
        ),
    },
  ],
};

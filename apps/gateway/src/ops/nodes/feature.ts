import { hostname } from 'node:os';
import type { ListenAddress } from '../../config/types.ts';
import { type NodeBeatState, NodeHeartbeat } from '../../control/node-heartbeat.ts';
import type { DrainRequest, ReloadRequest } from '../../control/nodes.ts';
import { reloadFromFile } from '../../daemon/config-reload.ts';
import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { drainControllerOf } from '../drain/feature.ts';
import { DRAINING, worst } from '../health.ts';
import { gatewayVersion } from './version.ts';

const heartbeats = new WeakMap<Gateway, NodeHeartbeat>();

/** This gateway's heartbeat, once the nodes feature has started. */
export function nodeHeartbeatOf(gw: Gateway): NodeHeartbeat | undefined {
  return heartbeats.get(gw);
}

/** host:port others can reach: a wildcard bind is advertised under this host's name. */
export function advertisedAddress(bind: ListenAddress): string {
  const host = bind.host === '0.0.0.0' || bind.host === '::' ? hostname() : bind.host;
  return host.includes(':') ? `[${host}]:${bind.port}` : `${host}:${bind.port}`;
}

/**
 * This node's health as the registry shows it: /health's verdict without the drain override
 * (drain/feature.ts reports the gateway and protocol checks as `draining`), because the
 * registry shows drain on its own; `starting` until the daemon has opened its listeners.
 */
function nodeState(gw: Gateway): NodeBeatState {
  const since = drainControllerOf(gw)?.status().since ?? null;
  const load = {
    // Every reload since start, whoever asked (SIGHUP, admin API, console, a registry request).
    lastReload: gw.lastReload ?? null,
    draining: gw.draining,
    drainingSince: gw.draining && since ? new Date(since) : null,
    activeConnections: gw.connections.count(),
    requestsInFlight: gw.connections.inFlight(),
  };
  if (!gw.listeners.some((l) => l.name === 'health')) return { status: 'starting', ...load };
  const checks = gw.health.report().checks.filter((c) => c.message !== DRAINING);
  return { status: worst(checks.map((c) => c.status)), ...load };
}

/**
 * A drain request from the control plane, carried out exactly as `./cfs gateway drain` (POST
 * /admin/drain) would: the same controller, the same log lines, plus one naming who asked, and
 * an audit entry for what this node did.
 */
async function carryOutDrainRequest(gw: Gateway, request: DrainRequest): Promise<void> {
  const log = gw.log.child({ feature: 'nodes' });
  const afterMs = Date.now() - request.requestedAt.getTime();
  const audit = (outcome: 'ok' | 'error', extra: Record<string, unknown>) =>
    void gw.control.audit
      .record({
        actor: request.requestedBy,
        action: request.action === 'drain' ? 'gateway.drain' : 'gateway.undrain',
        target: `node:${gw.config.node.name}`,
        outcome,
        detail: {
          via: 'control plane request',
          requestedAt: request.requestedAt.toISOString(),
          afterMs,
          ...extra,
        },
      })
      .catch((err: unknown) => log.warn({ err }, 'could not audit a drain request carried out'));
  try {
    const controller = drainControllerOf(gw);
    if (!controller) throw new Error('the drain feature is not running');
    // The beat that settles the request reports the node as it then is: listeners stopped (or
    // resumed) and probed again, as the answer to ./cfs gateway drain waits for.
    const s = await controller.apply(request.action);
    log.info(
      { requestedBy: request.requestedBy, afterMs, connections: s.connections },
      `node registry: ${request.action === 'drain' ? 'draining' : 'undrained'} as ${request.requestedBy} asked through the control plane ${afterMs} ms ago`,
    );
    audit('ok', { connections: s.connections, inFlight: s.inFlight });
  } catch (e) {
    audit('error', { error: (e as Error).message });
    throw e;
  }
}

/**
 * A reload request from the control plane, carried out as SIGHUP would (the report goes into the
 * registry with the beat that settles it), with a log line and an audit entry naming who asked.
 */
async function carryOutReloadRequest(gw: Gateway, request: ReloadRequest): Promise<void> {
  const afterMs = Date.now() - request.requestedAt.getTime();
  gw.log
    .child({ feature: 'nodes' })
    .info(
      { requestedBy: request.requestedBy, afterMs },
      `node registry: reloading the configuration as ${request.requestedBy} asked through the control plane ${afterMs} ms ago`,
    );
  const report = await reloadFromFile(gw, `control plane request by ${request.requestedBy}`);
  await gw.control.audit
    .record({
      actor: request.requestedBy,
      action: 'gateway.config.reload',
      target: `node:${gw.config.node.name}`,
      outcome: report.ok ? 'ok' : 'error',
      detail: report.ok
        ? { via: 'control plane request', applied: report.applied, pendingRestart: report.pendingRestart }
        : { via: 'control plane request', problems: report.problems },
    })
    .catch((err: unknown) => gw.log.warn({ err }, 'could not audit a reload request carried out'));
}

/**
 * The node registry: register at start, heartbeat every node.heartbeat_interval (carrying out
 * drain requests found there), `stopped` at stop.
 */
export const nodesFeature: Feature = {
  name: 'nodes',
  async start(gw) {
    const log = gw.log.child({ feature: 'nodes' });
    const heartbeat = new NodeHeartbeat({
      nodes: gw.control.nodes,
      identity: {
        name: gw.config.node.name,
        address: advertisedAddress(gw.config.health.bind),
        version: gatewayVersion(),
        heartbeatIntervalMs: gw.config.node.heartbeatIntervalMs,
      },
      state: () => nodeState(gw),
      carryOut: (request) => carryOutDrainRequest(gw, request),
      reload: (request) => carryOutReloadRequest(gw, request),
      log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
    });
    heartbeats.set(gw, heartbeat);
    await heartbeat.start();
  },
  reload(gw) {
    heartbeats.get(gw)?.reconfigure(gw.config.node.heartbeatIntervalMs);
  },
  async stop(gw) {
    await heartbeats.get(gw)?.stop();
    heartbeats.delete(gw);
  },
};

import { hostname } from 'node:os';
import type { ListenAddress } from '../../config/types.ts';
import { NodeHeartbeat } from '../../control/node-heartbeat.ts';
import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { worst } from '../health.ts';
import { gatewayVersion } from './version.ts';

const heartbeats = new WeakMap<Gateway, NodeHeartbeat>();

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
function nodeState(gw: Gateway) {
  if (!gw.listeners.some((l) => l.name === 'health'))
    return { status: 'starting' as const, draining: gw.draining };
  const checks = gw.health.report().checks.filter((c) => c.message !== 'draining');
  return { status: worst(checks.map((c) => c.status)), draining: gw.draining };
}

/** The node registry: register at start, heartbeat every node.heartbeat_interval, `stopped` at stop. */
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

import type { GatewayControl } from '@claudefs/api';
import type { Gateway } from '../../daemon/gateway.ts';
import { Cluster } from '../nodes/cluster.ts';

type NodesControl = Pick<
  GatewayControl,
  | 'nodes'
  | 'requestNodeDrain'
  | 'requestNodeReload'
  | 'rollingRestartStatus'
  | 'startRollingRestart'
  | 'cancelRollingRestart'
>;

/** The node registry, drain requests to any node and the rolling-restart walk (ops/nodes/cluster.ts). */
export function nodesControl(gw: Gateway): NodesControl {
  const cluster = new Cluster(gw);
  return {
    nodes: () => cluster.nodes(),
    requestNodeDrain: (name, action, requestedBy) => cluster.requestDrain(name, action, requestedBy),
    requestNodeReload: (name, requestedBy) => cluster.requestReload(name, requestedBy),
    rollingRestartStatus: () => cluster.rollingRestartStatus(),
    startRollingRestart: (startedBy) => cluster.startRollingRestart(startedBy),
    cancelRollingRestart: (cancelledBy) => cluster.cancelRollingRestart(cancelledBy),
  };
}

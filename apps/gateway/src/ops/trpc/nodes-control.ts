import type { GatewayControl, NodeView } from '@claudefs/api';
import { nodeJson } from '../../control/index.ts';
import type { Gateway } from '../../daemon/gateway.ts';

/** The node registry as this gateway's control plane holds it; `self` marks this node. */
export function nodesControl(gw: Gateway): Pick<GatewayControl, 'nodes'> {
  return {
    nodes: async () =>
      (await gw.control.nodes.view()).map(
        (n): NodeView => ({ ...nodeJson(n), self: n.name === gw.config.node.name }),
      ),
  };
}

import { router, viewerProcedure } from '../trpc.ts';
import type { NodeView } from '../types/nodes.ts';

/** The node registry: every gateway sharing this control plane, with health and drain state. */
export const nodesRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<NodeView[]> => ctx.control.nodes()),
});

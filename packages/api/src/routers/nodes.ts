import { z } from 'zod';
import { actorOf, field, operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type { NodeView } from '../types/nodes.ts';

/** A node.name: what `./cfs gateway nodes` lists. */
export const nodeInput = z.object({
  name: z
    .string()
    .min(1, 'name the node')
    .max(255)
    .regex(/^[A-Za-z0-9._-]+$/, 'a node name is letters, digits, . _ -'),
});

const nodeTarget = (i: Record<string, unknown>) => `node:${field(i, 'name')}`;

/**
 * The node registry: every gateway sharing this control plane, with health and drain state.
 * A node can only drain itself, so drain and undrain leave a request in the control plane that
 * the named node carries out at its next heartbeat (node.heartbeat_interval).
 */
export const nodesRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<NodeView[]> => ctx.control.nodes()),
  drain: operatorProcedure
    .meta({ audit: { action: 'nodes.drain', target: nodeTarget } })
    .input(nodeInput)
    .mutation(
      ({ ctx, input }): Promise<NodeView> =>
        ctx.control.requestNodeDrain(input.name, 'drain', ctx.session ? actorOf(ctx.session) : 'anonymous'),
    ),
  undrain: operatorProcedure
    .meta({ audit: { action: 'nodes.undrain', target: nodeTarget } })
    .input(nodeInput)
    .mutation(
      ({ ctx, input }): Promise<NodeView> =>
        ctx.control.requestNodeDrain(input.name, 'undrain', ctx.session ? actorOf(ctx.session) : 'anonymous'),
    ),
  /** The node reads its configuration file again at its next heartbeat, as SIGHUP would. */
  reload: operatorProcedure
    .meta({ audit: { action: 'nodes.reload', target: nodeTarget } })
    .input(nodeInput)
    .mutation(
      ({ ctx, input }): Promise<NodeView> =>
        ctx.control.requestNodeReload(input.name, ctx.session ? actorOf(ctx.session) : 'anonymous'),
    ),
});

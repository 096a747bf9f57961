import { router, viewerProcedure } from '../trpc.ts';
import type { ConnectionsReport } from '../types/ops.ts';

/** Every client connection across protocols, against limits.max_connections. */
export const connectionsRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<ConnectionsReport> => ctx.control.connections()),
});

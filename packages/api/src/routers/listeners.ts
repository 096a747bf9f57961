import { router, viewerProcedure } from '../trpc.ts';
import type { ListenerView } from '../types/ops.ts';

/** Where each protocol actually listens: the addresses clients must reach. */
export const listenersRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<ListenerView[]> => ctx.control.listeners()),
});

import { operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type { DrainStatus } from '../types/ops.ts';

/** Maintenance drain: listeners stop accepting, open connections finish their work. */
export const drainRouter = router({
  status: viewerProcedure.query(({ ctx }): Promise<DrainStatus> => ctx.control.drainStatus()),
  drain: operatorProcedure
    .meta({ audit: { action: 'gateway.drain', target: () => 'gateway' } })
    .mutation(({ ctx }): Promise<DrainStatus> => ctx.control.drain()),
  undrain: operatorProcedure
    .meta({ audit: { action: 'gateway.undrain', target: () => 'gateway' } })
    .mutation(({ ctx }): Promise<DrainStatus> => ctx.control.undrain()),
});

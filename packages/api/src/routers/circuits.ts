import { z } from 'zod';
import { field, operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type { CircuitsReport, CircuitView } from '../types/ops.ts';

export const resetInput = z.object({ backend: z.enum(['metadata', 'transport']) });

/** The backends' circuit breakers; an operator may close one by hand. */
export const circuitsRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<CircuitsReport> => ctx.control.circuits()),
  reset: operatorProcedure
    .meta({ audit: { action: 'circuits.reset', target: (i) => `circuit:${field(i, 'backend')}` } })
    .input(resetInput)
    .mutation(({ ctx, input }): Promise<CircuitView> => ctx.control.resetCircuit(input.backend)),
});

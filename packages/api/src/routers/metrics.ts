import { z } from 'zod';
import { router, viewerProcedure } from '../trpc.ts';
import { METRICS_WINDOWS, type MetricsHistory, type MetricsSnapshot } from '../types/metrics.ts';

export const historyInput = z.object({
  window: z.enum(Object.keys(METRICS_WINDOWS) as [keyof typeof METRICS_WINDOWS]).default('15m'),
});

/** What the console charts (5 s samples over 15 min or 1 h) and its headline numbers. */
export const metricsRouter = router({
  history: viewerProcedure
    .input(historyInput)
    .query(
      ({ ctx, input }): Promise<MetricsHistory> => ctx.control.metricsHistory(METRICS_WINDOWS[input.window]),
    ),
  snapshot: viewerProcedure.query(({ ctx }): Promise<MetricsSnapshot> => ctx.control.metricsSnapshot()),
});

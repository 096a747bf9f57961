import { publicProcedure } from '../trpc.ts';
import type { HealthReport } from '../types/health.ts';

/** The gateway's health report, as served on /health; public like /health. */
export const health = publicProcedure.query(({ ctx }): Promise<HealthReport> => ctx.control.health());

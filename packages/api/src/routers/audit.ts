import { z } from 'zod';
import { router, viewerProcedure } from '../trpc.ts';
import type { AuditPage } from '../types/audit.ts';

export const auditQueryInput = z
  .object({
    actor: z.string().min(1).max(200).optional(),
    /** Entries whose action contains this text, case aside. */
    action: z.string().min(1).max(200).optional(),
    outcome: z.enum(['ok', 'denied', 'error']).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    beforeId: z.number().int().positive().optional(),
    limit: z.number().int().min(1).max(500).default(50),
  })
  .refine(
    (q) => q.since === undefined || q.until === undefined || Date.parse(q.since) <= Date.parse(q.until),
    {
      message: 'since must not be after until',
      path: ['since'],
    },
  )
  .default({ limit: 50 });

/** Who did what, when, with what outcome: newest first, paged by id. */
export const auditRouter = router({
  list: viewerProcedure
    .input(auditQueryInput)
    .query(({ ctx, input }): Promise<AuditPage> => ctx.control.auditLog(input)),
});

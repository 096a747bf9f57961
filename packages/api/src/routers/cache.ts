import { z } from 'zod';
import { id } from '../schemas.ts';
import { field, operatorProcedure, router } from '../trpc.ts';
import type { CacheInvalidation } from '../types/ops.ts';

export const invalidateInput = z.discriminatedUnion('scope', [
  z.object({ scope: z.literal('all') }),
  z.object({
    scope: z.literal('path'),
    path: z.string().startsWith('/', 'path must be an absolute namespace path (/export/…)').max(4096),
  }),
  z.object({ scope: z.literal('uid'), uid: id('uid') }),
]);

/** Drops cached attributes and names, with counts and the hit ratio before and after. */
export const cacheRouter = router({
  invalidate: operatorProcedure
    .meta({
      audit: {
        action: 'cache.invalidate',
        target: (i) =>
          field(i, 'scope') === 'path'
            ? `path:${field(i, 'path')}`
            : field(i, 'scope') === 'uid'
              ? `uid=${field(i, 'uid')}`
              : 'all',
      },
    })
    .input(invalidateInput)
    .mutation(({ ctx, input }): Promise<CacheInvalidation> => ctx.control.invalidateCache(input)),
});

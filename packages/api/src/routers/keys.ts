import { z } from 'zod';
import { accountName } from '../schemas.ts';
import { adminProcedure, field, router, viewerProcedure } from '../trpc.ts';
import type { CreatedS3Key, S3KeyView } from '../types/identity.ts';

export const listKeysInput = z.object({ user: accountName('user').optional() }).optional();
export const createKeyInput = z.object({ user: accountName('user') });
export const revokeKeyInput = z.object({
  accessKeyId: z.string().regex(/^[A-Za-z0-9]{16,128}$/, 'an access key id is 16 to 128 letters and digits'),
});

/** S3 access keys. A new key's secret is in `create`'s result only, never shown again. */
export const keysRouter = router({
  list: viewerProcedure
    .input(listKeysInput)
    .query(({ ctx, input }): Promise<S3KeyView[]> => ctx.control.listKeys(input?.user)),
  create: adminProcedure
    .meta({ audit: { action: 'user.key.create', target: (i) => `user:${field(i, 'user')}` } })
    .input(createKeyInput)
    .mutation(({ ctx, input }): Promise<CreatedS3Key> => ctx.control.createKey(input.user)),
  revoke: adminProcedure
    .meta({ audit: { action: 'user.key.revoke', target: (i) => `s3key:${field(i, 'accessKeyId')}` } })
    .input(revokeKeyInput)
    .mutation(({ ctx, input }): Promise<S3KeyView> => ctx.control.revokeKey(input.accessKeyId)),
});

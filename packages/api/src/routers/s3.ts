import { z } from 'zod';
import { actorOf, field, operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type {
  BucketUsageView,
  BucketView,
  LifecycleSweepView,
  LifecycleView,
  UploadAbortView,
  UploadView,
} from '../types/s3.ts';

/** S3 buckets, with their owners, settings and usage; lifecycle rules and a sweep on demand. */
export const s3Router = router({
  buckets: viewerProcedure.query(({ ctx }): Promise<BucketView[]> => ctx.control.s3Buckets()),
  bucketUsage: viewerProcedure
    .input(z.object({ bucket: z.string().min(3).max(63) }))
    .query(({ ctx, input }): Promise<BucketUsageView> => ctx.control.s3BucketUsage(input.bucket)),
  uploads: viewerProcedure.query(({ ctx }): Promise<UploadView[]> => ctx.control.s3Uploads()),
  abortUpload: operatorProcedure
    .meta({ audit: { action: 's3.upload.abort', target: (i) => `upload:${field(i, 'uploadId')}` } })
    .input(z.object({ uploadId: z.string().regex(/^[0-9a-f]{32}$/, 'an upload id is 32 hex digits') }))
    .mutation(
      ({ ctx, input }): Promise<UploadAbortView> =>
        ctx.control.abortS3Upload(input.uploadId, ctx.session ? actorOf(ctx.session) : 'anonymous'),
    ),
  lifecycle: viewerProcedure.query(({ ctx }): Promise<LifecycleView> => ctx.control.s3Lifecycle()),
  runLifecycle: operatorProcedure
    .meta({ audit: { action: 's3.lifecycle.run', target: () => 's3.lifecycle' } })
    .mutation(({ ctx }): Promise<LifecycleSweepView> => ctx.control.runS3Lifecycle()),
});

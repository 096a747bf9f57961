import { operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type { LifecycleSweepView, LifecycleView } from '../types/s3.ts';

/** S3 bucket lifecycle rules: what each bucket's rules do, and a sweep on demand. */
export const s3Router = router({
  lifecycle: viewerProcedure.query(({ ctx }): Promise<LifecycleView> => ctx.control.s3Lifecycle()),
  runLifecycle: operatorProcedure
    .meta({ audit: { action: 's3.lifecycle.run', target: () => 's3.lifecycle' } })
    .mutation(({ ctx }): Promise<LifecycleSweepView> => ctx.control.runS3Lifecycle()),
});

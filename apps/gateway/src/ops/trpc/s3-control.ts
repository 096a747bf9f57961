import type { GatewayControl, LifecycleView } from '@claudefs/api';
import { TRPCError } from '@trpc/server';
import type { Gateway } from '../../daemon/gateway.ts';
import { lifecycleSweeperOf, s3ServerOf } from '../../protocols/s3/admin-route.ts';

/** The console's view of S3 lifecycle rules: the same sweeper `./cfs s3 lifecycle` reads. */
export function s3Control(
  gw: Gateway,
): Pick<
  GatewayControl,
  's3Buckets' | 's3BucketUsage' | 's3Uploads' | 'abortS3Upload' | 's3Lifecycle' | 'runS3Lifecycle'
> {
  const s3 = () => {
    const server = s3ServerOf(gw.servers);
    if (!server) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'this gateway serves no S3' });
    return server;
  };
  return {
    s3Buckets: async () => s3().buckets(),
    s3BucketUsage: async (bucket) => {
      const usage = await s3().bucketUsage(bucket);
      if (!usage) throw new TRPCError({ code: 'NOT_FOUND', message: `no bucket named ${bucket}` });
      return usage;
    },
    s3Uploads: async () => s3().incompleteUploads(),
    abortS3Upload: async (uploadId, by) => {
      const gone = await s3().abortUpload(uploadId, by);
      if (!gone)
        throw new TRPCError({ code: 'NOT_FOUND', message: `no multipart upload ${uploadId} in progress` });
      return gone;
    },
    s3Lifecycle: async (): Promise<LifecycleView> => {
      const sweeper = lifecycleSweeperOf(gw.servers);
      if (!sweeper) return { served: false, buckets: [], lastSweep: null, nextSweep: null, sweeping: false };
      const s = await sweeper.status();
      return {
        served: true,
        buckets: s.buckets.map((b) => ({
          bucket: b.bucket,
          rules: b.rules.map((r) => ({ id: r.id, enabled: r.enabled, summary: r.summary })),
        })),
        lastSweep: s.lastSweep ?? null,
        nextSweep: s.nextSweep ?? null,
        sweeping: s.sweeping,
      };
    },
    runS3Lifecycle: async () => {
      const sweeper = lifecycleSweeperOf(gw.servers);
      if (!sweeper)
        throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'this gateway serves no S3' });
      return sweeper.run();
    },
  };
}

import type { ProtocolServer } from '../../daemon/protocol-server.ts';
import type { AdminRequest, AdminResult, AdminRoutes } from '../../ops/admin/routes.ts';
import { S3_BUCKETS_PATH, S3_LIFECYCLE_PATH, S3_LIFECYCLE_RUN_PATH, S3_UPLOADS_PATH } from './admin-paths.ts';
import type { LifecycleSweeper } from './lifecycle/sweeper.ts';
import { S3Server } from './server.ts';

const lifecycleTarget = () => 's3.lifecycle';

/** The running S3 server; undefined when this gateway serves no S3. */
export function s3ServerOf(servers: readonly ProtocolServer[]): S3Server | undefined {
  return servers.find((s): s is S3Server => s instanceof S3Server);
}

/** The running S3 server's lifecycle sweeper; undefined when this gateway serves no S3. */
export function lifecycleSweeperOf(servers: readonly ProtocolServer[]): LifecycleSweeper | undefined {
  return s3ServerOf(servers)?.lifecycle;
}

/**
 * The admin routes behind `./cfs s3`: GET /admin/s3/buckets (viewer) — every bucket with its
 * owner and settings — and GET /admin/s3/buckets/{bucket}/usage (viewer) — its objects and
 * bytes, counted by walking it; GET /admin/s3/uploads (viewer) — incomplete multipart uploads —
 * and POST /admin/s3/uploads/{uploadId}/abort (operator, audited as `s3.upload.abort`); GET /admin/s3/lifecycle (viewer) — every bucket's rules, the last
 * sweep, the next — and POST /admin/s3/lifecycle/run (operator, audited as `s3.lifecycle.run`
 * with what the sweep did). `servers` is read at request time; without an S3 server they
 * answer 404.
 */
export function addS3Routes(admin: AdminRoutes, servers: () => readonly ProtocolServer[]): void {
  const withS3 =
    (fn: (s3: S3Server, sweeper: LifecycleSweeper, req: AdminRequest) => Promise<AdminResult>) =>
    async (req: AdminRequest): Promise<AdminResult> => {
      const s3 = s3ServerOf(servers());
      const sweeper = s3?.lifecycle;
      if (!s3 || !sweeper) return { status: 404, body: { error: 'this gateway serves no S3' } };
      return fn(s3, sweeper, req);
    };
  admin.add(
    'GET',
    S3_BUCKETS_PATH,
    'viewer',
    's3.buckets',
    withS3(async (s3) => ({ body: await s3.buckets() })),
  );
  admin.add(
    'GET',
    `${S3_BUCKETS_PATH}/{bucket}/usage`,
    'viewer',
    's3.buckets.usage',
    withS3(async (s3, _sweeper, req) => {
      // Bucket names need no escaping; anything else is no bucket.
      const bucket = req.params.bucket ?? '';
      const usage = await s3.bucketUsage(bucket);
      return usage ? { body: usage } : { status: 404, body: { error: `no bucket named ${bucket}` } };
    }),
  );
  admin.add(
    'GET',
    S3_UPLOADS_PATH,
    'viewer',
    's3.uploads',
    withS3(async (s3) => ({ body: await s3.incompleteUploads() })),
  );
  admin.add(
    'POST',
    `${S3_UPLOADS_PATH}/{uploadId}/abort`,
    'operator',
    's3.upload.abort',
    withS3(async (s3, _sweeper, req) => {
      const id = req.params.uploadId ?? '';
      const gone = await s3.abortUpload(id, req.caller.actor);
      return gone
        ? { body: gone, auditDetail: gone }
        : { status: 404, body: { error: `no multipart upload ${id} in progress` } };
    }),
    (req) => `upload:${req.params.uploadId ?? ''}`,
  );
  admin.add(
    'GET',
    S3_LIFECYCLE_PATH,
    'viewer',
    's3.lifecycle',
    withS3(async (_s3, sweeper) => ({ body: await sweeper.status() })),
    lifecycleTarget,
  );
  admin.add(
    'POST',
    S3_LIFECYCLE_RUN_PATH,
    'operator',
    's3.lifecycle.run',
    withS3(async (_s3, sweeper) => {
      const report = await sweeper.run();
      return {
        body: report,
        auditDetail: { expired: report.expired, freedBytes: report.freedBytes, aborted: report.aborted },
      };
    }),
    lifecycleTarget,
  );
}

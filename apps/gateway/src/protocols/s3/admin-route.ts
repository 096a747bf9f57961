import type { ProtocolServer } from '../../daemon/protocol-server.ts';
import type { AdminRequest, AdminResult, AdminRoutes } from '../../ops/admin/routes.ts';
import type { LifecycleSweeper } from './lifecycle/sweeper.ts';
import { S3Server } from './server.ts';

export const S3_LIFECYCLE_PATH = '/admin/s3/lifecycle';
export const S3_LIFECYCLE_RUN_PATH = '/admin/s3/lifecycle/run';

const lifecycleTarget = () => 's3.lifecycle';

/** The running S3 server's lifecycle sweeper; undefined when this gateway serves no S3. */
export function lifecycleSweeperOf(servers: readonly ProtocolServer[]): LifecycleSweeper | undefined {
  return servers.find((s): s is S3Server => s instanceof S3Server)?.lifecycle;
}

/**
 * The admin routes behind `./cfs s3 lifecycle`: GET /admin/s3/lifecycle (viewer) — every
 * bucket's rules, the last sweep, the next — and POST /admin/s3/lifecycle/run (operator,
 * audited as `s3.lifecycle.run` with what the sweep did). `servers` is read at request time;
 * without an S3 server they answer 404.
 */
export function addS3LifecycleRoutes(admin: AdminRoutes, servers: () => readonly ProtocolServer[]): void {
  const withSweeper =
    (fn: (sweeper: LifecycleSweeper, req: AdminRequest) => Promise<AdminResult>) =>
    async (req: AdminRequest): Promise<AdminResult> => {
      const sweeper = lifecycleSweeperOf(servers());
      if (!sweeper) return { status: 404, body: { error: 'this gateway serves no S3' } };
      return fn(sweeper, req);
    };
  admin.add(
    'GET',
    S3_LIFECYCLE_PATH,
    'viewer',
    's3.lifecycle',
    withSweeper(async (sweeper) => ({ body: await sweeper.status() })),
    lifecycleTarget,
  );
  admin.add(
    'POST',
    S3_LIFECYCLE_RUN_PATH,
    'operator',
    's3.lifecycle.run',
    withSweeper(async (sweeper) => {
      const report = await sweeper.run();
      return {
        body: report,
        auditDetail: { expired: report.expired, freedBytes: report.freedBytes, aborted: report.aborted },
      };
    }),
    lifecycleTarget,
  );
}

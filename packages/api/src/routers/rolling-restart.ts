import { actorOf, operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type { RollingRestartStatus, RollingRestartView } from '../types/nodes.ts';

const TARGET = () => 'rolling-restart';

/**
 * The runbook's rolling restart as a walk over the cluster, one node at a time. Its state lives
 * in the control plane, so a reload or another operator sees the same walk; reading the status
 * moves it on (the console polls it while a walk runs). The gateway audits the finish itself.
 */
export const rollingRestartRouter = router({
  status: viewerProcedure.query(
    ({ ctx }): Promise<RollingRestartStatus> => ctx.control.rollingRestartStatus(),
  ),
  start: operatorProcedure
    .meta({ audit: { action: 'rolling-restart.start', target: TARGET } })
    .mutation(
      ({ ctx }): Promise<RollingRestartView> =>
        ctx.control.startRollingRestart(ctx.session ? actorOf(ctx.session) : 'anonymous'),
    ),
  cancel: operatorProcedure
    .meta({ audit: { action: 'rolling-restart.cancel', target: TARGET } })
    .mutation(
      ({ ctx }): Promise<RollingRestartView> =>
        ctx.control.cancelRollingRestart(ctx.session ? actorOf(ctx.session) : 'anonymous'),
    ),
});

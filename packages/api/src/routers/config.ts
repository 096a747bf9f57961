import { operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type { AccessReport } from '../types/access.ts';
import type { ConfigPreview, ConfigReload, ConfigStatus } from '../types/ops.ts';

/** The configuration file of the running gateway: its last reload, and reloading it. */
export const configRouter = router({
  status: viewerProcedure.query(({ ctx }): Promise<ConfigStatus> => ctx.control.configStatus()),
  /** Who may reach what over each protocol (exports, shares, buckets), with what deserves a look. */
  access: viewerProcedure.query(({ ctx }): Promise<AccessReport> => ctx.control.accessReport()),
  /** What a reload would do now; reads the file, changes nothing. */
  preview: viewerProcedure.query(({ ctx }): Promise<ConfigPreview> => ctx.control.previewConfig()),
  /** As SIGHUP; BAD_REQUEST with the file's problems (file:line:col key: message) changes nothing. */
  reload: operatorProcedure
    .meta({
      audit: {
        action: 'gateway.config.reload',
        target: () => 'gateway',
        result: (r) => {
          const { applied, pendingRestart } = r as ConfigReload;
          return { applied, pendingRestart };
        },
      },
    })
    .mutation(({ ctx }): Promise<ConfigReload> => ctx.control.reloadConfig()),
});

import { previewReload, reloadFromFile } from '../../daemon/config-reload.ts';
import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { GATEWAY_TARGET } from '../admin/routes.ts';

/** What `GET /admin/config` and the console's Maintenance page show about the configuration. */
export function configStatus(gw: Gateway) {
  return {
    file: gw.config.configFile,
    stateDir: gw.config.stateDir,
    pid: process.pid,
    logLevel: gw.log.level,
    lastReload: gw.lastReload ?? null,
  };
}

/**
 * The configuration file on a running gateway: `GET /admin/config` (viewer) says which file
 * it runs, the last reload's outcome and what waits for a restart; `POST /admin/config/reload`
 * (operator; `./cfs gateway reload`, the console) reads the file again as SIGHUP does and
 * answers with what changed, or 422 with the file's problems (nothing changed);
 * `GET /admin/config/preview` (viewer) says what a reload would do now, changing nothing.
 */
export const configFeature: Feature = {
  name: 'config',
  start(gw) {
    gw.admin.add('GET', '/admin/config', 'viewer', 'gateway.config.status', () => ({
      body: configStatus(gw),
    }));
    gw.admin.add('GET', '/admin/config/preview', 'viewer', 'gateway.config.preview', async () => {
      const report = await previewReload(gw);
      return report.ok
        ? { body: report }
        : {
            status: 422,
            body: { error: `the file would be refused: ${report.problems.join('; ')}`, ...report },
          };
    });
    gw.admin.add(
      'POST',
      '/admin/config/reload',
      'operator',
      'gateway.config.reload',
      async () => {
        const report = await reloadFromFile(gw, 'admin API');
        return report.ok
          ? { body: report, auditDetail: { applied: report.applied, pendingRestart: report.pendingRestart } }
          : {
              status: 422,
              body: { error: `reload refused: ${report.problems.join('; ')}`, ...report },
              auditDetail: { problems: report.problems },
            };
      },
      GATEWAY_TARGET,
    );
  },
};

import { PROTOCOLS } from '../../config/defaults.ts';
import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { nodeHeartbeatOf } from '../nodes/feature.ts';
import { DrainController } from './controller.ts';
import { registerLogLevelRoute } from './log-level.ts';

const controllers = new WeakMap<Gateway, DrainController>();

/** The gateway's drain controller, once the drain feature has started. */
export function drainControllerOf(gw: Gateway): DrainController | undefined {
  return controllers.get(gw);
}

/**
 * Checks that read "draining" while the gateway drains, so a load balancer polling /health
 * takes the node out of its pool: the process check, and each protocol server's check, which
 * is named after its protocol (`nfs`, `s3`, `smb`). Backend checks keep reporting the truth.
 */
const DRAINED_CHECKS: ReadonlySet<string> = new Set(['gateway', ...PROTOCOLS]);

export const drainFeature: Feature = {
  name: 'drain',
  start(gw) {
    const log = gw.log.child({ feature: 'drain' });
    const controller = new DrainController({
      connections: gw.connections,
      servers: () => gw.servers,
      protocols: () => gw.protocols,
      onChange: (draining) => {
        gw.draining = draining;
        if (draining)
          log.warn('draining: listeners refuse new connections; open connections are still served');
        else log.info('drain ended: listeners accept new connections again');
      },
      // The node registry (`./cfs gateway nodes`, the console's Cluster page) hears of it now,
      // with fresh probes, instead of at the next heartbeat.
      onListenersSettled: () =>
        void gw.health
          .probeAll()
          .then(() => nodeHeartbeatOf(gw)?.stateChanged())
          .catch((e: unknown) => log.warn({ err: e }, 'could not report the drain to the node registry')),
      onDrained: (s) =>
        log.info(
          { connections: s.connections },
          `drained: no request in flight for ${s.quietMs} ms (${s.connections} idle connection${s.connections === 1 ? '' : 's'} open)`,
        ),
    });
    controllers.set(gw, controller);
    gw.health.addOverride((name) =>
      controller.draining && DRAINED_CHECKS.has(name)
        ? { status: 'unhealthy', message: 'draining' }
        : undefined,
    );

    gw.admin.add('GET', '/admin/drain', 'viewer', 'gateway.drain.status', () => {
      const s = controller.status();
      log.debug(
        { state: s.state, connections: s.connections, inFlight: s.inFlight },
        `drain status: ${s.state}`,
      );
      return { body: s };
    });
    gw.admin.add('POST', '/admin/drain', 'operator', 'gateway.drain', () => ({ body: controller.drain() }));
    gw.admin.add('POST', '/admin/undrain', 'operator', 'gateway.undrain', () => ({
      body: controller.undrain(),
    }));
    registerLogLevelRoute(gw);
  },
  stop(gw) {
    controllers.get(gw)?.close();
    controllers.delete(gw);
  },
};

import { PROTOCOLS } from '../../config/defaults.ts';
import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { GATEWAY_TARGET } from '../admin/routes.ts';
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
        if (draining) {
          // An undrain lifts this only once the listeners accept and have been probed again
          // (onListenersSettled): until then the last probes are the drain's ("not accepting").
          gw.health.setDrained(DRAINED_CHECKS);
          log.warn('draining: listeners refuse new connections; open connections are still served');
        } else log.info('drain ended: listeners accept new connections again');
      },
      // Fresh probes, then the node registry (`./cfs gateway nodes`, the console's Cluster
      // page) hears of it now instead of at the next heartbeat — without being waited for: a
      // drain works with the control plane down.
      onListenersSettled: async () => {
        await gw.health.probeAll({ fresh: true });
        if (!controller.draining) gw.health.setDrained(undefined);
        nodeHeartbeatOf(gw)
          ?.stateChanged()
          .catch((e: unknown) => log.warn({ err: e }, 'could not report the drain to the node registry'));
      },
      onDrained: (s) =>
        log.info(
          { connections: s.connections },
          `drained: no request in flight for ${s.quietMs} ms (${s.connections} idle connection${s.connections === 1 ? '' : 's'} open)`,
        ),
    });
    controllers.set(gw, controller);

    gw.admin.add('GET', '/admin/drain', 'viewer', 'gateway.drain.status', () => {
      const s = controller.status();
      log.debug(
        { state: s.state, connections: s.connections, inFlight: s.inFlight },
        `drain status: ${s.state}`,
      );
      return { body: s };
    });
    // Answered once every listener has stopped (resumed) and been probed again, so /health,
    // the registry and the answer agree from the moment the operator reads it.
    gw.admin.add(
      'POST',
      '/admin/drain',
      'operator',
      'gateway.drain',
      async () => ({ body: await controller.apply('drain') }),
      GATEWAY_TARGET,
    );
    gw.admin.add(
      'POST',
      '/admin/undrain',
      'operator',
      'gateway.undrain',
      async () => ({ body: await controller.apply('undrain') }),
      GATEWAY_TARGET,
    );
    registerLogLevelRoute(gw);
  },
  stop(gw) {
    controllers.get(gw)?.close();
    controllers.delete(gw);
  },
};

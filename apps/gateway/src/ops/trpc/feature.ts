import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { createGatewayControl } from './control.ts';
import { mountTrpc } from './http.ts';

/** Expired console sessions are deleted this often (a session is refused once expired anyway). */
const PURGE_INTERVAL_MS = 10 * 60_000;

const purgers = new WeakMap<Gateway, NodeJS.Timeout>();

/** The console's API: the tRPC router on `/trpc`, over this gateway's GatewayControl. */
export const trpcFeature: Feature = {
  name: 'trpc',
  start(gw) {
    mountTrpc(gw, createGatewayControl(gw));
    const timer = setInterval(() => {
      gw.control.sessions
        .purgeExpired()
        .catch((err: unknown) => gw.log.warn({ err }, 'purging expired console sessions failed'));
    }, PURGE_INTERVAL_MS);
    timer.unref();
    purgers.set(gw, timer);
  },
  stop(gw) {
    clearInterval(purgers.get(gw));
    purgers.delete(gw);
  },
};

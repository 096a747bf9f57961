import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { createGatewayControl } from './control.ts';
import { mountTrpc } from './http.ts';

/**
 * Expired console sessions are deleted this often (a session is refused once expired anyway),
 * and so are audit entries older than `audit.retention`.
 */
const PURGE_INTERVAL_MS = 10 * 60_000;

/** Deletes audit entries past `audit.retention` (read at each pass: a reload applies). */
export async function pruneAudit(gw: Gateway): Promise<number> {
  const retention = gw.config.audit.retentionMs;
  if (retention <= 0) return 0;
  const removed = await gw.control.audit.prune(new Date(Date.now() - retention));
  if (removed > 0) gw.log.info({ removed }, `audit: removed ${removed} entries older than audit.retention`);
  return removed;
}

const purgers = new WeakMap<Gateway, NodeJS.Timeout>();

/** The console's API: the tRPC router on `/trpc`, over this gateway's GatewayControl. */
export const trpcFeature: Feature = {
  name: 'trpc',
  start(gw) {
    mountTrpc(gw, createGatewayControl(gw));
    const purge = () => {
      gw.control.sessions
        .purgeExpired()
        .catch((err: unknown) => gw.log.warn({ err }, 'purging expired console sessions failed'));
      pruneAudit(gw).catch((err: unknown) => gw.log.warn({ err }, 'deleting old audit entries failed'));
    };
    const timer = setInterval(purge, PURGE_INTERVAL_MS);
    timer.unref();
    purgers.set(gw, timer);
  },
  stop(gw) {
    clearInterval(purgers.get(gw));
    purgers.delete(gw);
  },
};

import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { OPEN_GATE } from '../../storage/ledger-gate.ts';
import { QuotaEnforcer } from './enforcer.ts';

/**
 * How often the quota table's version is polled from the control plane (QuotaEnforcer.poll):
 * a change made by `./cfs quota` (another process) or on another node is enforced within
 * this interval, with no restart or signal.
 */
export const QUOTA_POLL_MS = 250;

interface Running {
  enforcer: QuotaEnforcer;
  timer: NodeJS.Timeout;
}

const running = new WeakMap<Gateway, Running>();

/** The enforcer a started gateway runs (for diagnostics and tests). */
export function quotaEnforcer(gw: Gateway): QuotaEnforcer | undefined {
  return running.get(gw)?.enforcer;
}

export const quotaFeature: Feature = {
  name: 'quota',
  async start(gw) {
    const log = gw.log.child({ feature: 'quota' });
    const enforcer = new QuotaEnforcer({
      quotas: gw.control.quotas,
      usage: (kind, id) => gw.ns.quotaUsage(kind, id),
      allUsage: () => gw.ns.allQuotaUsage(),
      log: gw.log,
      defaultGraceMs: () => gw.config.quota.gracePeriodMs,
    });
    // Enforcing from the first request on: the table is loaded before the gate goes in.
    await enforcer.refresh();
    gw.ns.meta.gate = enforcer;
    let failing = false;
    const timer = setInterval(() => {
      enforcer.poll().then(
        () => {
          if (failing) log.info('quota table reloaded again');
          failing = false;
        },
        (err: unknown) => {
          // Keep enforcing the last table read; say so once per outage, not every poll.
          if (!failing)
            log.warn({ err }, 'cannot reload quotas from the control plane; enforcing the last ones read');
          failing = true;
        },
      );
    }, QUOTA_POLL_MS);
    timer.unref();
    running.set(gw, { enforcer, timer });
  },
  async stop(gw) {
    const r = running.get(gw);
    if (!r) return;
    running.delete(gw);
    clearInterval(r.timer);
    if (gw.ns.meta.gate === r.enforcer) gw.ns.meta.gate = OPEN_GATE;
    await r.enforcer.settled();
  },
};

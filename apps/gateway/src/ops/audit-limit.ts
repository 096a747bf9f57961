import type { Gateway } from '../daemon/gateway.ts';
import { RepeatLimit } from '../util/repeat-limit.ts';

/**
 * Audit entries of callers that proved nothing — no console session, no admin token — are what
 * anyone who reaches the ops port can make, as fast as they are answered: an unauthenticated
 * mutation or admin call is refused in well under a millisecond, and each refusal was a row
 * in the control plane's audit table. So each address has 30 of them recorded one by one a
 * minute; past that they are counted, and when the minute ends one entry (`audit.suppressed`,
 * with the count per action) and one warning say how many more were refused. Entries of
 * signed-in callers, and a sign-in that worked, are never held back.
 */
export const AUDIT_LIMIT = { perWindow: 30, windowMs: 60_000 };

const limits = new WeakMap<Gateway, RepeatLimit>();

/**
 * The gateway's one limit, shared by the console API's and the admin API's audit writers (key:
 * the caller's address, kind: the action): its summaries go to the audit log and the log.
 */
export function auditLimit(gw: Gateway): RepeatLimit {
  let limit = limits.get(gw);
  if (!limit) {
    limit = new RepeatLimit((h) => {
      gw.log.warn(
        { remote: h.key, suppressed: h.suppressed, actions: h.kinds },
        `audit: ${h.suppressed} more unauthenticated requests from ${h.key} in ${h.windowSeconds} s were refused and not recorded one by one`,
      );
      gw.control.audit
        .record({
          actor: 'anonymous',
          action: 'audit.suppressed',
          target: `address:${h.key}`,
          outcome: 'denied',
          detail: { suppressed: h.suppressed, actions: h.kinds, windowSeconds: h.windowSeconds },
          remoteAddr: h.key,
        })
        .catch((err: unknown) => gw.log.error({ err }, 'audit record failed'));
    }, AUDIT_LIMIT);
    limits.set(gw, limit);
  }
  return limit;
}

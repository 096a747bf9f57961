import type { Gateway } from '../daemon/gateway.ts';
import { type HeldBack, RepeatLimit } from '../util/repeat-limit.ts';

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
const signInLimits = new WeakMap<Gateway, RepeatLimit>();

/** How many kinds a summary names one by one (a spray of user names is one entry, not a megabyte). */
const SUMMARY_KINDS = 100;

/** The tally's SUMMARY_KINDS largest, the rest counted together under `(others)`. */
export function mostOf(kinds: Record<string, number>): Record<string, number> {
  const sorted = Object.entries(kinds).sort((a, b) => b[1] - a[1]);
  if (sorted.length <= SUMMARY_KINDS) return kinds;
  const kept = Object.fromEntries(sorted.slice(0, SUMMARY_KINDS));
  kept['(others)'] = sorted.slice(SUMMARY_KINDS).reduce((n, [, c]) => n + c, 0);
  return kept;
}

/**
 * A limit whose window summaries go to the log (`warning`) and to the audit log as one
 * `audit.suppressed` entry for the address, its tally under `tally`.
 */
function summarizingLimit(
  gw: Gateway,
  tally: 'actions' | 'signIns',
  warning: (h: HeldBack) => string,
): RepeatLimit {
  return new RepeatLimit((h) => {
    gw.log.warn(
      { remote: h.key, suppressed: h.suppressed, ...(tally === 'actions' ? { actions: h.kinds } : {}) },
      warning(h),
    );
    gw.control.audit
      .record({
        actor: 'anonymous',
        action: 'audit.suppressed',
        target: `address:${h.key}`,
        outcome: 'denied',
        detail: { suppressed: h.suppressed, [tally]: mostOf(h.kinds), windowSeconds: h.windowSeconds },
        remoteAddr: h.key,
      })
      // Logged whole by the control plane's onAuditLost (daemon/gateway.ts).
      .catch(() => {});
  }, AUDIT_LIMIT);
}

/**
 * The gateway's one limit, shared by the console API's and the admin API's audit writers (key:
 * the caller's address, kind: the action): its summaries go to the audit log and the log.
 */
export function auditLimit(gw: Gateway): RepeatLimit {
  let limit = limits.get(gw);
  if (!limit) {
    limit = summarizingLimit(
      gw,
      'actions',
      (h) =>
        `audit: ${h.suppressed} more unauthenticated requests from ${h.key} in ${h.windowSeconds} s were refused and not recorded one by one`,
    );
    limits.set(gw, limit);
  }
  return limit;
}

/**
 * Failed console sign-ins have their own 30 entries per address and minute, apart from every
 * other unauthenticated refusal: junk requests sent first cannot use up the budget so that
 * the password guessing after them goes unrecorded. (The sign-in throttle already slows each
 * user's guesses from an address.) Past the 30, the minute's summary names each user tried
 * with the number of attempts (kind: the entry's actor, `console:<user>`).
 */
export function signInAuditLimit(gw: Gateway): RepeatLimit {
  let limit = signInLimits.get(gw);
  if (!limit) {
    limit = summarizingLimit(
      gw,
      'signIns',
      (h) =>
        `audit: ${h.suppressed} more failed console sign-ins from ${h.key} in ${h.windowSeconds} s were not recorded one by one (the audit log's audit.suppressed entry names the users tried)`,
    );
    signInLimits.set(gw, limit);
  }
  return limit;
}

/** Entries held back by both limits, for the metric. */
export function auditSuppressedTotal(gw: Gateway): number {
  return auditLimit(gw).suppressedTotal + signInAuditLimit(gw).suppressedTotal;
}

import type { GatewayControl } from '@claudefs/api';
import { auditView } from '../../control/views.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { auditLimit, signInAuditLimit } from '../audit-limit.ts';

/** Reading the audit log, and storing what the router audits (secret-looking keys redacted there). */
export function auditControl(gw: Gateway): Pick<GatewayControl, 'auditLog' | 'recordAudit'> {
  return {
    async auditLog(q) {
      const limit = q.limit ?? 50;
      // One more than asked tells whether an older page exists.
      const rows = await gw.control.audit.list({
        ...(q.actor === undefined ? {} : { actor: q.actor }),
        // Actions are lower-case dotted names: `Drain` finds gateway.drain and gateway.undrain.
        ...(q.action === undefined ? {} : { actionContains: q.action.toLowerCase() }),
        ...(q.outcome === undefined ? {} : { outcome: q.outcome }),
        ...(q.since === undefined ? {} : { since: new Date(q.since) }),
        ...(q.until === undefined ? {} : { until: new Date(q.until) }),
        ...(q.beforeId === undefined ? {} : { beforeId: q.beforeId }),
        limit: limit + 1,
      });
      const entries = rows.slice(0, limit).map(auditView);
      return { entries, nextBeforeId: rows.length > limit ? (entries.at(-1)?.id ?? null) : null };
    },
    async recordAudit(e) {
      // A refusal of a caller that proved nothing may be held back (a sign-in that worked never
      // is); failed sign-ins under their own limit, tallied by the user tried.
      if (e.authenticated === false && e.outcome !== 'ok') {
        const signIn = e.action === 'console.signin';
        const limit = signIn ? signInAuditLimit(gw) : auditLimit(gw);
        if (!limit.admit(e.remoteAddress ?? '', signIn ? e.actor : e.action)) return;
      }
      try {
        await gw.control.audit.record({
          actor: e.actor,
          action: e.action,
          target: e.target,
          outcome: e.outcome,
          detail: e.detail,
          remoteAddr: e.remoteAddress ?? null,
        });
      } catch {
        // Logged whole by the control plane's onAuditLost (daemon/gateway.ts).
      }
    },
  };
}

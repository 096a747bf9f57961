import type { Feature } from '../../daemon/feature.ts';
import { auditLimit } from '../audit-limit.ts';
import { locksReport, releaseLocks } from '../locks/report.ts';
import { createAuthenticator } from './auth.ts';
import { circuits, connections, invalidateCaches, resetCircuit } from './endpoints.ts';

/**
 * The admin API: the one authenticator and the audit trail for every admin route (including
 * those other features register), and the cache, circuit, connection and lock endpoints.
 */
export const adminFeature: Feature = {
  name: 'admin',
  start(gw) {
    gw.admin.authenticate = createAuthenticator(gw.control, {
      enabled: () => gw.config.admin.trustLoopback,
      boundHost: () => gw.config.health.bind.host,
    });
    gw.admin.audit = async (e) => {
      if (!e.caller && !auditLimit(gw).admit(e.remoteAddress, e.action)) return;
      try {
        await gw.control.audit.record({
          actor: e.caller?.actor ?? 'anonymous',
          action: e.action,
          target: e.target,
          outcome: e.outcome,
          detail: e.detail,
          remoteAddr: e.remoteAddress,
        });
      } catch {
        // Logged whole by the control plane's onAuditLost (daemon/gateway.ts).
      }
    };
    gw.admin.add(
      'POST',
      '/admin/cache/invalidate',
      'operator',
      'cache.invalidate',
      (r) => invalidateCaches(gw, r.body),
      ({ body }) => {
        const b = (body ?? {}) as { path?: unknown; uid?: unknown };
        return b.path !== undefined
          ? `path:${String(b.path)}`
          : b.uid !== undefined
            ? `uid=${String(b.uid)}`
            : 'all';
      },
    );
    gw.admin.add('GET', '/admin/circuits', 'viewer', 'circuits.list', () => circuits(gw));
    gw.admin.add(
      'POST',
      '/admin/circuits/{backend}/reset',
      'operator',
      'circuits.reset',
      (r) => resetCircuit(gw, r.params.backend),
      (r) => `circuit:${r.params.backend}`,
    );
    gw.admin.add('GET', '/admin/connections', 'viewer', 'connections.list', () => connections(gw));
    gw.admin.add('GET', '/admin/locks', 'viewer', 'locks.list', () => ({ body: locksReport(gw) }));
    gw.admin.add(
      'POST',
      '/admin/locks/release',
      'operator',
      'locks.release',
      (r) => releaseLocks(gw, r.body),
      ({ body }) => `nfs-client:${String((body as { client?: unknown } | undefined)?.client ?? '')}`,
    );
  },
};

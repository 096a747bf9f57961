import type { SmbOpenFilesReport } from '@claudefs/api';
import type { ProtocolServer } from '../../daemon/protocol-server.ts';
import type { AdminHandler, AdminRoutes } from '../../ops/admin/routes.ts';
import { SmbServer } from './server.ts';

export const SMB_STATUS_PATH = '/admin/smb/status';

/**
 * The admin route behind `./cfs smb status`: GET /admin/smb/status, viewer role, audited as
 * `smb.status`. `servers` is read at request time, so the route may be added before the SMB
 * server starts; without one it answers 404.
 */
export function smbStatusRoute(servers: () => readonly ProtocolServer[]): {
  method: 'GET';
  path: string;
  minRole: 'viewer';
  action: string;
  handler: AdminHandler;
} {
  return {
    method: 'GET',
    path: SMB_STATUS_PATH,
    minRole: 'viewer',
    action: 'smb.status',
    handler: () => {
      const smb = servers().find((s): s is SmbServer => s instanceof SmbServer);
      if (!smb) return { status: 404, body: { error: 'this gateway serves no SMB' } };
      return { body: smb.status() };
    },
  };
}

/**
 * The console's view of SMB's open files (Connections page): `./cfs smb status`'s open files
 * without pipes, each named by its client (user@address).
 */
export function smbOpenFilesOf(servers: readonly ProtocolServer[]): SmbOpenFilesReport {
  const smb = servers.find((s): s is SmbServer => s instanceof SmbServer);
  if (!smb) return { served: false, files: [] };
  const status = smb.status();
  const who = new Map(status.sessions.map((s) => [s.session, `${s.user}@${s.remote}`]));
  const files = status.openFiles
    .filter((o) => o.kind !== 'pipe')
    .map((o) => ({
      client: who.get(o.session) ?? o.session,
      share: o.share,
      path: o.path,
      kind: o.kind,
      caching: o.caching,
      since: o.since,
    }));
  return { served: true, files };
}

/** One call for the gateway: `addSmbStatusRoute(gw.admin, () => gw.servers)`. */
export function addSmbStatusRoute(admin: AdminRoutes, servers: () => readonly ProtocolServer[]): void {
  const r = smbStatusRoute(servers);
  admin.add(r.method, r.path, r.minRole, r.action, r.handler);
}

import type { SmbFileClosed, SmbOpenFilesReport } from '@claudefs/api';
import type { ProtocolServer } from '../../daemon/protocol-server.ts';
import type { AdminHandler, AdminResult, AdminRoutes } from '../../ops/admin/routes.ts';
import { SMB_CLOSE_PATH, SMB_STATUS_PATH } from './admin-paths.ts';
import { SmbServer } from './server.ts';

const smbOf = (servers: readonly ProtocolServer[]) =>
  servers.find((s): s is SmbServer => s instanceof SmbServer);

/**
 * Closes an SMB client's open file (POST /admin/smb/close, `{"session", "fileId"}` as `./cfs
 * smb status` lists them): 400 without both, 404 without SMB or without such an open.
 */
export async function closeSmbFile(servers: readonly ProtocolServer[], body: unknown): Promise<AdminResult> {
  const { session, fileId } = (body ?? {}) as { session?: unknown; fileId?: unknown };
  if (typeof session !== 'string' || typeof fileId !== 'string' || session === '' || fileId === '')
    return {
      status: 400,
      body: { error: 'name the open: {"session": "0x…", "fileId": "0x…"} as ./cfs smb status lists it' },
    };
  const smb = smbOf(servers);
  if (!smb) return { status: 404, body: { error: 'this gateway serves no SMB' } };
  const path = await smb.closeFile(session, fileId);
  if (path === undefined)
    return {
      status: 404,
      body: { error: `no open file ${fileId} in session ${session} (./cfs smb status lists them)` },
    };
  const out: SmbFileClosed = { session, fileId, path };
  return { body: out, auditDetail: out };
}

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
      const smb = smbOf(servers());
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
  const smb = smbOf(servers);
  if (!smb) return { served: false, files: [], elsewhere: [] };
  const status = smb.status();
  const who = new Map(status.sessions.map((s) => [s.session, `${s.user}@${s.remote}`]));
  const files = status.openFiles
    .filter((o) => o.kind !== 'pipe')
    .map((o) => ({
      session: o.session,
      fileId: o.fileId,
      client: who.get(o.session) ?? o.session,
      share: o.share,
      path: o.path,
      kind: o.kind,
      caching: o.caching,
      since: o.since,
    }));
  return { served: true, files, elsewhere: status.elsewhere };
}

/** One call for the gateway: `addSmbStatusRoute(gw.admin, () => gw.servers)`; the close route too. */
export function addSmbStatusRoute(admin: AdminRoutes, servers: () => readonly ProtocolServer[]): void {
  const r = smbStatusRoute(servers);
  admin.add(r.method, r.path, r.minRole, r.action, r.handler);
  admin.add(
    'POST',
    SMB_CLOSE_PATH,
    'operator',
    'smb.close',
    (req) => closeSmbFile(servers(), req.body),
    ({ body }) => {
      const b = (body ?? {}) as { session?: unknown; fileId?: unknown };
      return `smb-open:${String(b.session ?? '')}/${String(b.fileId ?? '')}`;
    },
  );
}

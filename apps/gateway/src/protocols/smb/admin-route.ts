import type { SmbFileClosed, SmbOpenFilesReport, SmbSessionEnded } from '@claudefs/api';
import type { ProtocolServer } from '../../daemon/protocol-server.ts';
import type { AdminHandler, AdminResult, AdminRoutes } from '../../ops/admin/routes.ts';
import { SMB_CLOSE_PATH, SMB_END_SESSION_PATH, SMB_STATUS_PATH } from './admin-paths.ts';
import type { SessionsToEnd } from './end-sessions.ts';
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

/** What `which` names, for a 404. */
function noSuch(which: SessionsToEnd): string {
  if ('session' in which) return `no session ${which.session} (./cfs smb status lists them)`;
  if ('user' in which) return `${which.user} has no SMB session on this gateway`;
  return `connection ${which.connection} has no SMB session (it may have closed)`;
}

/** The one of `{session}`, `{user}` or `{connection}` a request names; undefined otherwise. */
function sessionsNamed(body: unknown): SessionsToEnd | undefined {
  const { session, user, connection } = (body ?? {}) as Record<string, unknown>;
  const given = [session, user, connection].filter((v) => v !== undefined);
  if (given.length !== 1) return undefined;
  if (typeof session === 'string' && session !== '') return { session };
  if (typeof user === 'string' && user !== '') return { user: user.toLowerCase() };
  if (typeof connection === 'number' && Number.isSafeInteger(connection)) return { connection };
  return undefined;
}

/**
 * Ends SMB sessions (POST /admin/smb/end-session, `{"session": "0x…"}` as `./cfs smb status`
 * lists it, `{"user": NAME}` for all of a user's, or `{"connection": ID}` for those on one
 * connection): 400 without exactly one of them, 404 without SMB or without such a session.
 */
export async function endSmbSessions(
  servers: readonly ProtocolServer[],
  body: unknown,
): Promise<AdminResult> {
  const which = sessionsNamed(body);
  if (!which)
    return {
      status: 400,
      body: {
        error:
          'name the session {"session": "0x…"} as ./cfs smb status lists it, the user {"user": NAME} or the connection {"connection": ID}',
      },
    };
  const smb = smbOf(servers);
  if (!smb) return { status: 404, body: { error: 'this gateway serves no SMB' } };
  const ended: SmbSessionEnded[] = await smb.endSessions(which, 'an operator ended it');
  if (ended.length === 0) return { status: 404, body: { error: noSuch(which) } };
  return { body: ended, auditDetail: { ended } };
}

/** How the audit log names what an end-session request ended. */
export function endSessionTarget(body: unknown): string {
  const b = (body ?? {}) as Record<string, unknown>;
  if (b.user !== undefined) return `user:${String(b.user)}`;
  if (b.connection !== undefined) return `connection:${String(b.connection)}`;
  return `smb-session:${String(b.session ?? '')}`;
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
  admin.add(
    'POST',
    SMB_END_SESSION_PATH,
    'operator',
    'smb.end-session',
    (req) => endSmbSessions(servers(), req.body),
    ({ body }) => endSessionTarget(body),
  );
}

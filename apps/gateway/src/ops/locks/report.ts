import type { LocksRelease, LocksReport } from '@claudefs/api';
import type { Gateway } from '../../daemon/gateway.ts';
import { NfsServer } from '../../protocols/nfs/server.ts';
import { SmbServer } from '../../protocols/smb/server.ts';
import type { AdminResult } from '../admin/routes.ts';
import { lockViews } from './views.ts';

/**
 * Byte-range locks as an operator looks for them ("who holds this file locked?"): every lock
 * of this node's one table, NFS clients' (NLM) and SMB clients', as `./cfs smb status` names
 * them when SMB is served (SMB holders as user@address, files SMB clients have open by path).
 */
export function locksReport(gw: Gateway): LocksReport {
  const smb = gw.servers.find((s): s is SmbServer => s instanceof SmbServer);
  const nfs = gw.servers.find((s): s is NfsServer => s instanceof NfsServer);
  return { locks: smb ? smb.status().locks : lockViews(gw.ns.locks), waiting: nfs?.waitingLocks ?? 0 };
}

/**
 * Releases a departed NFS client's locks (POST /admin/locks/release, `{"client": NAME}`): 400
 * without a name, 404 when this node serves no NFS or the client holds and awaits nothing. An
 * SMB client's locks end with its open files (it closes them, or its session ends).
 */
export function releaseLocks(gw: Gateway, body: unknown): AdminResult {
  const client = (body as { client?: unknown } | undefined)?.client;
  if (typeof client !== 'string' || client.trim() === '' || client.length > 1024)
    return {
      status: 400,
      body: { error: 'name the NFS client: {"client": "host name its lock manager gives"}' },
    };
  const nfs = gw.servers.find((s): s is NfsServer => s instanceof NfsServer);
  if (!nfs) return { status: 404, body: { error: 'this gateway serves no NFS' } };
  const name = client.trim();
  const released = nfs.releaseLockClient(name);
  if (released === undefined) {
    // Its locks may be held through other nodes: each node's NLM service keeps its own clients'.
    const nodes = new Set(
      gw.ns.locks
        .remoteList()
        .filter((l) => l.owner.protocol === 'nfs' && l.owner.client === name)
        .map((l) => l.node),
    );
    const where =
      nodes.size > 0
        ? `; it holds locks through ${[...nodes].join(', ')}: release them there`
        : ' (./cfs locks lists holders)';
    return {
      status: 404,
      body: { error: `NFS client ${name} holds no lock here and waits for none${where}` },
    };
  }
  const out: LocksRelease = { client: name, released };
  return { body: out, auditDetail: out };
}

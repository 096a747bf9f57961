import { logRefusal } from '../../daemon/refusal-log.ts';
import { ROOT } from '../../storage/types.ts';
import { insecurePort } from '../client-access.ts';
import type { RpcProcedure } from '../rpc/program.ts';
import { decodeDirpath, encodeMountResult, MNT_AUTH_FLAVORS, type MountResult, Mountstat3 } from './codec.ts';
import { clientName, type MountEnv } from './context.ts';
import { exportContaining, normaliseMountPath } from './exports.ts';
import { DEFAULT_MNT3_STATUS, mountStatusOf } from './status-map.ts';

/**
 * MNT (RFC 1813 §5.2.1): the handle of an exported directory — the export root or any
 * directory below it (libnfs mounts `server:/export/sub/dir` directly). A path in no export,
 * or a client the export does not list, is MNT3ERR_ACCES (as Linux mountd answers); a missing
 * path MNT3ERR_NOENT; a path that is not a directory MNT3ERR_NOTDIR.
 */
export async function mnt(
  env: MountEnv,
  path: string,
  remoteAddress: string,
  remotePort: number,
): Promise<MountResult> {
  const normal = normaliseMountPath(path);
  if (normal === undefined) return { status: Mountstat3.INVAL };
  const found = exportContaining(env.exports, normal);
  if (!found) {
    const exported = env.exports.flatMap((e) => (e ? [e.path] : [])).join(', ');
    logRefusal(
      env.log,
      'warn',
      remoteAddress,
      'MOUNT refused: not exported',
      { client: remoteAddress, path: normal },
      `MOUNT of ${normal} refused to ${remoteAddress}: no export contains it (nfs.exports: ${exported})`,
    );
    return { status: Mountstat3.ACCES };
  }
  if (insecurePort(found.export, remotePort)) {
    // rpc.mountd's "illegal port" refusal: only a client's root can bind a port below 1024.
    logRefusal(
      env.log,
      'warn',
      remoteAddress,
      'MOUNT refused: unprivileged port',
      { client: remoteAddress, port: remotePort, path: normal },
      `MOUNT of ${normal} refused to ${remoteAddress}:${remotePort}: unprivileged port (the export is secure)`,
    );
    return { status: Mountstat3.ACCES };
  }
  if (!(await env.access.allowed(found.export, remoteAddress))) {
    // rpc.mountd's "refused mount request … (no match)": named with the list that refused it,
    // as SMB names hosts_allow, so the operator's next step is the configuration.
    const clients = found.export.clients.map((c) => c.text).join(', ');
    logRefusal(
      env.log,
      'warn',
      remoteAddress,
      'MOUNT refused: client not allowed',
      { client: remoteAddress, path: normal, export: found.export.path, clients },
      `MOUNT of ${normal} refused to ${remoteAddress}: not in the clients of export ${found.export.path} (${clients})`,
    );
    return { status: Mountstat3.ACCES };
  }
  let dir: Awaited<ReturnType<MountEnv['ns']['resolvePath']>>;
  try {
    // The lookup runs as root, as mountd's does: the client's credential applies to NFS calls.
    dir = await env.ns.resolvePath(ROOT, normal);
  } catch (e) {
    const status = mountStatusOf(e);
    if (status === DEFAULT_MNT3_STATUS) env.log.error({ err: e, path: normal }, 'MOUNT lookup failed');
    return { status };
  }
  if (dir.type !== 'dir') return { status: Mountstat3.NOTDIR };
  const fhandle = env.handleOf(found.index, dir);
  env.mounts.add(clientName(remoteAddress), normal);
  return { status: Mountstat3.OK, fhandle, authFlavors: MNT_AUTH_FLAVORS };
}

export function mntProcedure(env: MountEnv): RpcProcedure {
  return {
    name: 'MNT',
    // Mounting twice gives the same handle; the mount table entry is idempotent too.
    idempotent: true,
    async handle(call, reply) {
      const path = decodeDirpath(call.args);
      encodeMountResult(reply, await mnt(env, path, call.remoteAddress, call.remotePort));
    },
  };
}

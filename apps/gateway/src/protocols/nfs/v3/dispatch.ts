import { logRefusal } from '../../../daemon/refusal-log.ts';
import type { RpcCall } from '../../rpc/program.ts';
import type { XdrReader } from '../../xdr/reader.ts';
import type { XdrWriter } from '../../xdr/writer.ts';
import { type NfsErrorStatus, Nfsstat3, Proc, type ProcName, statusName } from './constants.ts';
import { NfsCall, type NfsEnv } from './context.ts';
import { NfsStatusError } from './errors.ts';
import type { Procedure } from './procedure.ts';
import { access } from './procedures/access.ts';
import { commit } from './procedures/commit.ts';
import { create } from './procedures/create.ts';
import { fsinfo } from './procedures/fsinfo.ts';
import { fsstat } from './procedures/fsstat.ts';
import { getattr } from './procedures/getattr.ts';
import { link } from './procedures/link.ts';
import { lookup } from './procedures/lookup.ts';
import { mkdir } from './procedures/mkdir.ts';
import { mknod } from './procedures/mknod.ts';
import { nullProc } from './procedures/null.ts';
import { pathconf } from './procedures/pathconf.ts';
import { read } from './procedures/read.ts';
import { readdir } from './procedures/readdir.ts';
import { readdirplus } from './procedures/readdirplus.ts';
import { readlink } from './procedures/readlink.ts';
import { remove } from './procedures/remove.ts';
import { rename } from './procedures/rename.ts';
import { rmdir } from './procedures/rmdir.ts';
import { setattr } from './procedures/setattr.ts';
import { symlink } from './procedures/symlink.ts';
import { write } from './procedures/write.ts';
import { isUnexpected, nfsStatusOf } from './status-map.ts';

/**
 * One row per NFSv3 procedure (RFC 1813 §3.3). `mutates`: refused with NFS3ERR_ROFS on a
 * read-only export (NfsCall.file). `idempotent: false`: the RPC layer answers retransmissions
 * from its duplicate request cache — the procedures knfsd caches (RC_REPLBUFF / RC_REPLSTAT),
 * so a retransmitted REMOVE does not turn into NOENT or a WRITE reapply over a later one.
 */
export interface NfsRow<A = unknown, R = unknown> extends Procedure<A, R> {
  proc: number;
  name: ProcName;
  mutates: boolean;
  idempotent: boolean;
  /** Its arguments are not kept past the reply (RpcProcedure.keepsNoArguments). */
  keepsNoArguments?: boolean;
}

function row<A, R>(r: NfsRow<A, R>): NfsRow {
  return r as NfsRow;
}

export const NFS3_TABLE: readonly NfsRow[] = [
  row({ proc: Proc.NULL, name: 'NULL', ...nullProc, mutates: false, idempotent: true }),
  row({ proc: Proc.GETATTR, name: 'GETATTR', ...getattr, mutates: false, idempotent: true }),
  row({ proc: Proc.SETATTR, name: 'SETATTR', ...setattr, mutates: true, idempotent: false }),
  row({ proc: Proc.LOOKUP, name: 'LOOKUP', ...lookup, mutates: false, idempotent: true }),
  row({ proc: Proc.ACCESS, name: 'ACCESS', ...access, mutates: false, idempotent: true }),
  row({ proc: Proc.READLINK, name: 'READLINK', ...readlink, mutates: false, idempotent: true }),
  row({ proc: Proc.READ, name: 'READ', ...read, mutates: false, idempotent: true }),
  row({
    proc: Proc.WRITE,
    name: 'WRITE',
    ...write,
    mutates: true,
    idempotent: false,
    keepsNoArguments: true,
  }),
  row({ proc: Proc.CREATE, name: 'CREATE', ...create, mutates: true, idempotent: false }),
  row({ proc: Proc.MKDIR, name: 'MKDIR', ...mkdir, mutates: true, idempotent: false }),
  row({ proc: Proc.SYMLINK, name: 'SYMLINK', ...symlink, mutates: true, idempotent: false }),
  row({ proc: Proc.MKNOD, name: 'MKNOD', ...mknod, mutates: true, idempotent: false }),
  row({ proc: Proc.REMOVE, name: 'REMOVE', ...remove, mutates: true, idempotent: false }),
  row({ proc: Proc.RMDIR, name: 'RMDIR', ...rmdir, mutates: true, idempotent: false }),
  row({ proc: Proc.RENAME, name: 'RENAME', ...rename, mutates: true, idempotent: false }),
  row({ proc: Proc.LINK, name: 'LINK', ...link, mutates: true, idempotent: false }),
  row({ proc: Proc.READDIR, name: 'READDIR', ...readdir, mutates: false, idempotent: true }),
  row({ proc: Proc.READDIRPLUS, name: 'READDIRPLUS', ...readdirplus, mutates: false, idempotent: true }),
  row({ proc: Proc.FSSTAT, name: 'FSSTAT', ...fsstat, mutates: false, idempotent: true }),
  row({ proc: Proc.FSINFO, name: 'FSINFO', ...fsinfo, mutates: false, idempotent: true }),
  row({ proc: Proc.PATHCONF, name: 'PATHCONF', ...pathconf, mutates: false, idempotent: true }),
  row({ proc: Proc.COMMIT, name: 'COMMIT', ...commit, mutates: false, idempotent: true }),
];

/**
 * Runs one call through its row: decode (an XdrError propagates: GARBAGE_ARGS), refuse
 * trailing bytes, handle, and on any failure build the procedure's full failure reply from
 * the one status table. A defect in the server is logged as an error, a security refusal
 * (isSecurityRefusal) as a warning, anything else at debug; metrics
 * read the nfsstat3 at the head of the result (protocols/nfs/server.ts resultStatus).
 */
export function runRow(
  row: NfsRow,
  env: NfsEnv,
  call: Pick<RpcCall, 'args' | 'cred' | 'remoteAddress' | 'remotePort'>,
  reply: XdrWriter,
): void | Promise<void> {
  const args = decodeArgs(row, call.args);
  const ctx = new NfsCall(env, row.mutates, call);
  if (row.now) {
    // Answered from the attribute cache without a wait, or by the full path below with what
    // the quick look learnt (the client check's answer); should the look have thrown, the full
    // path starts afresh and says what went wrong.
    let res: unknown;
    try {
      res = row.now(ctx, args);
    } catch {
      return settle(row, new NfsCall(env, row.mutates, call), args, reply);
    }
    if (res !== undefined) {
      row.encode(reply, res);
      return;
    }
  }
  return settle(row, ctx, args, reply);
}

/** runRow's full path: the handler, and on any failure the procedure's failure result. */
async function settle(row: NfsRow, ctx: NfsCall, args: unknown, reply: XdrWriter): Promise<void> {
  const { env, caller: call } = ctx;
  let res: unknown;
  try {
    res = await row.handle(ctx, args);
  } catch (e) {
    const failure: NfsErrorStatus = nfsStatusOf(e);
    if (isUnexpected(e)) env.log?.error({ err: e, proc: row.name }, `NFSv3 ${row.name} failed unexpectedly`);
    else if (isSecurityRefusal(e, failure) && env.log) {
      logRefusal(env.log, 'warn', call.remoteAddress, `NFSv3 ${row.name} refused: ${statusName(failure)}`, {
        proc: row.name,
        status: statusName(failure),
        reason: (e as Error).message,
        remote: call.remoteAddress,
        uid: call.cred.flavor === 'sys' ? call.cred.uid : undefined,
      });
    } else
      env.log?.debug(
        { proc: row.name, status: statusName(failure), reason: (e as Error).message },
        'NFSv3 refusal',
      );
    res = await row.fail(ctx, args, failure);
  }
  row.encode(reply, res);
}

/**
 * Refusals an operator must be able to see at the default log level: permission (ACCES, PERM,
 * root squash included) and handles that do not verify or name an export the caller cannot
 * reach. A STALE from the namespace (a file deleted meanwhile) is routine and stays at debug.
 */
function isSecurityRefusal(e: unknown, status: NfsErrorStatus): boolean {
  if (status === Nfsstat3.ACCES || status === Nfsstat3.PERM || status === Nfsstat3.BADHANDLE) return true;
  return status === Nfsstat3.STALE && e instanceof NfsStatusError;
}

export function decodeArgs(row: NfsRow, r: XdrReader): unknown {
  const args = row.decode(r);
  r.end(`${row.name} arguments`);
  return args;
}

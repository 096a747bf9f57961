import type { Logger } from '../../daemon/logger.ts';
import { FsError } from '../../storage/errors.ts';
import type { RpcCall } from '../rpc/program.ts';
import { Nlm4Stat } from './codec.ts';
import type { NlmLockManager } from './lock-manager.ts';

/** Where a call came from. */
export type NlmCaller = Pick<RpcCall, 'remoteAddress' | 'remotePort'>;

/** What the NLM procedures share. */
export interface NlmEnv {
  manager: NlmLockManager;
  /**
   * The inode an NFS file handle names (nfs/v3/handle.ts), checked live; throws for a handle
   * that is malformed, forged, of an export no longer served, or of a removed file, and an
   * FsError EACCES when the export does not list the client (or is `secure` and the call came
   * from an unprivileged port).
   */
  inodeOf(fh: Buffer, caller: NlmCaller): Promise<bigint>;
  log: Logger;
}

/**
 * A handle that cannot be used: NLM4_STALE_FH; NLM4_FAILED for a client the export does not
 * list (NLM has no "access denied") or while the metadata store is out.
 */
export function handleFailure(e: unknown): typeof Nlm4Stat.STALE_FH | typeof Nlm4Stat.FAILED {
  const failed = e instanceof FsError && (e.code === 'EAGAIN' || e.code === 'EIO' || e.code === 'EACCES');
  return failed ? Nlm4Stat.FAILED : Nlm4Stat.STALE_FH;
}

/** The inode of a request's file, or the status to answer instead. */
export async function resolveFile(
  env: NlmEnv,
  fh: Buffer,
  caller: NlmCaller,
): Promise<{ ino: bigint } | { stat: Nlm4Stat }> {
  try {
    return { ino: await env.inodeOf(fh, caller) };
  } catch (e) {
    return { stat: handleFailure(e) };
  }
}

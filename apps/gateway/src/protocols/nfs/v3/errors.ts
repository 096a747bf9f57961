import { type NfsErrorStatus, statusName } from './constants.ts';

/**
 * A refusal decided by the NFS layer itself (a bad or stale handle, a read-only export, a
 * cross-export RENAME, a bad cookie …). Like an FsError it becomes the procedure's failure
 * reply through status-map.ts; it never escapes to the RPC layer.
 */
export class NfsStatusError extends Error {
  override readonly name = 'NfsStatusError';
  constructor(
    readonly status: NfsErrorStatus,
    message: string,
  ) {
    super(`${statusName(status)}: ${message}`);
  }
}

export function nfsError(status: NfsErrorStatus, message: string): NfsStatusError {
  return new NfsStatusError(status, message);
}

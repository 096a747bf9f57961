import { FsError, type FsErrorCode } from '../../../storage/errors.ts';
import { type NfsErrorStatus, Nfsstat3 } from './constants.ts';
import { NfsStatusError } from './errors.ts';

/**
 * The one table from the namespace's error vocabulary to nfsstat3 (RFC 1813 §2.6). It is total
 * over FsErrorCode, so a new namespace code cannot be added without deciding its NFS status.
 */
export const FS_TO_NFS3: Readonly<Record<FsErrorCode, NfsErrorStatus>> = {
  ENOENT: Nfsstat3.NOENT,
  EACCES: Nfsstat3.ACCES,
  EPERM: Nfsstat3.PERM,
  EEXIST: Nfsstat3.EXIST,
  ENOTDIR: Nfsstat3.NOTDIR,
  EISDIR: Nfsstat3.ISDIR,
  EINVAL: Nfsstat3.INVAL,
  EFBIG: Nfsstat3.FBIG,
  ENOSPC: Nfsstat3.NOSPC,
  EROFS: Nfsstat3.ROFS,
  EMLINK: Nfsstat3.MLINK,
  ENAMETOOLONG: Nfsstat3.NAMETOOLONG,
  ENOTEMPTY: Nfsstat3.NOTEMPTY,
  EDQUOT: Nfsstat3.DQUOT,
  ESTALE: Nfsstat3.STALE,
  ENOTSUP: Nfsstat3.NOTSUPP,
  ENOTSYNC: Nfsstat3.NOT_SYNC,
  /** An open circuit breaker: the client retries later (RFC 1813 §2.6 NFS3ERR_JUKEBOX). */
  EAGAIN: Nfsstat3.JUKEBOX,
  EIO: Nfsstat3.IO,
  EXDEV: Nfsstat3.XDEV,
  /** No symlink is ever followed by the server; a loop can only be a namespace defect. */
  ELOOP: Nfsstat3.SERVERFAULT,
  EBADF: Nfsstat3.SERVERFAULT,
};

/** What anything that is neither an FsError nor an NfsStatusError becomes. */
export const DEFAULT_NFS3_STATUS: NfsErrorStatus = Nfsstat3.SERVERFAULT;

/** The nfsstat3 a failure is answered with. */
export function nfsStatusOf(e: unknown): NfsErrorStatus {
  if (e instanceof NfsStatusError) return e.status;
  if (e instanceof FsError) return FS_TO_NFS3[e.code] ?? DEFAULT_NFS3_STATUS;
  return DEFAULT_NFS3_STATUS;
}

/** True when the failure is not one the table knows: it is logged as a server fault. */
export function isUnexpected(e: unknown): boolean {
  return !(e instanceof NfsStatusError || e instanceof FsError);
}

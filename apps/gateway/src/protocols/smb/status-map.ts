import type { FsErrorCode } from '../../storage/errors.ts';
import { isFsError } from '../../storage/errors.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { WireError } from './wire/reader.ts';

/**
 * The one table from the namespace's error vocabulary to NTSTATUS (after Samba's
 * errmap_unix.c). EAGAIN is what the namespace raises while a backend's circuit is open:
 * STATUS_NETWORK_BUSY, Samba's answer to EAGAIN, which SMB clients treat as "retry later".
 * ENOENT of a path's parent is told apart by the path walker (OBJECT_PATH_NOT_FOUND).
 */
export const FS_STATUS: Readonly<Record<FsErrorCode, number>> = {
  ENOENT: NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND,
  EACCES: NT_STATUS.STATUS_ACCESS_DENIED,
  EPERM: NT_STATUS.STATUS_ACCESS_DENIED,
  EEXIST: NT_STATUS.STATUS_OBJECT_NAME_COLLISION,
  ENOTDIR: NT_STATUS.STATUS_NOT_A_DIRECTORY,
  EISDIR: NT_STATUS.STATUS_FILE_IS_A_DIRECTORY,
  ENOTEMPTY: NT_STATUS.STATUS_DIRECTORY_NOT_EMPTY,
  EINVAL: NT_STATUS.STATUS_INVALID_PARAMETER,
  ENAMETOOLONG: NT_STATUS.STATUS_OBJECT_NAME_INVALID,
  EXDEV: NT_STATUS.STATUS_NOT_SAME_DEVICE,
  EDQUOT: NT_STATUS.STATUS_DISK_FULL,
  ENOSPC: NT_STATUS.STATUS_DISK_FULL,
  ESTALE: NT_STATUS.STATUS_FILE_CLOSED,
  EROFS: NT_STATUS.STATUS_MEDIA_WRITE_PROTECTED,
  EIO: NT_STATUS.STATUS_UNEXPECTED_IO_ERROR,
  EAGAIN: NT_STATUS.STATUS_NETWORK_BUSY,
  EFBIG: NT_STATUS.STATUS_DISK_FULL,
  EMLINK: NT_STATUS.STATUS_TOO_MANY_LINKS,
  ELOOP: NT_STATUS.STATUS_STOPPED_ON_SYMLINK,
  ENOTSUP: NT_STATUS.STATUS_NOT_SUPPORTED,
  EBADF: NT_STATUS.STATUS_INVALID_HANDLE,
  ENOTSYNC: NT_STATUS.STATUS_INVALID_PARAMETER,
};

/** Anything a handler throws that is none of the above. */
export const DEFAULT_STATUS = NT_STATUS.STATUS_INTERNAL_ERROR;

export interface MappedStatus {
  status: number;
  errorData?: Buffer;
  /** True for the default: an unexpected failure the server logs. */
  unexpected: boolean;
}

export function statusOf(e: unknown): MappedStatus {
  if (e instanceof SmbError) return { status: e.status, errorData: e.errorData, unexpected: false };
  if (isFsError(e)) return { status: FS_STATUS[e.code] ?? DEFAULT_STATUS, unexpected: false };
  if (e instanceof WireError) return { status: NT_STATUS.STATUS_INVALID_PARAMETER, unexpected: false };
  return { status: DEFAULT_STATUS, unexpected: true };
}

/**
 * Errors (severity 3) count as failed requests; success, informational and warnings do not,
 * nor STATUS_MORE_PROCESSING_REQUIRED: error severity by its number, but the normal first leg
 * of every NTLM SESSION_SETUP (counted, each sign-in read as one failed request, and the
 * runbook's error-rate alert fired on healthy traffic).
 */
export function isErrorStatus(status: number): boolean {
  return status >>> 30 === 3 && status !== NT_STATUS.STATUS_MORE_PROCESSING_REQUIRED;
}

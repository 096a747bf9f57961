/**
 * The namespace's one error vocabulary. Every protocol maps these codes in its own table
 * (nfs3/status-map.ts, smb2/status-map.ts, s3/errors.ts); nobody matches on message text.
 */
export const FS_ERROR_CODES = [
  'ENOENT',
  'EACCES',
  'EPERM',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'ENOTEMPTY',
  'EINVAL',
  'ENAMETOOLONG',
  'EXDEV',
  'EDQUOT',
  'ENOSPC',
  'ESTALE',
  'EROFS',
  'EIO',
  'EAGAIN',
  'EFBIG',
  'EMLINK',
  'ELOOP',
  'ENOTSUP',
  'EBADF',
  /** SETATTR guard mismatch (NFSv3 sattrguard3): the ctime the client saw is not current. */
  'ENOTSYNC',
] as const;

export type FsErrorCode = (typeof FS_ERROR_CODES)[number];

export class FsError extends Error {
  override readonly name = 'FsError';
  constructor(
    readonly code: FsErrorCode,
    message: string,
    /** What the error is about: a path, a name or an inode, for logs and protocol messages. */
    readonly subject?: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export function fsError(code: FsErrorCode, message: string, subject?: string): FsError {
  return new FsError(code, message, subject);
}

export function isFsError(e: unknown, code?: FsErrorCode): e is FsError {
  return e instanceof FsError && (code === undefined || e.code === code);
}

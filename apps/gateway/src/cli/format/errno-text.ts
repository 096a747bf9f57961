import { type FsErrorCode, isFsError } from '../../storage/errors.ts';

const STRERROR: Partial<Record<FsErrorCode, string>> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  ENAMETOOLONG: 'File name too long',
  EACCES: 'Permission denied',
  EINVAL: 'Invalid argument',
  ESTALE: 'Stale file handle',
  ELOOP: 'Too many levels of symbolic links',
  EIO: 'Input/output error',
};

/** `ls: cannot access 'PATH': No such file or directory`, as coreutils words it (stat says "cannot stat"). */
export function cannotAccess(command: string, path: string, e: unknown, verb = 'access'): string {
  const text = isFsError(e) ? (STRERROR[e.code] ?? e.message) : (e as Error).message;
  return `${command}: cannot ${verb} '${path}': ${text}\n`;
}

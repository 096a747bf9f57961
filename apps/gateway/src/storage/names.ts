import { fsError } from './errors.ts';

/** NAME_MAX, as Linux and NFS clients expect it; longer names get ENAMETOOLONG. */
export const NAME_MAX_BYTES = 255;
/** PATH_MAX for whole namespace paths and symlink targets. */
export const PATH_MAX_BYTES = 4096;

/**
 * Validates a name that is about to be created or become a rename target.
 * Each failure has its own code so protocols can answer precisely and nothing changes.
 */
export function checkNewName(name: string): void {
  if (name.length === 0) throw fsError('EINVAL', 'empty name');
  if (name === '.' || name === '..') throw fsError('EINVAL', `"${name}" cannot be created`, name);
  if (name.includes('/')) throw fsError('EINVAL', 'name contains "/"', name);
  if (name.includes('\0')) throw fsError('EINVAL', 'name contains NUL', name);
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX_BYTES) {
    throw fsError('ENAMETOOLONG', `name longer than ${NAME_MAX_BYTES} bytes`, name.slice(0, 32));
  }
}

/** Validates a name used to look up an existing entry ("." and ".." are allowed). */
export function checkLookupName(name: string): void {
  if (name === '.' || name === '..') return;
  checkNewName(name);
}

/**
 * Splits an absolute namespace path into its components, refusing anything that could
 * escape: relative paths, "." or ".." components, empty components, NUL.
 */
export function splitPath(path: string): string[] {
  if (!path.startsWith('/')) throw fsError('EINVAL', 'path must be absolute', path);
  if (Buffer.byteLength(path, 'utf8') > PATH_MAX_BYTES) throw fsError('ENAMETOOLONG', 'path too long', path);
  const parts = path.split('/').filter((p, i, all) => !(p === '' && (i === 0 || i === all.length - 1)));
  for (const part of parts) {
    if (part === '') throw fsError('EINVAL', 'empty path component', path);
    if (part === '.' || part === '..') throw fsError('EINVAL', 'path may not contain "." or ".."', path);
    checkNewName(part);
  }
  return parts;
}

import { FsError, type FsErrorCode } from '../../storage/errors.ts';
import { Mountstat3 } from './codec.ts';

type MountError = Exclude<Mountstat3, typeof Mountstat3.OK>;

/** The namespace's error vocabulary as mountstat3, for MNT's path lookup. */
export const FS_TO_MNT3: Readonly<Partial<Record<FsErrorCode, MountError>>> = {
  ENOENT: Mountstat3.NOENT,
  ESTALE: Mountstat3.NOENT,
  ENOTDIR: Mountstat3.NOTDIR,
  EACCES: Mountstat3.ACCES,
  EPERM: Mountstat3.PERM,
  ENAMETOOLONG: Mountstat3.NAMETOOLONG,
  EINVAL: Mountstat3.INVAL,
  EIO: Mountstat3.IO,
  EAGAIN: Mountstat3.IO,
};

/** Anything else (a namespace code without a MOUNT meaning, or not an FsError). */
export const DEFAULT_MNT3_STATUS: MountError = Mountstat3.SERVERFAULT;

export function mountStatusOf(e: unknown): MountError {
  return e instanceof FsError ? (FS_TO_MNT3[e.code] ?? DEFAULT_MNT3_STATUS) : DEFAULT_MNT3_STATUS;
}

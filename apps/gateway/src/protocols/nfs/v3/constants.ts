/** NFS version 3 protocol constants (RFC 1813 §2.2, §2.4, §2.5, §3.3). */

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;

/** nfsstat3 (RFC 1813 §2.6). */
export const Nfsstat3 = {
  OK: 0,
  PERM: 1,
  NOENT: 2,
  IO: 5,
  NXIO: 6,
  ACCES: 13,
  EXIST: 17,
  XDEV: 18,
  NODEV: 19,
  NOTDIR: 20,
  ISDIR: 21,
  INVAL: 22,
  FBIG: 27,
  NOSPC: 28,
  ROFS: 30,
  MLINK: 31,
  NAMETOOLONG: 63,
  NOTEMPTY: 66,
  DQUOT: 69,
  STALE: 70,
  REMOTE: 71,
  BADHANDLE: 10001,
  NOT_SYNC: 10002,
  BAD_COOKIE: 10003,
  NOTSUPP: 10004,
  TOOSMALL: 10005,
  SERVERFAULT: 10006,
  BADTYPE: 10007,
  JUKEBOX: 10008,
} as const;
export type Nfsstat3 = (typeof Nfsstat3)[keyof typeof Nfsstat3];
export type NfsErrorStatus = Exclude<Nfsstat3, typeof Nfsstat3.OK>;

const STATUS_NAMES = new Map<number, string>(
  Object.entries(Nfsstat3).map(([name, value]) => [value, value === 0 ? 'NFS3_OK' : `NFS3ERR_${name}`]),
);

/** "NFS3_OK", "NFS3ERR_STALE", … (logs and metrics labels). */
export function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `NFS3ERR_${status}`;
}

/** ftype3 (RFC 1813 §2.5). */
export const Ftype3 = { REG: 1, DIR: 2, BLK: 3, CHR: 4, LNK: 5, SOCK: 6, FIFO: 7 } as const;
export type Ftype3 = (typeof Ftype3)[keyof typeof Ftype3];
export const FTYPE3_VALUES: ReadonlySet<number> = new Set(Object.values(Ftype3));

/** Procedure numbers (RFC 1813 §3). */
export const Proc = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;
export type ProcName = keyof typeof Proc;

/** nfs_fh3 is opaque<NFS3_FHSIZE> (RFC 1813 §2.4). */
export const NFS3_FHSIZE = 64;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_CREATEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;

/** ACCESS3 bits (RFC 1813 §3.3.4). */
export const Access3 = {
  READ: 0x01,
  LOOKUP: 0x02,
  MODIFY: 0x04,
  EXTEND: 0x08,
  DELETE: 0x10,
  EXECUTE: 0x20,
} as const;

/** stable_how (RFC 1813 §3.3.7). */
export const StableHow = { UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 } as const;
export type StableHow = (typeof StableHow)[keyof typeof StableHow];

/** createmode3 (RFC 1813 §3.3.8). */
export const CreateMode3 = { UNCHECKED: 0, GUARDED: 1, EXCLUSIVE: 2 } as const;

/** time_how (RFC 1813 §2.5: set_atime / set_mtime). */
export const TimeHow = { DONT_CHANGE: 0, SET_TO_SERVER_TIME: 1, SET_TO_CLIENT_TIME: 2 } as const;

/** FSINFO properties (RFC 1813 §3.3.19). */
export const FSF3 = { LINK: 0x0001, SYMLINK: 0x0002, HOMOGENEOUS: 0x0008, CANSETTIME: 0x0010 } as const;

const MiB = 1024 * 1024;

/**
 * What FSINFO advertises. rtmax/wtmax stay within one RPC record (rpc/record.ts accepts a
 * 4 MiB WRITE plus headers); clients use the preferred sizes.
 */
export const Limits = {
  rtmax: 4 * MiB,
  rtpref: MiB,
  rtmult: 4096,
  wtmax: 4 * MiB,
  wtpref: MiB,
  wtmult: 4096,
  /** Preferred READDIR reply size. */
  dtpref: 64 * 1024,
  /** Largest count honoured for READDIR / READDIRPLUS replies (larger requests are trimmed). */
  dirmax: MiB,
  /** PATHCONF. */
  linkMax: 65000,
  nameMax: 255,
  pathMax: 4096,
} as const;

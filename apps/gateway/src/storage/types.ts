/** The caller's identity, as every protocol hands it to the namespace (AUTH_SYS-like). */
export interface Credential {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (the primary gid need not be repeated). */
  readonly gids: readonly number[];
  /**
   * NFS's owner override (knfsd's): the owner reads and writes its file whatever the mode says,
   * since a client checks permissions at open and a file created read-only must still take
   * the data written through that open. Set only for NFS READ, WRITE and a SETATTR of the size.
   */
  readonly ownerOverride?: boolean;
}

export const ROOT: Credential = Object.freeze({ uid: 0, gid: 0, gids: [] });

export type FileType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev';

/** Times are integer nanoseconds since the Unix epoch (bigint keeps NFS/SMB precision). */
export interface Attributes {
  readonly ino: bigint;
  readonly generation: number;
  readonly type: FileType;
  /** Permission bits and setuid/setgid/sticky (07777); the type is in `type`. */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  /** Bytes allocated on the data store (sparse files use less than size). */
  readonly used: bigint;
  readonly rdev: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  /** Creation (birth) time: SMB needs it. */
  readonly btimeNs: bigint;
  /** Bumped on every change of data or metadata; NFS change attribute / S3 ETag cache key. */
  readonly changeId: bigint;
  /** Parent directory's inode for directories (for `..`), 0n for others. */
  readonly parent: bigint;
  /**
   * Until when (ns since the epoch) the file is immutable: its bytes, size, mode, owner and
   * times cannot change and its last name cannot go (S3 Object Lock; `chattr +i` with an end).
   * 0n: not immutable. A legal hold is IMMUTABLE_FOREVER until lifted.
   */
  readonly immutableUntilNs: bigint;
}

/** An immutableUntilNs that does not run out by itself (an S3 legal hold). */
export const IMMUTABLE_FOREVER = 2n ** 63n - 1n;

/**
 * The immutableUntilNs of a kept S3 version (versioning/store.ts): the object an S3 write or
 * delete replaced stays the same inode, now named only in the versions tree, and an NFS handle
 * or SMB open taken while it was current must not change what S3 keeps of it. Lifted when the
 * version is made current again or removed; its own Object Lock is kept in its attributes.
 */
export const KEPT_VERSION_HOLD = IMMUTABLE_FOREVER - 1n;

/** Whether the file is immutable at `nowNs`. */
export const isImmutable = (a: Pick<Attributes, 'immutableUntilNs'>, nowNs: bigint): boolean =>
  a.immutableUntilNs > nowNs;

export interface SetAttributes {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  /** A number of ns, or 'now' for the server's clock. */
  atimeNs?: bigint | 'now';
  mtimeNs?: bigint | 'now';
  btimeNs?: bigint;
  /** Guard (NFSv3 SETATTR sattrguard3): fail with EAGAIN-free ENOTSYNC-like EINVAL if ctime differs. */
  guardCtimeNs?: bigint;
}

export type CreateMode =
  | { kind: 'unchecked' }
  | { kind: 'guarded' }
  /** Exclusive create with an 8-byte verifier: a retransmission with the same verifier succeeds. */
  | { kind: 'exclusive'; verifier: Buffer };

export interface DirEntry {
  readonly name: string;
  readonly ino: bigint;
  readonly type: FileType;
  /** Stable cookie: pass it back to continue after this entry. */
  readonly cookie: bigint;
}

export interface DirPage {
  readonly entries: DirEntry[];
  /** True when no entries follow the last one returned. */
  readonly eof: boolean;
}

/** A directory entry with its attributes; none when the inode went while it was listed. */
export interface DirPlusEntry extends DirEntry {
  readonly attrs?: Attributes;
}

export interface DirPlusPage {
  readonly entries: DirPlusEntry[];
  readonly eof: boolean;
}

export interface FsStats {
  readonly totalBytes: bigint;
  readonly freeBytes: bigint;
  readonly availBytes: bigint;
  readonly totalFiles: bigint;
  readonly freeFiles: bigint;
}

export interface ReadResult {
  readonly data: Buffer;
  readonly eof: boolean;
  /**
   * Present on a pooled read: hands `data`'s buffer back for reuse. Call it once nothing holds
   * `data` any more (for a reply, when the socket has taken the bytes), or never.
   */
  readonly release?: () => void;
}

export interface ReadOptions {
  /** Read into a reusable buffer from the namespace's pool (large reads; see buffer-pool.ts). */
  pooled?: boolean;
  /**
   * The caller only reads the bytes (sends them) and never changes them: they may be a copy
   * the namespace or its data store holds, handed out without copying (an S3 GET).
   */
  shared?: boolean;
}

/** 'unstable' may be lost by a crash until commit(); 'data' and 'file' are durable on return. */
/** What a conditional remove expects the name to hold: this inode, at this change id. */
export interface RemoveExpectation {
  ino: bigint;
  changeId: bigint;
}

export type Stability = 'unstable' | 'data' | 'file';

/** Stable handle material: what a protocol encodes (and MACs) into its file handle. */
export interface InodeRef {
  readonly ino: bigint;
  readonly generation: number;
}

export interface QuotaUsage {
  readonly kind: 'uid' | 'gid';
  readonly id: number;
  readonly bytes: bigint;
  readonly inodes: bigint;
}

import type { CachingRecalls } from './caching-recall.ts';
import type {
  Attributes,
  CreateMode,
  Credential,
  DirPage,
  DirPlusPage,
  FsStats,
  InodeRef,
  QuotaUsage,
  ReadOptions,
  ReadResult,
  RemoveExpectation,
  SetAttributes,
  Stability,
} from './types.ts';

/** The inodes whose names a call removed (a rename's replaced target among them). */
export type Unlinked = readonly bigint[];

/**
 * The only door protocols use to touch data. Every call carries the caller's credential;
 * permission (POSIX mode bits) and ledger accounting happen here, once, for all protocols.
 * Mutations resolve only once durable (group commit), except writes with 'unstable' stability.
 * Failures reject with FsError (errors.ts).
 */
export interface NamespaceApi {
  readonly rootIno: bigint;
  /**
   * Client caching (SMB oplocks and leases) a protocol that takes no part in it recalls before
   * it changes or reads a file (caching-recall.ts): `recall(ino)` before data, size or
   * attributes change, `recall(ino, 'read')` before its bytes are read, `recallNamed` before a
   * name is removed or replaced.
   */
  readonly caching: CachingRecalls;
  recallNamed(cred: Credential, dir: bigint, name: string): Promise<void>;

  /** Resolve a handle's (ino, generation); ESTALE when the inode is gone or reused. */
  getattr(ref: InodeRef | bigint): Promise<Attributes>;
  /**
   * The attributes when the attribute cache has them, without a wait; undefined otherwise
   * (and for a stale handle): getattr() then answers, or says why not.
   */
  cachedAttrs(ref: InodeRef | bigint): Attributes | undefined;
  lookup(cred: Credential, dir: bigint, name: string): Promise<Attributes>;
  /**
   * `lookup` of a name in `dir` (its attributes as the caller has them) when the entry and
   * attribute caches have it and the caller may search `dir`, without a wait; undefined
   * otherwise (`.`, `..`, a miss, a refusal): lookup() then answers, or says why not.
   */
  cachedLookup(cred: Credential, dir: Attributes, name: string): Attributes | undefined;
  /**
   * `access` when the attribute cache has the inode, without a wait; undefined otherwise.
   */
  cachedAccess(cred: Credential, ref: InodeRef | bigint, wanted: number): number | undefined;
  /** Walk an absolute namespace path ("/export/a/b") from the root, following no symlinks. */
  resolvePath(cred: Credential, path: string): Promise<Attributes>;
  /** Bitmask of R_OK(4)/W_OK(2)/X_OK(1) the credential has on the inode. */
  access(cred: Credential, ino: bigint, wanted: number): Promise<number>;
  setattr(cred: Credential, ino: bigint, attrs: SetAttributes): Promise<Attributes>;

  create(
    cred: Credential,
    dir: bigint,
    name: string,
    mode: number,
    how?: CreateMode,
    attrs?: SetAttributes,
  ): Promise<Attributes>;
  mkdir(cred: Credential, dir: bigint, name: string, mode: number): Promise<Attributes>;
  symlink(cred: Credential, dir: bigint, name: string, target: string): Promise<Attributes>;
  mknod(
    cred: Credential,
    dir: bigint,
    name: string,
    type: 'fifo' | 'socket',
    mode: number,
  ): Promise<Attributes>;
  readlink(cred: Credential, ino: bigint): Promise<string>;
  link(cred: Credential, ino: bigint, dir: bigint, name: string): Promise<Attributes>;
  /**
   * With `expect`: only while the name holds that inode unchanged (ESTALE otherwise). Remove,
   * rmdir and rename answer the inodes whose names they took away (a file with another link
   * lives on), for protocols that keep something per object (NFS's minted handles).
   */
  remove(cred: Credential, dir: bigint, name: string, expect?: RemoveExpectation): Promise<Unlinked>;
  rmdir(cred: Credential, dir: bigint, name: string): Promise<Unlinked>;
  /** Atomic; replaces a compatible target (file over file, empty dir over dir). */
  rename(
    cred: Credential,
    fromDir: bigint,
    fromName: string,
    toDir: bigint,
    toName: string,
  ): Promise<Unlinked>;
  /** Entries after `cookie` (0n = from the start), at most `limit`. No "." or "..". */
  readdir(cred: Credential, dir: bigint, cookie: bigint, limit: number): Promise<DirPage>;
  /**
   * readdir with each entry's attributes (READDIRPLUS, SMB): those the cache lacks are read in
   * one more query a page, and cached.
   */
  readdirPlus(cred: Credential, dir: bigint, cookie: bigint, limit: number): Promise<DirPlusPage>;
  /**
   * Entries whose names sort after `after` bytewise (UTF-8: S3's key order), in that order,
   * with their attributes, at most `limit`: one query a page on the name index.
   */
  readdirByName(cred: Credential, dir: bigint, after: string, limit: number): Promise<DirPlusPage>;
  /**
   * Reads the extended attributes of the cached inodes among `inos` that have none loaded,
   * in one query, so a listing's listXattrs() calls answer from the cache.
   */
  preloadXattrs(inos: readonly bigint[]): Promise<void>;

  read(
    cred: Credential,
    ino: bigint,
    offset: bigint,
    length: number,
    options?: ReadOptions,
  ): Promise<ReadResult>;
  /**
   * `read(…, { shared: true })`'s bytes when they are held whole in memory (a small file kept
   * in the metadata, whose bytes and attributes are cached) and the caller may read them,
   * without a wait; undefined otherwise (nothing to read, a miss, a refusal): read() then
   * answers, or says why not. Never changed in place: do not modify.
   */
  cachedRead(cred: Credential, ino: bigint, offset: bigint, length: number): Buffer | undefined;
  write(
    cred: Credential,
    ino: bigint,
    offset: bigint,
    data: Buffer,
    stability?: Stability,
  ): Promise<Attributes>;
  /** Make every earlier write to the inode durable (NFS COMMIT, SMB FLUSH). */
  commit(ino: bigint): Promise<void>;
  /** The capacity; with a credential, as that caller's quotas leave it. */
  statfs(cred?: Credential): Promise<FsStats>;

  getXattr(ino: bigint, name: string): Promise<Buffer | undefined>;
  /**
   * The inode's extended attributes (cached with its attributes: do not modify), without its
   * named streams (STREAM_XATTR_PREFIX).
   */
  listXattrs(ino: bigint): Promise<ReadonlyMap<string, Buffer>>;
  /** The inode's named streams by name (the prefix left off), with their sizes; not cached. */
  listStreams(ino: bigint): Promise<Array<{ name: string; size: number }>>;
  /** listXattrs' map when it is cached with the inode's attributes, without a wait. */
  cachedXattrs(ino: bigint): ReadonlyMap<string, Buffer> | undefined;
  /** Set (or, with value undefined, delete) extended attributes in one durable transaction. */
  /** `quiet`: annotations about the content (cached checksums) that change neither ctime nor changeId. */
  setXattrs(
    cred: Credential,
    ino: bigint,
    values: Record<string, Buffer | undefined>,
    opts?: { quiet?: boolean },
  ): Promise<void>;

  quotaUsage(kind: 'uid' | 'gid', id: number): Promise<QuotaUsage>;
  /** Every uid's and gid's usage the ledger holds. */
  allQuotaUsage(): Promise<QuotaUsage[]>;
}

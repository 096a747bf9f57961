/**
 * The one byte-range lock table of the gateway: NLM (NFSv3) and SMB2 LOCK both take their
 * locks here, so a lock taken over NFS blocks a conflicting SMB lock and the other way round.
 * Locks are advisory for NFS and mandatory for SMB I/O; each protocol decides what a
 * conflict means for its reads and writes by calling `conflict()`.
 */
export interface LockOwner {
  /** "nfs" | "smb": who to tell in logs and status tools. */
  protocol: string;
  /** Stable identity of the holder within its protocol (NLM caller+svid+oh; SMB session+open). */
  key: string;
  /** The client machine or session, for `./cfs smb status` and release on reboot/logoff. */
  client: string;
}

export interface ByteRangeLock {
  ino: bigint;
  offset: bigint;
  /** The bytes locked; 0n means "to the end of the file" (NLM's 0, an SMB range reaching 2^64) unless `point`. */
  length: bigint;
  /** An SMB zero-length lock (length 0n): the position `offset`, no byte. */
  point?: boolean;
  exclusive: boolean;
  owner: LockOwner;
  since: number;
  /** Held through another gateway node (cluster mode): that node's name. */
  node?: string;
}

/** A range as the table compares them: a lock's, or a read's or write's. */
export type LockSpan = Pick<ByteRangeLock, 'offset' | 'length' | 'point'>;

/** One past the last byte; the offset itself for a point; undefined for "to the end of the file". */
function end(l: LockSpan): bigint | undefined {
  if (l.point) return l.offset;
  return l.length === 0n ? undefined : l.offset + l.length;
}

/**
 * Whether two ranges meet (MS-FSA 2.1.4.10, half-open ranges): a point meets a range that holds
 * bytes on both sides of it, and never another point — a zero-length lock at 10 conflicts with
 * [9, 11) but not with [10, 12), [9, 10) or another zero-length lock at 10.
 */
export function spansMeet(a: LockSpan, b: LockSpan): boolean {
  const ae = end(a);
  const be = end(b);
  return (ae === undefined || b.offset < ae) && (be === undefined || a.offset < be);
}

/**
 * Byte-range locks across gateway nodes (postgres/cluster-locks.ts): decisions on an inode's
 * locks are made one node at a time, each seeing the others' locks of that inode.
 */
export interface LockCluster {
  /**
   * Runs `decide` (which takes or releases locks in this table) holding the cluster-wide lock of
   * the inode, with the other nodes' locks of it freshly loaded; stores this node's locks of it
   * before letting the next node decide.
   */
  arbitrate<T>(ino: bigint, decide: () => T): Promise<T>;
  /** Stores this node's locks of the inode after a release (in the background). */
  released(ino: bigint): void;
}

export class LockTable {
  private readonly byIno = new Map<bigint, ByteRangeLock[]>();
  /** Other gateway nodes' locks, by inode (cluster mode only). */
  private readonly remote = new Map<bigint, ByteRangeLock[]>();
  private readonly waiters = new Map<bigint, Set<() => void>>();
  /** Set when the namespace is shared with other gateway nodes. */
  cluster: LockCluster | undefined;

  /**
   * The first lock held by someone else — here or on another node — that conflicts with a lock
   * or an access of [offset, offset + length) (`point`: of the position offset), if any.
   */
  conflict(
    ino: bigint,
    offset: bigint,
    length: bigint,
    exclusive: boolean,
    ownerKey: string,
    point = false,
  ): ByteRangeLock | undefined {
    const span = { offset, length, point };
    for (const list of [this.byIno.get(ino), this.remote.get(ino)]) {
      for (const l of list ?? []) {
        if (l.owner.key === ownerKey) continue;
        if (!exclusive && !l.exclusive) continue;
        if (spansMeet(l, span)) return l;
      }
    }
    return undefined;
  }

  /**
   * Runs a decision about the inode's locks (lock, unlock, a POSIX split) so that no other node
   * decides about the same inode meanwhile. On one node it runs at once.
   */
  arbitrate<T>(ino: bigint, decide: () => T): T | Promise<T> {
    return this.cluster ? this.cluster.arbitrate(ino, decide) : decide();
  }

  /** This node's locks of an inode (what the cluster stores for it). */
  localLocks(ino: bigint): readonly ByteRangeLock[] {
    return this.byIno.get(ino) ?? [];
  }

  /** Puts this node's locks of an inode back as they were (a decision the cluster did not store). */
  restoreLocal(ino: bigint, locks: readonly ByteRangeLock[]): void {
    if (locks.length === 0) this.byIno.delete(ino);
    else this.byIno.set(ino, [...locks]);
    this.wake(ino);
  }

  /** Inodes this node holds locks on. */
  lockedInodes(): bigint[] {
    return [...this.byIno.keys()];
  }

  /** Inodes other nodes are known to hold locks on. */
  remoteInodes(): bigint[] {
    return [...this.remote.keys()];
  }

  /** Replaces what is known of other nodes' locks of an inode; a release wakes waiters. */
  setRemote(ino: bigint, locks: ByteRangeLock[]): void {
    const before = this.remote.get(ino)?.length ?? 0;
    if (locks.length === 0) this.remote.delete(ino);
    else this.remote.set(ino, locks);
    if (locks.length < before) this.wake(ino);
  }

  /** Takes the lock, or returns the conflicting lock and takes nothing. */
  lock(req: Omit<ByteRangeLock, 'since'>): { granted: true } | { granted: false; holder: ByteRangeLock } {
    const holder = this.conflict(req.ino, req.offset, req.length, req.exclusive, req.owner.key, req.point);
    if (holder) return { granted: false, holder };
    const list = this.byIno.get(req.ino) ?? [];
    list.push({ ...req, since: Date.now() });
    this.byIno.set(req.ino, list);
    return { granted: true };
  }

  /**
   * Releases the owner's lock on exactly this range (`point`: the SMB zero-length lock there),
   * of the mode `exclusive` names; without one, an exclusive lock before a shared one on the
   * same range (MS-FSA 2.1.5.9). True when one was held.
   */
  unlock(
    ino: bigint,
    offset: bigint,
    length: bigint,
    ownerKey: string,
    which: { point?: boolean; exclusive?: boolean } = {},
  ): boolean {
    const list = this.byIno.get(ino);
    if (!list) return false;
    const same = (l: ByteRangeLock) =>
      l.owner.key === ownerKey &&
      l.offset === offset &&
      l.length === length &&
      (l.point ?? false) === (which.point ?? false) &&
      (which.exclusive === undefined || l.exclusive === which.exclusive);
    let i = list.findIndex((l) => same(l) && l.exclusive);
    if (i < 0) i = list.findIndex(same);
    if (i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.byIno.delete(ino);
    this.cluster?.released(ino);
    this.wake(ino);
    return true;
  }

  /** Releases everything a client holds (NSM reboot notice, SMB logoff or disconnect). */
  releaseClient(protocol: string, client: string): number {
    let n = 0;
    for (const [ino, list] of this.byIno) {
      const keep = list.filter((l) => !(l.owner.protocol === protocol && l.owner.client === client));
      n += list.length - keep.length;
      if (keep.length === list.length) continue;
      if (keep.length === 0) this.byIno.delete(ino);
      else this.byIno.set(ino, keep);
      this.cluster?.released(ino);
      this.wake(ino);
    }
    return n;
  }

  /** Calls `listener` once, the next time a lock on `ino` is released (blocking NLM/SMB locks). */
  onRelease(ino: bigint, listener: () => void): () => void {
    const set = this.waiters.get(ino) ?? new Set();
    set.add(listener);
    this.waiters.set(ino, set);
    return () => set.delete(listener);
  }

  private wake(ino: bigint): void {
    const set = this.waiters.get(ino);
    if (!set) return;
    this.waiters.delete(ino);
    for (const l of set) l();
  }

  /** This node's locks. */
  list(): ByteRangeLock[] {
    return [...this.byIno.values()].flat();
  }

  /** The other nodes' locks as this node last heard of them (cluster mode). */
  remoteList(): ByteRangeLock[] {
    return [...this.remote.values()].flat();
  }
}

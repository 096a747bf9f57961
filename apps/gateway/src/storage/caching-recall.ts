import type { OpenHoldsCluster } from './open-holds.ts';

/** A protocol whose clients cache files (SMB oplocks and leases). */
export interface CachingHolder {
  /** Whether any client caches anything at all: with none, a recall costs one check. */
  readonly active: boolean;
  /** The other gateway nodes' clients (postgres/cluster-opens.ts), not this process's. */
  readonly remote?: boolean;
  /**
   * Before a change (`write`): takes every client's caching of the file away and resolves once
   * their dirty data is written and handles given up. Before a read (`read`): takes write
   * caching only, and resolves once what clients wrote is back. Before a rename or a delete
   * (`handle`): takes leases' handle caching. Resolved at the
   * acknowledgments, or when the holder's breaks time out; undefined when nobody caches what
   * the recall needs.
   */
  recall(ino: bigint, need: RecallNeed): Promise<void> | undefined;
}

/**
 * What the other protocol (or node) is about to do with the file: read it, change it, or rename
 * it or set it to be deleted (`handle`: clients give up the handles they keep open to cache
 * them, as SMB's own rename asks of its leases).
 */
export type RecallNeed = 'read' | 'write' | 'handle';

/** Whose caching a recall reaches: every client, this process's, or the other nodes'. */
export type RecallScope = 'all' | 'local' | 'remote';

/**
 * Recalls of client caching before a change or a read that does not come through the caching
 * protocol: an NFS WRITE or REMOVE, an S3 PUT or DELETE of a file an SMB client holds a lease
 * or oplock on waits until that client has flushed what it wrote and dropped what it read; an
 * NFS READ or S3 GET waits only for what it wrote — as a conflicting SMB open would (the
 * kernel's leases do the same for Samba beside knfsd). The caching protocol's own changes and
 * reads break what they must themselves.
 */
export class CachingRecalls {
  private readonly holders = new Set<CachingHolder>();
  /**
   * For the metrics: changes that had to recall caching, the time they waited, and breaks a
   * client never acknowledged (its caching taken at the timeout; counted by the holder).
   */
  readonly stats = { recalls: 0, waitedMs: 0, unanswered: 0 };
  /**
   * Several gateway nodes on one PostgreSQL: what their SMB clients hold of files, caching and
   * share modes (join-cluster.ts); also registered as the holder of the other nodes' caching.
   */
  cluster: OpenHoldsCluster | undefined;

  register(holder: CachingHolder): () => void {
    this.holders.add(holder);
    return () => this.holders.delete(holder);
  }

  get active(): boolean {
    for (const h of this.holders) if (h.active) return true;
    return false;
  }

  /**
   * Before the file's data, size or attributes change (`write`), or its bytes are read (`read`).
   * The caching protocol's own paths break their clients' caching themselves and recall only
   * the other nodes' (`remote`); a recall another node asks for reaches this one's (`local`).
   */
  recall(ino: bigint, need: RecallNeed = 'write', scope: RecallScope = 'all'): Promise<void> | undefined {
    if (this.holders.size === 0) return undefined;
    const pending: Promise<void>[] = [];
    for (const h of this.holders) {
      if (scope !== 'all' && (h.remote === true) !== (scope === 'remote')) continue;
      const p = h.active ? h.recall(ino, need) : undefined;
      if (p) pending.push(p);
    }
    if (pending.length === 0) return undefined;
    this.stats.recalls++;
    const started = performance.now();
    return Promise.all(pending).then(() => {
      this.stats.waitedMs += performance.now() - started;
    });
  }
}

import { inoKey } from '../util/ino-key.ts';
import { STREAM_XATTR_PREFIX } from './annotations.ts';
import { BufferPool, POOLED_MIN_BYTES } from './buffer-pool.ts';
import { CachingRecalls } from './caching-recall.ts';
import {
  type Backend,
  type BreakerOptions,
  type BreakerState,
  CircuitBreaker,
  isFull,
} from './circuit-breaker.ts';
import type { NamespaceApi, Unlinked } from './contract.ts';
import { BlobLocks } from './data/blob-locks.ts';
import type { DataStore } from './data/data-store.ts';
import type { DurabilityBarrier } from './durability.ts';
import { fsError } from './errors.ts';
import { guardAsync, guardMeta } from './guarded.ts';
import { LockTable } from './locks.ts';
import { groupOnLink } from './meta/detached.ts';
import {
  type Effects,
  type EntryChange,
  MAX_FILE_SIZE,
  type NodeSpec,
  OPEN_UNLINKED,
  ROOT_INO,
} from './meta/model.ts';
import { type InodeRow, LAYOUT, toAttributes } from './meta/rows.ts';
import type { MetadataStore } from './meta/store.ts';
import { checkLookupName, PATH_MAX_BYTES, splitPath } from './names.ts';
import { isEmptyHolds } from './open-holds.ts';
import { effectiveAccess, R_OK, requireAccess, requireMutable, W_OK, X_OK } from './permissions.ts';
import { withinLimits } from './quota-space.ts';
import { TtlCache } from './ttl-cache.ts';
import {
  type Attributes,
  type CreateMode,
  type Credential,
  type DirEntry,
  type DirPage,
  type DirPlusEntry,
  type DirPlusPage,
  type FileType,
  type FsStats,
  type InodeRef,
  type QuotaUsage,
  type ReadOptions,
  type ReadResult,
  type RemoveExpectation,
  ROOT,
  type SetAttributes,
  type Stability,
} from './types.ts';

/** Tail checks remembered (about 100 bytes each): see Namespace.forgetOldTailChecks. */
const TAIL_CHECKS_MAX = 100_000;

export interface NamespaceOptions {
  cacheTtlMs: number;
  cacheMaxEntries: number;
  breaker?: BreakerOptions;
  onBreakerTransition?: (b: CircuitBreaker, from: BreakerState, reason: string) => void;
  /**
   * `durability.metadata: async`: a change no client asked to make durable is answered once
   * committed (it survives a crash of the gateway's process at once) and reaches the disk
   * within this many milliseconds, or sooner at a COMMIT, FLUSH, CLOSE or S3 change. Unset:
   * every change is on disk before it is answered.
   */
  deferMetadataFlushMs?: number;
  /**
   * `transport.inline_max`: a new file keeps its bytes in the metadata database while it is no
   * larger than this (a write, its data and its size, is then one transaction, and a COMMIT
   * one flush of the database's log). 0 (the default here): every file has its own blob.
   */
  inlineMaxBytes?: number;
}

interface CachedNode {
  attrs: Attributes;
  /** 0: bytes in the inode's own blob at the same offsets; 1: an extent list; 2: inline (schema.ts). */
  layout: number;
  /** Extended attributes, loaded on first use; dropped with the node when a change touches it. */
  xattrs?: ReadonlyMap<string, Buffer>;
  /** As a data write's commit left it: no content annotation is current (AfterImage). */
  unannotated?: true;
}

/** A readers–writer lock per file shared by the gateway nodes (Namespace clusterSizeGuard). */
export interface ClusterSizeGuard {
  shared<T>(ino: bigint, work: () => Promise<T>): Promise<T>;
  exclusive<T>(ino: bigint, work: () => Promise<T>): Promise<T>;
}

const INLINE = Number(LAYOUT.inline);
const INLINE_CACHE_ENTRIES = 2048;
/** Copies a move out of inline makes while other gateway nodes keep writing the file (moveInlineToBlob). */
const MOVE_ATTEMPTS = 8;

/** How old an unlinked upload must be before another node may take it for a crash leftover. */
const CLUSTER_ORPHAN_AGE_NS = 3600n * 1_000_000_000n;

/** Largest single read or write the namespace serves in one call (protocols chunk above it). */
export const MAX_IO_BYTES = 64 * 1024 * 1024;

export type { EntryChange };

/** What a change made through an inode touched. */
export type ChangedField = 'data' | 'size' | 'atime' | 'mtime' | 'btime' | 'mode' | 'owner' | 'xattrs';

/**
 * A change made through an inode (write, setattr, setXattrs): it names no entry, since the
 * caller addressed the inode (a handle), which may have several names or none. A listener that
 * needs a name resolves it.
 */
export interface InodeChange {
  kind: 'inode';
  action: 'modified';
  ino: bigint;
  type: FileType;
  changed: readonly ChangedField[];
  /** Names of the xattrs set or removed (`changed` has 'xattrs'). */
  xattrs?: readonly string[];
}

export type NamespaceChange = EntryChange | InodeChange;
export type ChangeListener = (batch: readonly NamespaceChange[]) => void;

/**
 * The namespace's change feed: each mutation's changes, as one batch, in commit order, once
 * the mutation is durable (an unstable write: once committed). Listeners run synchronously and
 * must not throw; with none, emitting costs one check.
 */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();

  get active(): boolean {
    return this.listeners.size > 0;
  }

  /** Subscribes; returns the unsubscribe function. */
  listen(fn: ChangeListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(batch: readonly NamespaceChange[]): void {
    if (batch.length === 0) return;
    for (const fn of this.listeners) {
      try {
        fn(batch);
      } catch {
        // A listener's failure is its own: the mutation it was told of has happened.
      }
    }
  }
}

const SETATTR_FIELDS: ReadonlyArray<[keyof SetAttributes, ChangedField]> = [
  ['size', 'size'],
  ['atimeNs', 'atime'],
  ['mtimeNs', 'mtime'],
  ['btimeNs', 'btime'],
  ['mode', 'mode'],
  ['uid', 'owner'],
  ['gid', 'owner'],
];

/**
 * The namespace: metadata store + data store + caches, behind the one API every protocol
 * uses. Mutations resolve after their transaction is durable (WAL barrier) and after the
 * data they depend on is synced; reads are served from the attribute and entry caches.
 */
export class Namespace implements NamespaceApi {
  readonly rootIno = ROOT_INO;
  readonly nodes: TtlCache<bigint, CachedNode>;
  readonly entries: TtlCache<string, bigint>;
  /** Byte-range locks shared by NLM and SMB. */
  readonly locks = new LockTable();
  /** Client caching (SMB oplocks and leases) other protocols recall before they change a file. */
  readonly caching = new CachingRecalls();
  /** What every mutation changed, told once durable (SMB CHANGE_NOTIFY listens). */
  readonly changes = new ChangeFeed();
  /** Reusable buffers for large pooled reads (see buffer-pool.ts), shared memory. */
  readonly buffers = new BufferPool(64 * 1024 * 1024, true);
  /**
   * Inodes whose blob tail was checked in this process (see checkTail), oldest first; at most
   * `tailChecksMax` (forgetOldTailChecks): a file forgotten is checked again at its next write.
   */
  private tailChecked = new Map<bigint, Promise<void>>();
  /** How many tail checks are remembered (tailChecked and staleChecks each); tests lower it. */
  tailChecksMax = TAIL_CHECKS_MAX;
  /** The highest inode whose tail check was forgotten: it and those below may own a blob. */
  private forgottenTailCheck = 0n;
  private readonly inflightWrites = new Map<bigint, number>();
  /**
   * Per file: writes share it while their bytes may lie past the committed size (from the tail
   * check, or a move out of inline, to their record); a size change holds it alone, so it is
   * ordered before or after each write, never between a write's bytes and its record.
   */
  private readonly sizeLocks = new BlobLocks();
  /** Files a failed write left bytes in that wait for their other writes to end (undoTail). */
  private readonly untidy = new Set<bigint>();
  /** Tail checks another node's start voided (forgetTailChecks), until each file's recheck. */
  private staleChecks = new Map<bigint, Promise<void>>();
  /** Writes to each inline file, one at a time (a move to the blob must not miss one). */
  private readonly inlineQueues = new Map<bigint, Promise<unknown>>();
  private readonly inlineMax: bigint;
  /** Writes kept in the metadata database, and those that moved a file to its own blob (metrics). */
  readonly inlineWrites = { inline: 0, moved: 0 };
  /**
   * Inline files' bytes once read, dropped with their attributes whenever a change touches
   * the inode; at most INLINE_CACHE_ENTRIES of them (16 KiB each at the default limit).
   */
  private readonly inlineBytes: TtlCache<bigint, Buffer>;
  private readonly gcRuns = new Set<Promise<void>>();
  private closed = false;

  readonly breakers: Record<Backend, CircuitBreaker>;
  /** The stores as the namespace uses them: every call through its backend's breaker. */
  private readonly m: MetadataStore;
  private readonly d: DataStore;
  /** Told of every committed mutation's effects, before it is durable (cluster notifications). */
  onCommitted?: (fx: Effects) => void;
  /** Among gateway nodes (postgres/join-cluster.ts): runs a file's move out of inline alone. */
  inlineMoveGuard: (<T>(ino: bigint, work: () => Promise<T>) => Promise<T>) | undefined;
  /**
   * Among gateway nodes (postgres/join-cluster.ts): `sizeLocks` across them. Writes whose bytes
   * reach the store before their record share it from their bytes to their record; a size
   * change or a trim holds it alone, so no node cuts another's write between the two.
   */
  clusterSizeGuard: ClusterSizeGuard | undefined;
  /** Bumped by every cache invalidation: a lookup that raced one does not cache what it read. */
  private invalidations = 0;
  /** Async metadata durability (NamespaceOptions.deferMetadataFlushMs): changes not yet flushed. */
  private readonly deferMs: number | undefined;
  private deferred = false;
  private deferTimer: NodeJS.Timeout | undefined;
  private lastFlush: Promise<void> = Promise.resolve();

  constructor(
    readonly meta: MetadataStore,
    readonly data: DataStore,
    private readonly barrier: DurabilityBarrier,
    options: NamespaceOptions,
  ) {
    this.deferMs = options.deferMetadataFlushMs;
    this.inlineMax = BigInt(options.inlineMaxBytes ?? 0);
    this.nodes = new TtlCache('attributes', options.cacheTtlMs, options.cacheMaxEntries, inoKey);
    this.entries = new TtlCache('entries', options.cacheTtlMs, options.cacheMaxEntries);
    this.inlineBytes = new TtlCache(
      'inline',
      options.cacheTtlMs,
      Math.min(INLINE_CACHE_ENTRIES, options.cacheMaxEntries),
      inoKey,
    );
    const breaker = options.breaker ?? { failureThreshold: 5, resetTimeoutMs: 10_000 };
    const onTransition = options.onBreakerTransition;
    this.breakers = {
      metadata: new CircuitBreaker('metadata', breaker, onTransition),
      transport: new CircuitBreaker('transport', breaker, onTransition),
    };
    this.m = guardMeta(meta, this.breakers.metadata);
    this.d = guardAsync(data, this.breakers.transport);
    // A file this run wrote to owns a blob even when a failed write left it looking unwritten.
    meta.mayHaveBlob = (ino) =>
      this.tailChecked.has(ino) || this.staleChecks.has(ino) || ino <= this.forgottenTailCheck;
    meta.committed = (made) => this.cacheCommitted(made);
    // Other nodes' opens: the transaction reads the shared table itself (meta/entries.ts).
    meta.heldOpen = (ino) => this.heldHere(ino);
  }

  /**
   * Set by the SMB server: whether its clients hold the file open. Removing the last name of
   * such a file (over any protocol) leaves it detached, still theirs to read and write, until
   * its last close calls releaseUnlinked — as POSIX keeps an unlinked open file, and as smbd
   * on Linux does when another program removes a file it has open.
   */
  heldOpen: (ino: bigint) => boolean = () => false;

  /** Files whose last name went while held open, detached until their last close. */
  private readonly unlinkedOpen = new Set<bigint>();
  /** Files streams are reading (an S3 GET's body), by how many: held open as an SMB open holds. */
  private readonly streaming = new Map<bigint, number>();

  /**
   * A stream reads the file from now until the returned function is called (its end): a file
   * whose last name goes meanwhile — an S3 overwrite or delete, an NFS remove — stays, detached,
   * for it, and goes at its end, as a file an SMB client holds open goes at the last close. An
   * S3 GET that has begun thus sends the object as it was, whole, as S3 does.
   */
  holdForReading(ino: bigint): () => void {
    this.streaming.set(ino, (this.streaming.get(ino) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.streaming.get(ino) ?? 1) - 1;
      if (left > 0) {
        this.streaming.set(ino, left);
        return;
      }
      this.streaming.delete(ino);
      if (!this.heldOpen(ino) && this.unlinkedOpen.has(ino)) this.releaseUnlinked(ino)?.catch(() => {});
    };
  }

  /** Held by this process's clients: an SMB open, or a stream reading it. */
  private heldHere(ino: bigint): boolean {
    return this.heldOpen(ino) || this.streaming.has(ino);
  }
  /**
   * Files whose last name went through this node while only other nodes' clients held them:
   * their last close there removes them, and so does this node once the shared table shows
   * them held nowhere — that close may have come as the name went, not yet recorded, or
   * before that node's caches had seen the name go.
   */
  private readonly unlinkedElsewhere = new Set<bigint>();

  /** Whether other gateway nodes' SMB clients hold the file open (on a shared PostgreSQL). */
  private heldElsewhere(ino: bigint): boolean {
    const cluster = this.caching.cluster;
    return cluster !== undefined && !isEmptyHolds(cluster.heldElsewhere(ino));
  }

  /**
   * A held-open file's last close on this node: when its last name went meanwhile, the file
   * goes now — unless other nodes' clients still hold it: the last of them to close removes
   * it. With several nodes the name may have gone through another one, which left the file
   * detached for this node's open; its count of links (0) and detached row say so. Undefined
   * when the file has its name (the close goes on as usual); else whether it was removed (when
   * it was not, it stays for the other nodes' opens, and the close goes on as usual too).
   */
  releaseUnlinked(ino: bigint): Promise<boolean> | undefined {
    // A stream still reading it: the file stays for it, and goes at its end (holdForReading).
    if (this.streaming.has(ino)) return this.unlinkedOpen.has(ino) ? Promise.resolve(false) : undefined;
    const here = this.unlinkedOpen.delete(ino);
    const cluster = this.caching.cluster;
    if (!cluster) return here ? this.removeDetached(ino).then(() => true) : undefined;
    // Another node's removal reached this node's caches with its commit: a file whose cached
    // attributes still count a link was not unlinked (the common close costs nothing more).
    const cached = this.cachedAttrs(ino);
    if (!here && cached !== undefined && cached.nlink > 0) return undefined;
    return (async () => {
      if (!here) {
        const a = await this.getattr(ino).catch(() => undefined);
        if (a?.nlink !== 0) return false;
        const rows = await this.m.detached();
        if (!rows.some((d) => d.ino === ino && d.purpose === OPEN_UNLINKED)) return false;
      }
      // The table itself: the view reloads in the background, and may not show an open that
      // was recorded as the name went (no later one can come by name).
      await cluster.refresh(ino);
      if (this.heldElsewhere(ino)) {
        // What they hold may be a close not yet recorded: ask them, then read the table again.
        await cluster.settle(ino);
        await cluster.refresh(ino);
        if (this.heldElsewhere(ino)) return false;
      }
      await this.removeDetached(ino);
      return true;
    })();
  }

  /** Other nodes' clients hold nothing of the file now (as loaded from the shared table). */
  releasedElsewhere(ino: bigint): void {
    if (this.unlinkedElsewhere.has(ino)) this.releaseElsewhere(ino);
  }

  /**
   * A file this node left nameless for other nodes' opens: removed when none holds it any
   * more (releaseUnlinked asks them and reads the shared table), else watched until then.
   */
  private releaseElsewhere(ino: bigint): void {
    this.unlinkedElsewhere.delete(ino);
    const watch = () => this.unlinkedElsewhere.add(ino);
    this.releaseUnlinked(ino)
      ?.then((removed) => {
        if (!removed && this.heldElsewhere(ino)) watch();
      })
      .catch(watch);
  }

  /**
   * Before bytes of a file change: a current content annotation (an S3 ETag's MD5) is voided
   * and that made durable first, so no crash can leave it describing bytes it does not.
   */
  private async voidAnnotation(ino: bigint): Promise<void> {
    if (!(await this.m.voidContentAnnotation(ino))) return;
    this.dropNode(ino);
    await this.syncMeta();
  }

  /** Resolves once every metadata change made so far is on disk (a metadata backend call). */
  private syncMeta(): Promise<void> {
    return this.breakers.metadata.run(() => this.barrier.sync());
  }

  /** Every change so far to disk, now; what a deferred flush and the calls below wait on. */
  private flushMeta(): Promise<void> {
    this.deferred = false;
    const flush = this.syncMeta().catch((e: unknown) => {
      // Not on disk: the next flush (timer, COMMIT, S3 change) tries again.
      this.deferred = true;
      this.armDeferTimer();
      throw e;
    });
    this.lastFlush = flush;
    return flush;
  }

  /**
   * What a mutation's reply waits for. Sync (the default): its change on disk. Async: nothing
   * more than its commit, which a crash of this process cannot undo; the disk gets it within
   * `deferMs`, or at the next flush a client asks for.
   */
  private settleMeta(): Promise<void> {
    if (this.deferMs === undefined) return this.syncMeta();
    this.deferred = true;
    this.armDeferTimer();
    return Promise.resolve();
  }

  private armDeferTimer(): void {
    if (this.deferTimer || this.closed || this.deferMs === undefined) return;
    this.deferTimer = setTimeout(() => {
      this.deferTimer = undefined;
      if (this.deferred) this.flushMeta().catch(() => {});
    }, this.deferMs);
    this.deferTimer.unref();
  }

  get metadataDurability(): 'sync' | 'async' {
    return this.deferMs === undefined ? 'sync' : 'async';
  }

  /**
   * Async metadata durability: puts every change answered so far on disk before the caller
   * answers (an S3 change, which has no COMMIT of its own). Sync: they already are.
   */
  flushDeferred(): Promise<void> {
    if (this.deferMs === undefined) return Promise.resolve();
    return this.deferred ? this.flushMeta() : this.lastFlush;
  }

  /**
   * Health probes: real round trips through the breakers, so they open and close them. The
   * metadata probe commits a write: a store that still reads but cannot commit (its database
   * locked by another process) is down for every mutation; one whose disk is full fails the
   * health check, but opens no circuit (circuit-breaker.ts isFull).
   */
  async probeMetadata(): Promise<void> {
    await this.breakers.metadata.probe(async () => {
      await this.m.probeWrite();
      await this.syncMeta();
    });
    // Missing (released, or no room for it at start): taken once the disk has room.
    const reserve = this.spaceReserve;
    if (reserve && !reserve.held() && (await reserve.take())) this.onSpaceReserve?.('taken', reserve.path);
  }

  async probeTransport(): Promise<void> {
    await this.breakers.transport.probe(() => this.d.probe());
  }

  // ---- reads -------------------------------------------------------------------------------

  /** The inode's cached attributes; a miss reads the store (synchronously on SQLite). */
  private node(ino: bigint): CachedNode | Promise<CachedNode> {
    const hit = this.nodes.get(ino);
    if (hit) return hit;
    const seen = this.invalidations;
    const row = this.m.row(ino);
    return row instanceof Promise
      ? row.then((r) => this.cacheRow(ino, r, seen))
      : this.cacheRow(ino, row, seen);
  }

  private cacheRow(ino: bigint, row: InodeRow | undefined, seen: number): CachedNode {
    if (!row) throw fsError('ESTALE', 'no such inode', String(ino));
    const n = { attrs: toAttributes(row), layout: Number(row.layout) };
    if (seen === this.invalidations) this.nodes.set(ino, n);
    return n;
  }

  /**
   * A synchronous store's commit (MetadataStore.committed), before anything else runs: each
   * inode it touched is cached as the transaction left it where one Effects alone touched it
   * and kept its after-image (rows.ts keepAfter), else forgotten. A new file's CREATE and
   * WRITE so leave its attributes and its directory's cached, where each used to cost the next
   * call a row read. Names the transaction left naming an inode (made, renamed to, linked) are
   * cached too, and kept from finish()'s dropping of the names it touched: libnfs looks up each
   * file it has just created.
   */
  private cacheCommitted(made: readonly Effects[]): void {
    this.invalidations++;
    // Which Effects touched each inode; null when more than one did.
    const by = new Map<bigint, Effects | null>();
    for (const fx of made) {
      fx.cached = true;
      for (const ino of fx.touched) {
        const seen = by.get(ino);
        by.set(ino, seen === undefined || seen === fx ? fx : null);
      }
    }
    for (const [ino, fx] of by) {
      this.inlineBytes.delete(ino);
      const after = fx?.after?.get(ino);
      if (after)
        this.nodes.set(ino, { attrs: after.attrs, layout: after.layout, unannotated: after.unannotated });
      else this.nodes.delete(ino);
    }
    // Each name as the transaction's entry changes, in their order, left it.
    const named = new Map<string, bigint | undefined>();
    for (const fx of made) {
      for (const e of fx.entries) {
        const gone = e.action === 'removed' || e.action === 'renamed-from';
        if (gone || e.action === 'added' || e.action === 'renamed-to') {
          named.set(`${e.dir}/${e.name}`, gone ? undefined : e.ino);
        }
      }
    }
    if (named.size === 0) return;
    for (const [key, ino] of named) if (ino !== undefined) this.entries.set(key, ino);
    for (const fx of made)
      fx.names = fx.names.filter(([dir, name]) => named.get(`${dir}/${name}`) === undefined);
  }

  /** `cache.ttl` and `cache.max_entries`, as reloaded (SIGHUP). */
  configureCaches(ttlMs: number, maxEntries: number): void {
    this.nodes.configure(ttlMs, maxEntries);
    this.entries.configure(ttlMs, maxEntries);
    this.inlineBytes.configure(ttlMs, Math.min(INLINE_CACHE_ENTRIES, maxEntries));
  }

  private dropNode(ino: bigint): void {
    this.invalidations++;
    this.nodes.delete(ino);
    this.inlineBytes.delete(ino);
  }

  /**
   * Forgets cached attributes and entries another gateway node changed (PostgreSQL
   * notifications), or everything when `inodes` is undefined.
   */
  invalidate(inodes?: readonly bigint[], names?: ReadonlyArray<readonly [bigint, string]>): void {
    this.invalidations++;
    if (!inodes) {
      this.nodes.invalidate();
      this.entries.invalidate();
      this.inlineBytes.invalidate();
      this.d.invalidate?.();
      return;
    }
    for (const ino of inodes) {
      this.nodes.delete(ino);
      this.inlineBytes.delete(ino);
      this.d.invalidate?.(ino);
    }
    for (const [dir, name] of names ?? []) this.entries.delete(`${dir}/${name}`);
  }

  async getattr(ref: InodeRef | bigint): Promise<Attributes> {
    if (typeof ref === 'bigint') return (await this.node(ref)).attrs;
    const a = (await this.node(ref.ino)).attrs;
    if (a.generation !== ref.generation)
      throw fsError('ESTALE', 'stale handle (generation)', String(ref.ino));
    return a;
  }

  cachedAttrs(ref: InodeRef | bigint): Attributes | undefined {
    // A miss is counted by the getattr() that follows it.
    const attrs = this.nodes.get(typeof ref === 'bigint' ? ref : ref.ino, undefined, false)?.attrs;
    if (attrs && typeof ref !== 'bigint' && attrs.generation !== ref.generation) return undefined;
    return attrs;
  }

  cachedLookup(cred: Credential, dir: Attributes, name: string): Attributes | undefined {
    if (dir.type !== 'dir' || name === '.' || name === '..') return undefined;
    if ((effectiveAccess(cred, dir) & X_OK) === 0) return undefined;
    // Misses are counted by the lookup() that follows.
    const ino = this.entries.get(`${dir.ino}/${name}`, undefined, false);
    return ino === undefined ? undefined : this.nodes.get(ino, undefined, false)?.attrs;
  }

  cachedAccess(cred: Credential, ref: InodeRef | bigint, wanted: number): number | undefined {
    const attrs = this.cachedAttrs(ref);
    return attrs === undefined ? undefined : effectiveAccess(cred, attrs) & wanted;
  }

  async lookup(cred: Credential, dir: bigint, name: string): Promise<Attributes> {
    const d = (await this.node(dir)).attrs;
    if (d.type !== 'dir') throw fsError('ENOTDIR', 'not a directory', String(dir));
    checkLookupName(name);
    requireAccess(cred, d, X_OK, name);
    const key = `${dir}/${name}`;
    const ino = this.entries.get(key);
    if (ino !== undefined) return (await this.node(ino)).attrs;
    if (name === '.' || name === '..') return (await this.node(name === '.' ? d.ino : d.parent)).attrs;
    const seen = this.invalidations;
    const row = await this.m.lookupRow(dir, name);
    if (!row) throw fsError('ENOENT', 'no such file or directory', name);
    const n = { attrs: toAttributes(row), layout: Number(row.layout) };
    if (seen === this.invalidations) {
      this.entries.set(key, row.ino);
      this.nodes.set(row.ino, n);
    }
    return n.attrs;
  }

  /**
   * Before the name `name` in `dir` is removed or replaced by a protocol that takes no part in
   * client caching: the caching of the file it names is recalled (caching-recall.ts).
   */
  async recallNamed(cred: Credential, dir: bigint, name: string): Promise<void> {
    if (!this.caching.active) return;
    const target = await this.lookup(cred, dir, name).catch(() => undefined);
    if (target) await this.caching.recall(target.ino);
  }

  async resolvePath(cred: Credential, path: string): Promise<Attributes> {
    let at = (await this.node(ROOT_INO)).attrs;
    for (const part of splitPath(path)) at = await this.lookup(cred, at.ino, part);
    return at;
  }

  /**
   * The operator's scoped cache invalidation (`POST /admin/cache/invalidate {path}`): the names
   * along the path are read again from the database (a stale one could hide the inode meant),
   * then the inode's attributes, the other names pointing at it and the names cached under it
   * are dropped. The rest of the caches stay. Counts what was dropped; ENOENT as lookup throws it.
   */
  async invalidatePath(cred: Credential, path: string): Promise<{ attributes: number; names: number }> {
    let at = (await this.node(ROOT_INO)).attrs;
    let names = 0;
    let fresh = '';
    for (const part of splitPath(path)) {
      fresh = `${at.ino}/${part}`;
      const key = fresh;
      names += this.entries.invalidate((k) => k === key);
      at = await this.lookup(cred, at.ino, part);
    }
    const ino = at.ino;
    // The path's own last name was just read from the database: it stays.
    names += this.entries.invalidate((k, v) => (v === ino && k !== fresh) || k.startsWith(`${ino}/`));
    return { attributes: this.nodes.invalidate((k) => k === ino), names };
  }

  /**
   * The operator's cache invalidation, for file bytes: what the namespace (inline files) and
   * the data store (small files, object-store chunks, descriptors and known sizes) hold of
   * `inos` — every blob each reads from — or of every file. The caches are otherwise only
   * dropped by changes made through this gateway, so bytes changed in the store behind its
   * back would be served until evicted. Counts the files and blobs whose bytes were held.
   */
  async dropFileData(inos?: readonly bigint[]): Promise<number> {
    // A read in flight does not keep what it read before the drop (readInline).
    this.invalidations++;
    if (!inos) return this.inlineBytes.invalidate() + (this.d.invalidate?.() ?? 0);
    let held = 0;
    for (const ino of inos) {
      if (this.inlineBytes.delete(ino)) held++;
      for (const blob of await this.blobsReadBy(ino)) held += this.d.invalidate?.(blob) ?? 0;
    }
    return held;
  }

  /**
   * dropFileData for the files `uid` owns, found among those whose bytes are held: a blob is
   * named by the inode that created it, whose row says who owns it. A blob whose inode is gone
   * is a part of a composed file (an S3 multipart upload), read through that file's extents:
   * its reader is not looked up, so its bytes are dropped whoever owns it.
   */
  async dropFileDataOf(uid: number): Promise<number> {
    const held = new Set<bigint>(this.data.heldBlobs?.() ?? []);
    // TtlCache has no key listing: a predicate that drops nothing visits every entry.
    this.inlineBytes.invalidate((ino) => {
      held.add(ino);
      return false;
    });
    if (held.size === 0) return 0;
    this.invalidations++;
    const rows = await this.m.rowsOf([...held]);
    let dropped = 0;
    for (const ino of held) {
      const row = rows.get(ino);
      if (row !== undefined && Number(row.uid) !== uid) continue;
      if (this.inlineBytes.delete(ino)) dropped++;
      dropped += this.d.invalidate?.(ino) ?? 0;
    }
    return dropped;
  }

  /** The blobs a file's bytes are read from: its own, and for a composed file its extents'. */
  private async blobsReadBy(ino: bigint): Promise<bigint[]> {
    const row = await this.m.row(ino);
    if (row?.layout !== LAYOUT.extents) return [ino];
    return [...new Set([ino, ...(await this.m.allExtents(ino)).map((e) => e.blob)])];
  }

  async access(cred: Credential, ino: bigint, wanted: number): Promise<number> {
    return effectiveAccess(cred, (await this.node(ino)).attrs) & wanted;
  }

  async readdir(cred: Credential, dir: bigint, cookie: bigint, limit: number): Promise<DirPage> {
    await this.listable(cred, dir, limit);
    return this.m.readdir(dir, cookie, limit);
  }

  async readdirPlus(cred: Credential, dir: bigint, cookie: bigint, limit: number): Promise<DirPlusPage> {
    await this.listable(cred, dir, limit);
    const page = await this.m.readdir(dir, cookie, limit);
    // Attributes the cache holds answer from it (a directory listed again within cache.ttl
    // reads only its entries); the others are read in one more query, and cached.
    const now = performance.now();
    const cached = page.entries.map((e) => this.nodes.get(e.ino, now, false));
    const missing = page.entries.filter((_, i) => !cached[i]).map((e) => e.ino);
    const seen = this.invalidations;
    const rows = missing.length === 0 ? undefined : await this.m.rowsOf(missing);
    return { entries: this.withAttrs(page.entries, rows, seen, cached), eof: page.eof };
  }

  async readdirByName(cred: Credential, dir: bigint, after: string, limit: number): Promise<DirPlusPage> {
    await this.listable(cred, dir, limit);
    const seen = this.invalidations;
    const page = await this.m.readdirRowsByName(dir, after, limit);
    return { entries: this.withAttrs(page.entries, undefined, seen), eof: page.eof };
  }

  async preloadXattrs(inos: readonly bigint[]): Promise<void> {
    const missing: CachedNode[] = [];
    const wanted: bigint[] = [];
    for (const ino of inos) {
      const n = this.nodes.get(ino, undefined, false);
      if (n && !n.xattrs) {
        missing.push(n);
        wanted.push(ino);
      }
    }
    if (wanted.length === 0) return;
    const loaded = await this.m.listXattrsOf(wanted);
    // Onto the nodes as they were asked for, as listXattrs does: a change meanwhile replaced them.
    for (let i = 0; i < wanted.length; i++) missing[i]!.xattrs ??= loaded.get(wanted[i]!);
  }

  private async listable(cred: Credential, dir: bigint, limit: number): Promise<void> {
    const d = (await this.node(dir)).attrs;
    if (d.type !== 'dir') throw fsError('ENOTDIR', 'not a directory', String(dir));
    requireAccess(cred, d, R_OK, String(dir));
    if (limit <= 0) throw fsError('EINVAL', 'readdir limit must be positive');
  }

  /**
   * A page's rows as attributes: an inode the cache holds answers from it (as current as the
   * row, or more), one it does not is cached from its row, as getattr() would; an entry with
   * neither (its inode gone) has none. `earlier`: the cache's nodes when the page was read,
   * for those it has dropped since (their rows were not read).
   */
  private withAttrs(
    entries: ReadonlyArray<DirEntry & { row?: InodeRow | undefined }>,
    rows: ReadonlyMap<bigint, InodeRow> | undefined,
    seen: number,
    earlier?: ReadonlyArray<CachedNode | undefined>,
  ): DirPlusEntry[] {
    // Plain literals, not spreads: one per entry of every listing.
    const out = new Array<DirPlusEntry>(entries.length);
    const now = performance.now();
    for (let i = 0; i < entries.length; i++) {
      const { name, ino, type, cookie, row = rows?.get(ino) } = entries[i]!;
      const hit = this.nodes.get(ino, now, false) ?? earlier?.[i];
      const attrs = hit ? hit.attrs : row ? this.cacheRow(ino, row, seen).attrs : undefined;
      out[i] = { name, ino, type, cookie, attrs };
    }
    return out;
  }

  async readlink(cred: Credential, ino: bigint): Promise<string> {
    const a = (await this.node(ino)).attrs;
    if (a.type !== 'symlink') throw fsError('EINVAL', 'not a symbolic link', String(ino));
    void cred;
    return (await this.m.readlink(ino)) ?? '';
  }

  async read(
    cred: Credential,
    ino: bigint,
    offset: bigint,
    length: number,
    options: ReadOptions = {},
  ): Promise<ReadResult> {
    const { attrs, layout } = await this.node(ino);
    if (attrs.type === 'dir') throw fsError('EISDIR', 'is a directory', String(ino));
    if (attrs.type !== 'file') throw fsError('EINVAL', 'not a regular file', String(ino));
    if (offset < 0n || length < 0 || length > MAX_IO_BYTES) throw fsError('EINVAL', 'bad offset or length');
    requireAccess(cred, attrs, R_OK, String(ino));
    if (offset >= attrs.size || length === 0) return { data: Buffer.alloc(0), eof: offset >= attrs.size };
    const n = Number(attrs.size - offset < BigInt(length) ? attrs.size - offset : BigInt(length));
    const eof = offset + BigInt(n) >= attrs.size;
    if (options.shared) {
      const data = await this.readShared(ino, layout, offset, n);
      if (data) return { data, eof };
    }
    if (!options.pooled || n < POOLED_MIN_BYTES) {
      const data = Buffer.allocUnsafe(n);
      await this.readInto(ino, layout, offset, data);
      return { data, eof };
    }
    const buf = this.buffers.take(n);
    try {
      await this.readInto(ino, layout, offset, buf.subarray(0, n));
    } catch (e) {
      this.buffers.give(buf);
      throw e;
    }
    let given = false;
    const release = () => {
      if (given) return;
      given = true;
      this.buffers.give(buf);
    };
    return { data: buf.subarray(0, n), eof, release };
  }

  cachedRead(cred: Credential, ino: bigint, offset: bigint, length: number): Buffer | undefined {
    const n = this.nodes.get(ino, undefined, false);
    if (n === undefined || n.layout !== INLINE || n.attrs.type !== 'file') return undefined;
    const { attrs } = n;
    if (offset < 0n || length <= 0 || offset >= attrs.size || (effectiveAccess(cred, attrs) & R_OK) === 0)
      return undefined;
    const bytes = this.inlineBytes.get(ino, undefined, false);
    const end = attrs.size - offset < BigInt(length) ? attrs.size : offset + BigInt(length);
    return bytes !== undefined && BigInt(bytes.length) >= end
      ? bytes.subarray(Number(offset), Number(end))
      : undefined;
  }

  cachedXattrs(ino: bigint): ReadonlyMap<string, Buffer> | undefined {
    return this.nodes.get(ino, undefined, false)?.xattrs;
  }

  /**
   * `n` bytes at `offset` without a copy where they are held whole in memory (an inline file's
   * cached bytes, a small blob's copy in the data store); undefined where they are not.
   */
  private async readShared(
    ino: bigint,
    layout: number,
    offset: bigint,
    n: number,
  ): Promise<Buffer | undefined> {
    let data: Buffer | undefined;
    if (layout === INLINE) data = (await this.readInline(ino))?.subarray(Number(offset), Number(offset) + n);
    else if (layout === 0 && this.d.readShared) data = await this.d.readShared(ino, Number(offset), n);
    // Short: a hole at the end (read as zeros by the copying path).
    return data?.length === n ? data : undefined;
  }

  /** An inline file's bytes, from the cache or the metadata; undefined once it has moved. */
  private async readInline(ino: bigint): Promise<Buffer | undefined> {
    const cached = this.inlineBytes.get(ino);
    if (cached) return cached;
    const seen = this.invalidations;
    const bytes = await this.m.inlineBytes(ino);
    // A change that committed meanwhile may have dropped these bytes already: not kept then.
    if (bytes && seen === this.invalidations) this.inlineBytes.set(ino, bytes);
    return bytes;
  }

  /** Fills `out` with the file's bytes at `offset`; holes and bytes past the blob read as zeros. */
  private async readInto(ino: bigint, layout: number, offset: bigint, out: Buffer): Promise<void> {
    if (layout === INLINE) {
      const bytes = await this.readInline(ino);
      if (bytes !== undefined) {
        const got = offset < bytes.length ? bytes.copy(out, 0, Number(offset)) : 0;
        out.fill(0, got);
        return;
      }
      // Moved to its own blob since the layout was cached (layouts 2 and 0 only).
      layout = 0;
    }
    if (layout === 0) {
      const got = await this.d.readInto(ino, Number(offset), out);
      if (got < out.length) out.fill(0, got);
      return;
    }
    const end = offset + BigInt(out.length);
    let covered = 0n;
    const pieces: Promise<void>[] = [];
    for (const e of await this.m.extents(ino, offset, end)) {
      const from = e.off > offset ? e.off : offset;
      const to = e.off + e.len < end ? e.off + e.len : end;
      if (from > offset + covered) out.fill(0, Number(offset + covered - offset), Number(from - offset));
      covered = to - offset;
      const target = out.subarray(Number(from - offset), Number(to - offset));
      pieces.push(
        this.d.readInto(e.blob, Number(e.blobOff + (from - e.off)), target).then((got) => {
          if (got < target.length) target.fill(0, got);
        }),
      );
    }
    if (covered < BigInt(out.length)) out.fill(0, Number(covered));
    await Promise.all(pieces);
  }

  /**
   * The namespace's capacity; for a caller, as its user and group quotas leave it, so `df` on an
   * NFS client and a drive's properties in Windows show the quota (quota-space.ts).
   */
  async statfs(cred?: Credential): Promise<FsStats> {
    const c = await this.d.capacity();
    const files = await this.m.inodeCount();
    const totalFiles = 1n << 32n;
    let stats: FsStats = { ...c, totalFiles, freeFiles: totalFiles - files };
    const gate = this.m.gate;
    if (!cred || !gate.limits) return stats;
    for (const [kind, id] of [
      ['uid', cred.uid],
      ['gid', cred.gid],
    ] as const) {
      const limits = gate.limits(kind, id);
      if (limits) stats = withinLimits(stats, limits, await this.m.usage(kind, id));
    }
    return stats;
  }

  async getXattr(ino: bigint, name: string): Promise<Buffer | undefined> {
    const n = await this.node(ino);
    // A named stream is never among the cached attributes: it is read from the store each time.
    return n.xattrs && !name.startsWith(STREAM_XATTR_PREFIX)
      ? n.xattrs.get(name)
      : this.m.getXattr(ino, name);
  }

  async listStreams(ino: bigint): Promise<Array<{ name: string; size: number }>> {
    await this.node(ino);
    return this.m.listStreams(ino);
  }

  async listXattrs(ino: bigint): Promise<ReadonlyMap<string, Buffer>> {
    const n = await this.node(ino);
    n.xattrs ??= await this.m.listXattrs(ino);
    return n.xattrs;
  }

  async quotaUsage(kind: 'uid' | 'gid', id: number): Promise<QuotaUsage> {
    return this.m.usage(kind, id);
  }

  /** Every uid's and gid's usage the ledger holds. */
  async allQuotaUsage(): Promise<QuotaUsage[]> {
    return this.m.allUsage();
  }

  // ---- mutations ---------------------------------------------------------------------------

  /** An inode change for the feed, built only when someone listens. */
  private inodeChange(
    attrs: Attributes,
    changed: readonly ChangedField[],
    xattrs?: readonly string[],
  ): InodeChange | undefined {
    if (!this.changes.active || changed.length === 0) return undefined;
    return { kind: 'inode', action: 'modified', ino: attrs.ino, type: attrs.type, changed, xattrs };
  }

  /**
   * Drops what a transaction changed from the caches, waits for durability, then tells the
   * change feed what the mutation changed.
   */
  private async finish(
    fx: Effects,
    wait: 'settled' | 'on disk' | 'none' = 'settled',
    inode?: InodeChange,
  ): Promise<void> {
    this.invalidations++;
    if (!fx.cached) {
      for (const ino of fx.touched) {
        this.nodes.delete(ino);
        this.inlineBytes.delete(ino);
      }
    }
    for (const [dir, name] of fx.names) this.entries.delete(`${dir}/${name}`);
    // Held by this node's opens: their last close releases it. Held by another node's: theirs
    // does — unless their last close came as the name went and was not yet recorded, which
    // a look once they have recorded what they hold now finds.
    for (const ino of fx.unlinkedOpen ?? []) {
      if (this.heldHere(ino)) this.unlinkedOpen.add(ino);
      else this.releaseElsewhere(ino);
    }
    this.onCommitted?.(fx);
    if (fx.freedBlobs.length > 0) {
      for (const b of fx.freedBlobs) {
        this.tailChecked.delete(b);
        this.staleChecks.delete(b);
      }
      // Deleting data after the commit is durable; start-up retries whatever a crash left queued,
      // and a deletion that failed (the data store out of reach) is tried again meanwhile.
      const blobs = fx.freedBlobs;
      const run = this.syncMeta()
        .then(() => this.d.remove(blobs))
        .then(() => this.m.dequeueGc(blobs))
        .catch(() => this.collectLater())
        .finally(() => this.gcRuns.delete(run));
      this.gcRuns.add(run);
    }
    if (wait === 'settled') await this.settleMeta();
    else if (wait === 'on disk') await this.flushMeta();
    if (this.changes.active) this.changes.emit(inode ? [...fx.entries, inode] : fx.entries);
  }

  private async createNode(cred: Credential, dir: bigint, name: string, spec: NodeSpec): Promise<Attributes> {
    const { attrs, fx, existed } = await this.m.createNode(cred, dir, name, spec);
    if (!existed && attrs.type === 'file' && attrs.size === 0n && !spec.inline) this.readyBlob(attrs.ino);
    await this.finish(fx);
    return attrs;
  }

  /**
   * A new, empty file's blob is created on the thread pool while the file's creation is being
   * made durable, so its first write finds the blob open instead of creating it then (a file
   * creation costs ~100 µs on ext4). Only on a local store: on an object store the check is a
   * listing a file that is never written would pay for. Not awaited, and past the breaker: it
   * only saves time, so its failure is nobody's; the first write then tries again, through the
   * breaker, and reports what it meets.
   */
  private readyBlob(ino: bigint): void {
    if (this.data.kind !== 'file' || this.breakers.transport.state !== 'closed') return;
    const ready: Promise<void> = this.data.prepareWrite(ino, 0).catch(() => {
      if (this.tailChecked.get(ino) === ready) this.tailChecked.delete(ino);
    });
    this.noteTailCheck(ino, ready);
  }

  create(cred: Credential, dir: bigint, name: string, mode: number, how?: CreateMode, attrs?: SetAttributes) {
    return this.createNode(cred, dir, name, {
      type: 'file',
      mode,
      how: how ?? { kind: 'guarded' },
      initial: attrs,
      inline: this.inlineMax > 0n,
    });
  }

  mkdir(cred: Credential, dir: bigint, name: string, mode: number) {
    return this.createNode(cred, dir, name, { type: 'dir', mode });
  }

  symlink(cred: Credential, dir: bigint, name: string, target: string) {
    if (target.length === 0 || target.includes('\0')) {
      return Promise.reject(fsError('EINVAL', 'bad symlink target', name));
    }
    // As Linux: a target and its terminating NUL fit in PATH_MAX.
    if (Buffer.byteLength(target) >= PATH_MAX_BYTES) {
      return Promise.reject(
        fsError('ENAMETOOLONG', `symlink target of ${PATH_MAX_BYTES} bytes or more`, name),
      );
    }
    return this.createNode(cred, dir, name, { type: 'symlink', mode: 0o777, target });
  }

  mknod(cred: Credential, dir: bigint, name: string, type: 'fifo' | 'socket', mode: number) {
    return this.createNode(cred, dir, name, { type, mode });
  }

  async link(cred: Credential, ino: bigint, dir: bigint, name: string): Promise<Attributes> {
    const { attrs, fx } = await this.m.link(cred, ino, dir, name);
    await this.finish(fx);
    return attrs;
  }

  async remove(cred: Credential, dir: bigint, name: string, expect?: RemoveExpectation): Promise<Unlinked> {
    return this.finishUnlinking(await this.withRoomToDelete(() => this.m.remove(cred, dir, name, expect)));
  }

  async rmdir(cred: Credential, dir: bigint, name: string): Promise<Unlinked> {
    return this.finishUnlinking(await this.withRoomToDelete(() => this.m.rmdir(cred, dir, name)));
  }

  /**
   * Room kept back on the metadata disk for deletes (sqlite/space-reserve.ts; set at open). A
   * delete the full disk refuses releases it and is tried once more; a successful metadata
   * probe takes it again once there is room. `onSpaceReserve` hears both.
   */
  spaceReserve: { path: string; release(): boolean; take(): Promise<boolean>; held(): boolean } | undefined;
  onSpaceReserve?: (event: 'released' | 'taken', path: string) => void;

  /** A delete's commit; refused for want of room, tried again with the reserve's room. */
  private async withRoomToDelete<T>(commit: () => T | Promise<T>): Promise<T> {
    try {
      return await commit();
    } catch (e) {
      if (!isFull(e) || !this.spaceReserve?.release()) throw e;
      this.onSpaceReserve?.('released', this.spaceReserve.path);
      return await commit();
    }
  }

  async rename(
    cred: Credential,
    fromDir: bigint,
    fromName: string,
    toDir: bigint,
    toName: string,
  ): Promise<Unlinked> {
    return this.finishUnlinking(await this.m.rename(cred, fromDir, fromName, toDir, toName));
  }

  /** finish(), answering the inodes whose names the change removed. */
  private async finishUnlinking(fx: Effects): Promise<Unlinked> {
    const unlinked = fx.entries.filter((e) => e.action === 'removed').map((e) => e.ino);
    await this.finish(fx);
    return unlinked;
  }

  async setattr(cred: Credential, ino: bigint, attrs: SetAttributes): Promise<Attributes> {
    if (attrs.size === undefined) return this.setattrAlone(cred, ino, attrs);
    const unlock = await this.sizeLocks.exclusive(ino);
    try {
      return await this.setattrAlone(cred, ino, attrs);
    } finally {
      unlock();
    }
  }

  /** `setattr`, a size change holding the file's size lock. */
  private async setattrAlone(cred: Credential, ino: bigint, attrs: SetAttributes): Promise<Attributes> {
    const { layout } = await this.node(ino);
    if (attrs.size !== undefined) {
      await this.voidAnnotation(ino);
      // An extension exposes what the blob holds past the old size: a crash may have left
      // bytes there (or a failed write, whose clearing may still run).
      if (layout !== INLINE) {
        // No write of this node is past its tail check: the size change holds the size lock.
        this.recheckTail(ino, false);
        const checked = this.tailChecked.get(ino);
        // A check that failed is checked again, as a write does (checkTail).
        const done = checked !== undefined && (await checked.then(() => true).catch(() => false));
        if (!done) {
          const row = await this.m.row(ino);
          if (row && attrs.size > row.size) await this.checkTail(ino, row);
        }
      }
    }
    const change = async () => {
      const r = await this.m.setattr(cred, ino, attrs);
      // Shrinking: the committed size already hides the tail; cut the blob so a later
      // extension, or a write mapped there (a file in extents), reads zeros there, not old
      // bytes. Should the cut fail, the next write or extension cuts first, as after a crash.
      if (r.truncatedTo !== undefined && layout !== INLINE) {
        await this.d.truncate(ino, Number(r.truncatedTo)).catch((e: unknown) => {
          this.tailChecked.delete(ino);
          throw e;
        });
      }
      return r;
    };
    const r =
      attrs.size === undefined ? await change() : await this.underClusterSize(ino, 'exclusive', change);
    const changed = this.changes.active
      ? [...new Set(SETATTR_FIELDS.filter(([k]) => attrs[k] !== undefined).map(([, f]) => f))]
      : [];
    await this.finish(r.fx, 'settled', this.inodeChange(r.attrs, changed));
    return r.attrs;
  }

  async write(
    cred: Credential,
    ino: bigint,
    offset: bigint,
    data: Buffer,
    stability: Stability = 'file',
  ): Promise<Attributes> {
    if (offset < 0n) throw fsError('EINVAL', 'negative offset', String(ino));
    if (data.length > MAX_IO_BYTES)
      throw fsError('EINVAL', 'write larger than the maximum I/O size', String(ino));
    const end = offset + BigInt(data.length);
    if (end > MAX_FILE_SIZE) throw fsError('EFBIG', 'write past the maximum file size', String(ino));
    if (data.length > 0 && end <= this.inlineMax && (await this.node(ino)).layout === INLINE) {
      // Checked and written in one transaction: no separate pre-check.
      const attrs = await this.writeInlineFile(cred, ino, offset, data, stability);
      if (attrs) return attrs;
    }
    let { row, annotated }: { row: Pick<InodeRow, 'layout' | 'size'>; annotated: boolean } =
      this.precheckNow(cred, ino, end) ?? (await this.m.precheckWrite(cred, ino, end));
    if (data.length === 0) return (await this.node(ino)).attrs;
    if (row.layout === LAYOUT.inline) {
      const attrs = await this.writeInlineFile(cred, ino, offset, data, stability);
      if (attrs) return attrs;
      // Moved to its own blob by another node meanwhile: written there, as any such file.
      ({ row, annotated } = await this.m.precheckWrite(cred, ino, end));
    }
    if (annotated) await this.voidAnnotation(ino);
    this.recheckTail(ino, (this.inflightWrites.get(ino) ?? 0) > 0);
    // Counted before the tail check: a clearing decided from now on waits for this write.
    this.inflightWrites.set(ino, (this.inflightWrites.get(ino) ?? 0) + 1);
    try {
      let recorded: { attrs: Attributes; fx: Effects };
      const unlock = await this.sizeLocks.shared(ino);
      try {
        await this.checkTail(ino, row);
        const durable =
          stability !== 'unstable' ||
          (row.layout === LAYOUT.extents && (await this.mapsNewRange(ino, offset, end)));
        if (durable) {
          // Its bytes reach the store before its record: among nodes, no size change or trim
          // comes between.
          recorded = await this.underClusterSize(ino, 'shared', async () => {
            await this.d.write(ino, Number(offset), data);
            await this.d.sync(ino);
            return this.m.recordWrite(cred, ino, offset, end);
          });
        } else {
          await this.d.write(ino, Number(offset), data);
          recorded = await this.m.recordWrite(cred, ino, offset, end);
        }
      } catch (e) {
        // Bytes that reached the blob stay only where the metadata accounts for them.
        this.undoTail(ino, (this.inflightWrites.get(ino) ?? 1) > 1).catch(() => {});
        throw e;
      } finally {
        unlock();
      }
      // A stable write (NFS FILE_SYNC/DATA_SYNC, SMB write-through) is the client asking for the disk.
      const wait = stability === 'unstable' ? 'none' : 'on disk';
      await this.finish(recorded.fx, wait, this.inodeChange(recorded.attrs, ['data']));
      return recorded.attrs;
    } finally {
      const left = (this.inflightWrites.get(ino) ?? 1) - 1;
      if (left > 0) this.inflightWrites.set(ino, left);
      else {
        this.inflightWrites.delete(ino);
        if (this.untidy.delete(ino)) this.undoTail(ino, false).catch(() => {});
      }
    }
  }

  /**
   * `precheckWrite` without the metadata store, where the caches decide it: the metadata
   * circuit closed, the file cached as the last write to its own blob left it (no content
   * annotation to void, its size known) and the quota gate watching neither its owner nor its
   * group when the write grows it. Throws what that check would (EACCES); undefined where the
   * store must be asked. The write's own transaction checks again, as it always does.
   */
  private precheckNow(
    cred: Credential,
    ino: bigint,
    end: bigint,
  ): { row: Pick<InodeRow, 'layout' | 'size'>; annotated: false } | undefined {
    // An open (or probing) circuit refuses the write through the store before its bytes go out.
    if (this.breakers.metadata.state !== 'closed') return undefined;
    const n = this.nodes.get(ino, undefined, false);
    if (!n?.unannotated || n.layout !== 0 || n.attrs.type !== 'file') return undefined;
    const a = n.attrs;
    const gate = this.m.gate;
    const unwatched =
      gate.watches !== undefined && !gate.watches('uid', a.uid) && !gate.watches('gid', a.gid);
    if (end > a.size && !unwatched) return undefined;
    requireMutable(a, BigInt(Date.now()) * 1_000_000n, String(ino));
    requireAccess(cred, a, W_OK, String(ino));
    return { row: { layout: LAYOUT.ownBlob, size: a.size }, annotated: false };
  }

  /**
   * A crash between a data write past EOF and its metadata commit leaves bytes beyond the
   * committed size in the blob. They are invisible, but a later extension would expose them;
   * so the first write to a blob in each process life (or a size change that extends it)
   * trims the blob to the committed size before anything else writes to it. A file in extents
   * needs no trim: its own blob is read only where an extent maps it, and a write maps a range
   * only once its bytes are durable there (`mapsNewRange`).
   */
  private checkTail(ino: bigint, row: Pick<InodeRow, 'layout' | 'size'>, again = false): Promise<void> {
    let p = this.tailChecked.get(ino);
    // Another write's check (or the clearing after its failure) that fails is not this
    // write's failure: it checks once more itself, through the breaker, and answers what
    // that meets (EAGAIN with the circuit now open, not the other's EIO; or success).
    if (p && !again) return p.catch(() => this.checkTail(ino, row, true));
    if (!p) {
      // A failed check (open circuit, I/O error) is retried by the next write, not remembered.
      p = this.trimTail(ino, row).catch((e: unknown) => {
        this.tailChecked.delete(ino);
        throw e;
      });
      this.noteTailCheck(ino, p);
    }
    return p;
  }

  /**
   * Cuts a file's own blob to its committed size: `row` as stored when given (a tail check has
   * just read it), else read now.
   */
  private async trimTail(ino: bigint, row?: Pick<InodeRow, 'layout' | 'size'>): Promise<void> {
    const cut = async (r: Pick<InodeRow, 'layout' | 'size'> | undefined) => {
      if (r?.layout === LAYOUT.ownBlob) await this.d.prepareWrite(ino, Number(r.size));
    };
    const guard = this.clusterSizeGuard;
    if (!guard) return cut(row ?? (await this.m.row(ino)));
    // Another node may have recorded a write since `row` was read: its size is read again,
    // once that node's writes in flight to the file are recorded. What this node knows of the
    // blob's end is dropped: a node that died may have stored bytes past it unannounced.
    await guard.exclusive(ino, async () => {
      this.d.invalidate?.(ino);
      await cut(await this.m.row(ino));
    });
  }

  /** `work` holding the file's size lock among gateway nodes (none on one node). */
  private underClusterSize<T>(ino: bigint, mode: 'shared' | 'exclusive', work: () => Promise<T>): Promise<T> {
    const guard = this.clusterSizeGuard;
    return guard ? guard[mode](ino, work) : work();
  }

  /**
   * Whether a write to a file in extents maps bytes of its own blob that no extent maps yet.
   * Its extent is then recorded only once those bytes are durable: an UNSTABLE write's bytes
   * may wait in memory (on an object store) while its metadata is committed, and a crash would
   * show what the blob held there before — bytes a truncate or a crash left unmapped.
   */
  private async mapsNewRange(ino: bigint, offset: bigint, end: bigint): Promise<boolean> {
    let at = offset;
    for (const e of await this.m.extents(ino, offset, end)) {
      if (e.blob !== ino || e.off > at) return true;
      if (e.off + e.len > at) at = e.off + e.len;
      if (at >= end) return false;
    }
    return at < end;
  }

  /**
   * Trims what a failed write (refused accounting, a store error) may have left past the
   * committed size (`trimTail`; a file in extents needs none). Another write still in flight
   * on the file may extend it over those bytes, so the trim then waits for the last one to end
   * (`untidy`); writes that start meanwhile wait for the trim, which stands in for their tail
   * check. Should it fail, the next write checks the tail again.
   */
  private undoTail(ino: bigint, othersInFlight: boolean): Promise<void> {
    if (othersInFlight) {
      this.untidy.add(ino);
      return Promise.resolve();
    }
    const undo = this.trimTail(ino);
    const gate: Promise<void> = undo.catch((e: unknown) => {
      if (this.tailChecked.get(ino) === gate) this.tailChecked.delete(ino);
      throw e;
    });
    gate.catch(() => {});
    this.noteTailCheck(ino, gate);
    return undo;
  }

  /**
   * Another gateway node has just started (join-cluster.ts): the process before it on that node
   * may have stored a write's bytes past a file's end and died before recording the write. The
   * tails this node checked are checked again, each before the file's next write or extension
   * here (recheckTail); files not checked yet are checked then anyway.
   */
  forgetTailChecks(): void {
    if (this.staleChecks.size === 0) this.staleChecks = this.tailChecked;
    else for (const [ino, checked] of this.tailChecked) this.staleChecks.set(ino, checked);
    this.tailChecked = new Map();
    this.forgetOldTailChecks(this.staleChecks);
  }

  /** How many files' tail checks are remembered now. */
  get tailChecksHeld(): number {
    return this.tailChecked.size;
  }

  /** Remembers a file's tail check (or the trim standing in for it), within tailChecksMax. */
  private noteTailCheck(ino: bigint, checked: Promise<void>): void {
    this.tailChecked.set(ino, checked);
    if (this.tailChecked.size > this.tailChecksMax) this.forgetOldTailChecks(this.tailChecked);
  }

  /**
   * Forgets the oldest tail checks past nine tenths of tailChecksMax, except those of files this
   * node is writing or has a failed write to tidy: a file forgotten has its tail checked again
   * before its next write or extension, as in a new process (a bounded map: one entry per file
   * written since start grew with every object an S3 client ever PUT). A file forgotten may own
   * a blob its record does not show (a failed first write, a blob readied and never written):
   * its removal then queues the blob's deletion all the same (`forgottenTailCheck`).
   */
  private forgetOldTailChecks(checks: Map<bigint, Promise<void>>): void {
    const keep = Math.floor(this.tailChecksMax * 0.9);
    for (const ino of checks.keys()) {
      if (checks.size <= keep) break;
      if (this.inflightWrites.has(ino) || this.untidy.has(ino)) continue;
      checks.delete(ino);
      if (ino > this.forgottenTailCheck) this.forgottenTailCheck = ino;
    }
  }

  /**
   * A tail check another node's start voided: the file is trimmed again (undoTail) — after
   * this node's writes in flight to it, which keep the old check meanwhile.
   */
  private recheckTail(ino: bigint, othersInFlight: boolean): void {
    const stale = this.staleChecks.get(ino);
    if (!stale) return;
    this.staleChecks.delete(ino);
    if (othersInFlight && !this.tailChecked.has(ino)) this.noteTailCheck(ino, stale);
    this.undoTail(ino, othersInFlight).catch(() => {});
  }

  /**
   * A write to an inline file: into the metadata database while the file stays within
   * `inlineMax` — data, size and change id in one transaction, so a content annotation needs
   * no voiding first — else its bytes move to its own blob with the write; undefined when
   * the file is no longer inline. Writes to one inline file run one at a time.
   */
  private writeInlineFile(
    cred: Credential,
    ino: bigint,
    offset: bigint,
    data: Buffer,
    stability: Stability,
  ): Promise<Attributes | undefined> {
    const run = async (): Promise<Attributes | undefined> => {
      const within = offset + BigInt(data.length) <= this.inlineMax;
      const r = within
        ? await this.m.writeInline(cred, ino, offset, data)
        : await this.moveInlineToBlob(cred, ino, offset, data);
      if (!r) return undefined;
      this.inlineWrites[within ? 'inline' : 'moved']++;
      const wait = stability === 'unstable' ? 'none' : 'on disk';
      await this.finish(r.fx, wait, this.inodeChange(r.attrs, ['data']));
      // A small file written from its start in one unstable write (a copy, a save) is nearly
      // always closed next — NFS COMMIT, SMB CLOSE: its flush starts now, while the answer
      // travels and the client asks. Not for appends (a log written a line at a time would
      // flush at every line), nor for a file written aside (an S3 upload), whose link comes
      // first and needs a flush of its own.
      const whole = offset === 0n && r.attrs.size === BigInt(data.length);
      if (stability === 'unstable' && whole && r.attrs.nlink > 0 && this.breakers.metadata.state === 'closed')
        this.barrier.anticipate?.();
      return r.attrs;
    };
    const queued = (this.inlineQueues.get(ino) ?? Promise.resolve()).then(run, run);
    const settled = queued.catch(() => {});
    this.inlineQueues.set(ino, settled);
    void settled.then(() => {
      if (this.inlineQueues.get(ino) === settled) this.inlineQueues.delete(ino);
    });
    return queued;
  }

  /**
   * A write past `inlineMax` into an inline file: the blob gets the inline bytes and the write,
   * is made durable (those bytes were answered for), and only then does the metadata let go
   * of its copy, in the write's own transaction — if the copy is still what the file holds.
   * Among gateway nodes the move runs under `inlineMoveGuard`, one node at a time: a second
   * move's first cut would delete what the first one stored. A write another node kept inline
   * meanwhile makes the move copy again (at most MOVE_ATTEMPTS times, then EAGAIN: try later).
   */
  private async moveInlineToBlob(
    cred: Credential,
    ino: bigint,
    offset: bigint,
    data: Buffer,
  ): Promise<{ attrs: Attributes; fx: Effects } | undefined> {
    // The local lock first, then the cluster's, as everywhere.
    const unlock = await this.sizeLocks.shared(ino);
    try {
      const copy = () => this.copyOutOfInline(cred, ino, offset, data);
      return await (this.inlineMoveGuard ? this.inlineMoveGuard(ino, copy) : copy());
    } finally {
      unlock();
    }
  }

  /** `moveInlineToBlob` itself, holding the file's size lock (and the cluster's move lock). */
  private async copyOutOfInline(
    cred: Credential,
    ino: bigint,
    offset: bigint,
    data: Buffer,
  ): Promise<{ attrs: Attributes; fx: Effects } | undefined> {
    for (let attempt = 0; attempt < MOVE_ATTEMPTS; attempt++) {
      const bytes = await this.m.inlineBytes(ino);
      if (bytes === undefined) return undefined;
      await this.voidAnnotation(ino);
      // Cuts whatever an earlier move cut short left in the blob. A failure is not
      // remembered: the next write tries again.
      const ready = this.d.prepareWrite(ino, 0).catch((e: unknown) => {
        this.tailChecked.delete(ino);
        throw e;
      });
      this.noteTailCheck(ino, ready);
      await ready;
      if (bytes.length > 0) await this.d.write(ino, 0, bytes);
      await this.d.write(ino, Number(offset), data);
      await this.d.sync(ino);
      const end = offset + BigInt(data.length);
      const moved = await this.m.recordMove(cred, ino, offset, end, bytes);
      if (moved) return moved;
    }
    throw fsError(
      'EAGAIN',
      'the file keeps changing on another gateway node while it moves to its own blob',
      String(ino),
    );
  }

  async commit(ino: bigint): Promise<void> {
    // An inline file's bytes are in the metadata: one flush of its log.
    if (await this.isInline(ino)) return this.flushMeta();
    // Data and metadata flush independently; uncommitted (unstable) bytes carry no promise.
    await Promise.all([this.d.sync(ino), this.flushMeta()]);
  }

  /**
   * Makes a file's bytes durable and leaves its metadata (its size, or its bytes when inline)
   * to the next flush of the metadata log. For a file written aside: the change that makes it
   * visible (the S3 link, a multipart part's record) comes later, is flushed before the client
   * is answered, and the log replays in order — one log flush per upload instead of two.
   */
  async commitData(ino: bigint): Promise<void> {
    if (await this.isInline(ino)) return;
    await this.d.sync(ino);
  }

  /**
   * Whether the file's bytes are inline now. Layouts 0 and 1 are never inline again (1 only
   * becomes 0, when emptied). A cached layout 2 is the store's own view on SQLite — its only
   * writer is this process, whose every commit updates the cache before anything else runs —
   * and is read again on PostgreSQL, where another node may have moved the file to its own blob
   * since (an NFS COMMIT of a small file: one read less).
   */
  private async isInline(ino: bigint): Promise<boolean> {
    if ((await this.node(ino)).layout !== INLINE) return false;
    return this.meta.kind === 'sqlite' || (await this.m.row(ino))?.layout === LAYOUT.inline;
  }

  /**
   * Makes a file immutable until `untilNs` (0n: mutable again) — S3 Object Lock's retention
   * and legal hold, enforced here for every protocol — and sets `xattrs` (quietly) in the same
   * transaction. The caller decides who may: this takes no credential and refuses nothing but
   * a non-file.
   */
  async setImmutableUntil(
    ino: bigint,
    untilNs: bigint,
    xattrs: Record<string, Buffer | undefined> = {},
  ): Promise<void> {
    await this.finish(await this.m.setHold(ino, untilNs, xattrs));
  }

  async setXattrs(
    cred: Credential,
    ino: bigint,
    values: Record<string, Buffer | undefined>,
    opts: { quiet?: boolean } = {},
  ): Promise<void> {
    const quiet = opts.quiet ?? false;
    const fx = await this.m.setXattrs(cred, ino, values, quiet);
    const change =
      quiet || !this.changes.active
        ? undefined
        : this.inodeChange((await this.node(ino)).attrs, ['xattrs'], Object.keys(values));
    await this.finish(fx, 'settled', change);
  }

  // ---- write aside, link into place --------------------------------------------------------

  /**
   * A new file in no directory (an upload in progress); removed at start-up if never linked.
   * Not flushed on its own: lost in a crash it is harmless (nothing names it, and its inode
   * number's blob is trimmed on first write), and any later durable change — the link, a
   * multipart record — flushes it too, the WAL being replayed in order.
   */
  async createDetached(
    cred: Credential,
    mode: number,
    purpose: string,
    owner: string | null = null,
    /**
     * The size the file will have, when known (an S3 PUT's Content-Length): within
     * `inlineMax` the file starts inline. Not for files compose() will refer to (parts),
     * which must have blobs.
     */
    sizeHint?: bigint,
  ): Promise<Attributes> {
    const inline = sizeHint !== undefined && this.fitsInline(sizeHint);
    const attrs = await this.m.createDetached(cred, mode, purpose, owner, inline);
    // Nothing can have written to a file no one else knows of: its blob needs no tail check
    // (on an object store that check is a listing per upload).
    if (!inline) this.noteTailCheck(attrs.ino, Promise.resolve());
    return attrs;
  }

  /** Whether a file of `size` bytes starts inline (`transport.inline_max`). */
  fitsInline(size: bigint): boolean {
    return this.inlineMax > 0n && size <= this.inlineMax;
  }

  /**
   * A detached file created with its whole content (an S3 PUT of a small object, gathered
   * first): inode, bytes and ledger in one transaction, where creating and then writing it
   * took two (and two more round trips each on PostgreSQL). Only for content that fitsInline.
   */
  async createDetachedWith(
    cred: Credential,
    mode: number,
    purpose: string,
    owner: string | null,
    content: Buffer,
  ): Promise<Attributes> {
    if (!this.fitsInline(BigInt(content.length))) {
      throw fsError('EINVAL', 'content larger than transport.inline_max', String(content.length));
    }
    const attrs = await this.m.createDetached(cred, mode, purpose, owner, true, content);
    if (content.length > 0) this.inlineWrites.inline++;
    return attrs;
  }

  /**
   * The group linkDetached gives `file` in `dir`: a setgid directory's own, as a create there
   * would (one more change of the file, and its usage moves to that group's quota).
   */
  groupOnLink(dir: Attributes, file: Attributes): number {
    return groupOnLink(dir, file);
  }

  /** `xattrs`: annotations of the content (S3 metadata, ETag) set in the same transaction. */
  async linkDetached(
    cred: Credential,
    ino: bigint,
    dir: bigint,
    name: string,
    replace: boolean | RemoveExpectation,
    xattrs?: Record<string, Buffer | undefined>,
  ): Promise<Attributes> {
    const { attrs, fx } = await this.m.linkDetached(cred, ino, dir, name, replace, xattrs);
    await this.finish(fx);
    return attrs;
  }

  async removeDetached(ino: bigint): Promise<void> {
    await this.finish(await this.m.removeDetached(ino));
  }

  /** Concatenates detached files by reference into a new detached file (no data copied). */
  async compose(
    cred: Credential,
    parts: bigint[],
    purpose: string,
    owner: string | null = null,
  ): Promise<Attributes> {
    const { attrs, fx } = await this.m.compose(cred, parts, purpose, owner);
    await this.finish(fx);
    return attrs;
  }

  // ---- administration ----------------------------------------------------------------------

  /** Creates a namespace path's missing directories (exports, shares, the S3 root) as root. */
  async ensureDirectory(path: string, mode: number, uid = 0, gid = 0): Promise<Attributes> {
    let at = (await this.node(ROOT_INO)).attrs;
    const parts = splitPath(path);
    for (const [i, part] of parts.entries()) {
      const last = i === parts.length - 1;
      try {
        at = await this.lookup(ROOT, at.ino, part);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        at = await this.mkdir(ROOT, at.ino, part, last ? mode : 0o755);
        if (last && (uid !== 0 || gid !== 0 || (at.mode & 0o7777) !== mode)) {
          at = await this.setattr(ROOT, at.ino, { uid, gid, mode });
        }
      }
      if (at.type !== 'dir') throw fsError('ENOTDIR', `${part} is not a directory`, path);
    }
    return at;
  }

  /**
   * Detached files created before this instant (ns) are leftovers when no one links them. On
   * one node, everything before start-up is; on a shared PostgreSQL store another node may be
   * writing an upload right now, so only those an hour old are.
   */
  staleDetachedBefore(): bigint {
    const now = BigInt(Date.now()) * 1_000_000n;
    return this.meta.kind === 'postgres' ? now - CLUSTER_ORPHAN_AGE_NS : now + 1n;
  }

  /** The retry of queued blob deletions, while one is due. */
  private collectTimer: NodeJS.Timeout | undefined;
  private collectDelayMs = 0;

  /**
   * Blobs whose deletion failed stay queued: every queued one is deleted again in 5 s, then
   * at doubling intervals up to a minute while it keeps failing — so room a delete freed comes
   * back once the data store answers, without a restart.
   */
  private collectLater(): void {
    if (this.collectTimer || this.closed) return;
    this.collectDelayMs = Math.min(60_000, this.collectDelayMs === 0 ? 5_000 : this.collectDelayMs * 2);
    this.collectTimer = setTimeout(() => {
      this.collectTimer = undefined;
      const run = this.collectQueued()
        .then(
          () => {
            this.collectDelayMs = 0;
          },
          () => this.collectLater(),
        )
        .finally(() => this.gcRuns.delete(run));
      this.gcRuns.add(run);
    }, this.collectDelayMs);
    this.collectTimer.unref();
  }

  /** Deletes the data of every queued blob and takes them off the queue; how many there were. */
  private async collectQueued(): Promise<number> {
    const blobs = await this.m.pendingGc();
    if (blobs.length === 0) return 0;
    await this.d.remove(blobs);
    await this.m.dequeueGc(blobs);
    return blobs.length;
  }

  /** Deletes data of blobs a crash left queued and uploads a previous run never linked. */
  async recover(): Promise<{ blobs: number; detached: number }> {
    // More than the uploads one run can have in flight (see createDetached).
    await this.m.skipInodeNumbers(1_000_000n);
    await this.syncMeta();
    const blobs = await this.collectQueued();
    let detached = 0;
    const staleBefore = this.staleDetachedBefore();
    for (const d of await this.m.detached()) {
      // An unlinked file held open by a client of an earlier run (no open survives a restart),
      // or an upload never linked. With other nodes, only those an hour old, and an unlinked
      // file only when none of their clients holds it (it goes at their last close).
      if (d.purpose !== 'upload' && d.purpose !== OPEN_UNLINKED) continue;
      if (d.created >= staleBefore || (d.purpose === OPEN_UNLINKED && this.heldElsewhere(d.ino))) continue;
      await this.removeDetached(d.ino);
      detached++;
    }
    return { blobs, detached };
  }

  get barrierFlushes(): number {
    return this.barrier.flushes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.deferTimer);
    clearTimeout(this.collectTimer);
    await Promise.all(this.gcRuns);
    await this.barrier.sync();
    await this.data.close();
    this.barrier.close();
    await this.meta.close();
  }
}

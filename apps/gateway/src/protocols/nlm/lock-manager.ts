import type { Logger } from '../../daemon/logger.ts';
import type { ByteRangeLock, LockOwner, LockTable } from '../../storage/locks.ts';
import type { Nlm4Lock } from './codec.ts';
import { ownerOf } from './owner.ts';
import { type ByteRange, clampRange, lockRange, overlaps, unlockRange } from './ranges.ts';

/** Tells a client its blocked lock is now granted (NLM4_GRANTED); true when it took it. */
export type GrantedCallback = (to: {
  address: string;
  lock: Nlm4Lock;
  exclusive: boolean;
  cookie: Buffer;
}) => Promise<boolean>;

export interface NlmRequest {
  ino: bigint;
  lock: Nlm4Lock;
  exclusive: boolean;
}

interface Blocked {
  req: NlmRequest;
  owner: LockOwner;
  range: ByteRange;
  cookie: Buffer;
  /** Where the GRANTED callback goes: the address the LOCK came from. */
  address: string;
  refreshed: number;
  stopWaiting: () => void;
}

/**
 * A blocked request the client stopped repeating is dropped after this. Linux clients repeat
 * a blocked LOCK every 30 s until granted or cancelled.
 */
const BLOCKED_TTL_MS = 120_000;
const MAX_BLOCKED = 10_000;

/**
 * NLM's side of the shared lock table: locks and unlocks with POSIX semantics per owner, and
 * blocking locks — answered NLM4_BLOCKED, retried whenever a lock on the file is released (by
 * NLM or SMB), and on success granted to the client through its NLM4_GRANTED callback. A
 * client that refuses or cannot be reached for the callback does not keep the lock. Before
 * each try, `beforeLock` recalls what SMB clients cache of the file (the namespace's recall):
 * a byte-range lock breaks other holders' read caching on Windows, since a cached read or write
 * would pass the lock by, and here their cached writes reach the file before the lock does.
 */
export class NlmLockManager {
  private readonly blocked = new Map<string, Blocked>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    readonly table: LockTable,
    private readonly granted: GrantedCallback,
    private readonly log: Logger,
    private readonly beforeLock: (ino: bigint) => Promise<void> | undefined = () => undefined,
    /** Monotonic milliseconds: a stepped wall clock neither drops nor keeps a blocked request. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  private rangeOf(lock: Nlm4Lock): ByteRange {
    return clampRange({ offset: lock.offset, length: lock.length });
  }

  private blockKey(req: NlmRequest, owner: LockOwner, range: ByteRange): string {
    return `${owner.key}|${req.ino}|${range.offset}|${range.length}|${req.exclusive}`;
  }

  /** The lock of another owner that would conflict (TEST). */
  test(req: NlmRequest): ByteRangeLock | undefined {
    const owner = ownerOf(req.lock);
    const range = this.rangeOf(req.lock);
    return this.table.conflict(req.ino, range.offset, range.length, req.exclusive, owner.key);
  }

  async lock(
    req: NlmRequest,
    block: boolean,
    origin: { address: string; cookie: Buffer },
  ): Promise<'granted' | 'denied' | 'blocked'> {
    const owner = ownerOf(req.lock);
    const range = this.rangeOf(req.lock);
    const key = this.blockKey(req, owner, range);
    await this.beforeLock(req.ino);
    const holder = await this.table.arbitrate(req.ino, () =>
      lockRange(this.table, { ino: req.ino, ...range, exclusive: req.exclusive, owner }),
    );
    if (!holder) {
      this.stopBlocking(key);
      return 'granted';
    }
    if (!block) return 'denied';
    const known = this.blocked.get(key);
    if (known) {
      known.refreshed = this.now();
      known.cookie = origin.cookie;
      known.address = origin.address;
      return 'blocked';
    }
    if (this.blocked.size >= MAX_BLOCKED) return 'denied';
    const entry: Blocked = {
      req,
      owner,
      range,
      cookie: origin.cookie,
      address: origin.address,
      refreshed: this.now(),
      stopWaiting: () => {},
    };
    this.blocked.set(key, entry);
    this.wait(key, entry);
    return 'blocked';
  }

  /** CANCEL: forget a blocked request. */
  cancel(req: NlmRequest): void {
    const owner = ownerOf(req.lock);
    this.stopBlocking(this.blockKey(req, owner, this.rangeOf(req.lock)));
  }

  /** UNLOCK: release the owner's locks in the range and any request of its still blocked there. */
  async unlock(req: Omit<NlmRequest, 'exclusive'>): Promise<void> {
    const owner = ownerOf(req.lock);
    const range = this.rangeOf(req.lock);
    for (const [key, b] of this.blocked) {
      if (b.owner.key === owner.key && b.req.ino === req.ino && overlaps(b.range, range))
        this.stopBlocking(key);
    }
    await this.table.arbitrate(req.ino, () => unlockRange(this.table, req.ino, owner, range));
  }

  /** FREE_ALL and SM_NOTIFY: the client rebooted; everything it held or waited for goes. */
  releaseClient(callerName: string): number {
    for (const [key, b] of this.blocked) if (b.owner.client === callerName) this.stopBlocking(key);
    return this.table.releaseClient('nfs', callerName);
  }

  /** How many of a client's requests wait for a lock. */
  blockedOf(callerName: string): number {
    let n = 0;
    for (const b of this.blocked.values()) if (b.owner.client === callerName) n++;
    return n;
  }

  get blockedCount(): number {
    return this.blocked.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const key of [...this.blocked.keys()]) this.stopBlocking(key);
  }

  private stopBlocking(key: string): void {
    const b = this.blocked.get(key);
    if (!b) return;
    this.blocked.delete(key);
    b.stopWaiting();
  }

  private wait(key: string, b: Blocked): void {
    // The table calls listeners while it releases: retry after it has finished.
    b.stopWaiting = this.table.onRelease(b.req.ino, () => setImmediate(() => void this.retry(key, b)));
  }

  private async retry(key: string, b: Blocked): Promise<void> {
    if (this.blocked.get(key) !== b) return;
    let holder: ReturnType<typeof lockRange>;
    try {
      await this.beforeLock(b.req.ino);
      holder = await this.table.arbitrate(b.req.ino, () =>
        this.blocked.get(key) === b
          ? lockRange(this.table, { ino: b.req.ino, ...b.range, exclusive: b.req.exclusive, owner: b.owner })
          : undefined,
      );
    } catch (e) {
      // The cluster could not decide (metadata down): keep waiting for the next release.
      this.log.warn({ err: e }, 'NLM blocked lock retry failed');
      holder = undefined;
      if (this.blocked.get(key) === b) this.wait(key, b);
      return;
    }
    if (this.blocked.get(key) !== b) return;
    if (holder) {
      this.wait(key, b);
      return;
    }
    this.blocked.delete(key);
    void this.grant(b);
  }

  private async grant(b: Blocked): Promise<void> {
    let accepted = false;
    try {
      accepted = await this.granted({
        address: b.address,
        lock: b.req.lock,
        exclusive: b.req.exclusive,
        cookie: b.cookie,
      });
    } catch (e) {
      this.log.warn({ err: e, client: b.owner.client }, 'NLM GRANTED callback failed');
    }
    if (!accepted) {
      this.log.info(
        { client: b.owner.client, address: b.address },
        `NLM client ${b.owner.client} did not take its granted lock; released`,
      );
      await this.table.arbitrate(b.req.ino, () => unlockRange(this.table, b.req.ino, b.owner, b.range));
    }
  }

  private sweep(): void {
    const cutoff = this.now() - BLOCKED_TTL_MS;
    for (const [key, b] of this.blocked) if (b.refreshed < cutoff) this.stopBlocking(key);
  }
}

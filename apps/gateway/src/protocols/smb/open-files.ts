import { ACCESS, OPTION, SHARE } from './constants.ts';
import type { RequestContext } from './context.ts';
import type { PipeEndpoint } from './dcerpc/pipe.ts';
import type { QuotaEntry } from './info/quota-info.ts';
import type { Lease } from './leases.ts';
import type { NotifyWatch } from './notify.ts';
import type { Session } from './session.ts';
import { DATA_ACCESS, shareCounts, violatesSharing } from './share-modes.ts';
import { sameStreamName } from './streams.ts';
import type { TreeConnect } from './tree.ts';
import { upcase } from './upcase.ts';

export interface FileId {
  persistent: bigint;
  volatile: bigint;
}

/** A byte-range lock as the client asked for it (SMB lengths: 0 is an empty range). */
export interface HeldLock {
  offset: bigint;
  length: bigint;
  exclusive: boolean;
}

/** Where a QUERY_DIRECTORY enumeration is (MS-SMB2 §3.3.1.10 Open.EnumerationLocation). */
export interface DirEnumeration {
  pattern: string;
  /**
   * A pattern without wildcards naming an entry exactly, case and all: only that entry matches
   * (others differing by case only — made over NFS or S3 — are not listed, nor deleted by a
   * client that deletes what it lists), as smbd answers.
   */
  exact: boolean;
  /** "." and ".." are listed first: how many were handed out. */
  dots: number;
  cookie: bigint;
  eof: boolean;
  /** Entries read from the namespace that did not fit the last reply. */
  pending: Array<{ name: string; ino: bigint; stored: string }>;
}

/** What makes an open durable (MS-SMB2 §3.3.1.10 Open.IsDurable and the fields beside it). */
export interface Durability {
  version: 1 | 2;
  /** v2: the client's CreateGuid, checked again at reconnect. */
  createGuid: Buffer | undefined;
  /** How long the open outlives its connection (Open.DurableOpenTimeout). */
  timeoutMs: number;
  /** Who may reconnect it (Open.DurableOwner): the user that opened it. */
  owner: string;
  clientGuid: Buffer;
  /**
   * Set while the open has no connection: cancels the close at the timeout, which counts only
   * time the event loop ran (a reconnect that came while the process stood still is read first).
   */
  cancelExpiry: (() => void) | undefined;
}

/** An oplock break sent and not yet acknowledged (Open.OplockState Breaking). */
export interface OplockBreak {
  /** The level offered: LEVEL_II or NONE. */
  to: number;
  /**
   * Cancels the break's timeout, which takes the oplock away after `smb.break_timeout` of the
   * event loop running (a pause of the process does not count against the client).
   */
  cancelTimeout: () => void;
}

/** MS-SMB2 §3.3.1.10: an open handle. */
export class Open {
  position = 0n;
  /** Unstable writes not yet committed: FLUSH and CLOSE commit them. */
  dirty = false;
  closed = false;
  enumeration: DirEnumeration | undefined;
  /** Where a quota list enumeration is (SMB2_0_INFO_QUOTA without RestartScan continues here). */
  quotaScan: { entries: QuotaEntry[]; next: number } | undefined;
  /**
   * A ChangeTime the client set through this open (MS-FSA Open.UserSetChangeTime): changes made
   * through the open keep it rather than moving it to now.
   */
  stickyChangeTime: bigint | undefined;
  /**
   * The client set (or froze, with -1) LastWriteTime through this open (MS-FSA
   * Open.UserSetModificationTime): its writes and size changes leave that time (set-times.ts).
   */
  writeTimeFrozen = false;
  /** FileModeInformation set on the open (MS-FSCC §2.4.26), reported back. */
  mode = 0;
  notify: NotifyWatch | undefined;
  /** The oplock granted (§2.2.14 OplockLevel), LEASE when the open has a lease. */
  oplock = 0;
  oplockBreak: OplockBreak | undefined;
  /** The lease the open shares with the client's other opens of the same key (leases.ts). */
  lease: Lease | undefined;
  /**
   * The named stream the open reads and writes (streams.ts), as stored; undefined for the file's
   * unnamed stream. Share modes and delete on close are the stream's own (MS-FSA: per stream).
   */
  stream: string | undefined;
  durable: Durability | undefined;
  readonly locks: HeldLock[] = [];
  /**
   * Open.LockSequenceArray (MS-SMB2 §3.3.1.10): by LockSequenceIndex, the LockSequenceNumber of
   * the last lock or unlock request with that index that was done (durable opens on SMB 3.x).
   */
  readonly lockSequences = new Map<number, number>();
  /** Called once when the open closes (pending blocking locks end then). */
  readonly closeListeners = new Set<() => void>();
  readonly openedAt = Date.now();

  constructor(
    /** The volatile part changes when a durable open is reconnected; the persistent one stays. */
    public fileId: FileId,
    /** The session and tree the open lives on (new ones after a durable reconnect). */
    public session: Session,
    public tree: TreeConnect,
    readonly kind: 'file' | 'dir' | 'pipe',
    readonly ino: bigint,
    /** Where the file is linked: updated by rename. */
    public parentIno: bigint,
    public name: string,
    /** Share-relative path as the client named it (for status and notify). */
    public path: string,
    readonly access: number,
    readonly shareAccess: number,
    public deleteOnClose: boolean,
    readonly writeThrough: boolean,
    readonly lockKey: string,
    readonly pipe?: PipeEndpoint,
  ) {}

  /** A durable open whose connection is gone, kept until a reconnect or its timeout. */
  get disconnected(): boolean {
    return this.durable?.cancelExpiry !== undefined;
  }

  has(bits: number): boolean {
    return (this.access & bits) === bits;
  }

  hasAny(bits: number): boolean {
    return (this.access & bits) !== 0;
  }
}

/**
 * A new open made by a CREATE on this request's connection, session and tree: `at` is where the
 * file is (its parent, name and share-relative path; no parent for the share's root).
 */
export function openFromCreate(
  ctx: RequestContext,
  req: { shareAccess: number; options: number },
  kind: 'file' | 'dir',
  ino: bigint,
  at: { parent: { ino: bigint } | undefined; name: string; path: string },
  granted: number,
): Open {
  const fid = ctx.env.nextFileId();
  return new Open(
    { persistent: fid, volatile: fid },
    ctx.session!,
    ctx.tree!,
    kind,
    ino,
    at.parent?.ino ?? 0n,
    at.name,
    at.path,
    granted >>> 0,
    req.shareAccess,
    (req.options & OPTION.DELETE_ON_CLOSE) !== 0,
    (req.options & OPTION.WRITE_THROUGH) !== 0,
    `smb:${ctx.conn.id}:${fid}`,
  );
}

interface InodeState {
  opens: Set<Open>;
  deletePending: boolean;
  /** Named streams to delete when their last open closes (upper-case names). */
  streamsPending: Set<string> | undefined;
}

const isStream = (o: Open, stream: string | undefined) =>
  stream === undefined ? o.stream === undefined : o.stream !== undefined && sameStreamName(o.stream, stream);

function* ofStream(opens: Iterable<Open>, stream: string | undefined): Iterable<Open> {
  for (const o of opens) if (isStream(o, stream)) yield o;
}

/**
 * Every open of every connection by inode: share modes (MS-FSA §2.1.5.1.2.1) and delete-pending
 * state are per file, not per handle, so they live here, across connections.
 */
export class InodeOpens {
  private readonly byIno = new Map<bigint, InodeState>();
  private readonly waiters = new Map<bigint, Array<() => void>>();
  /** Told of every `touch` (the file's opens or caching may have changed: cluster-opens.ts). */
  onTouch: ((ino: bigint) => void) | undefined;

  /**
   * Resolves at the file's next `touch`: an open of it closed, or a break of its caching
   * acknowledged or timed out (a CREATE waiting for breaks looks again then).
   */
  changed(ino: bigint): Promise<void> {
    return new Promise((resolve) => {
      const list = this.waiters.get(ino);
      if (list) list.push(resolve);
      else this.waiters.set(ino, [resolve]);
    });
  }

  touch(ino: bigint): void {
    this.onTouch?.(ino);
    const list = this.waiters.get(ino);
    if (!list) return;
    this.waiters.delete(ino);
    for (const wake of list) wake();
  }

  /**
   * True when an open with this access and share mode would violate the sharing of another open
   * of the same stream (`stream` undefined: the unnamed one). Deleting the file deletes its
   * named streams too, so an open of the file with DELETE also meets their opens that do not
   * share delete (smbtorture's smb2.streams.delete).
   */
  conflicts(ino: bigint, access: number, shareAccess: number, stream?: string): boolean {
    const s = this.byIno.get(ino);
    if (!s) return false;
    if (violatesSharing(shareCounts(ofStream(s.opens, stream)), access, shareAccess)) return true;
    if (stream !== undefined || !(access & ACCESS.DELETE)) return false;
    for (const o of s.opens)
      if (o.stream !== undefined && o.access & DATA_ACCESS && !(o.shareAccess & SHARE.DELETE)) return true;
    return false;
  }

  /** The file's delete is pending; with `stream`, that stream's delete or the file's. */
  deletePending(ino: bigint, stream?: string): boolean {
    const s = this.byIno.get(ino);
    if (!s) return false;
    return s.deletePending || (stream !== undefined && (s.streamsPending?.has(upcase(stream)) ?? false));
  }

  setDeletePending(ino: bigint, pending: boolean, stream?: string): void {
    const s = this.byIno.get(ino);
    if (!s) return;
    if (stream === undefined) {
      s.deletePending = pending;
      return;
    }
    s.streamsPending ??= new Set();
    if (pending) s.streamsPending.add(upcase(stream));
    else s.streamsPending.delete(upcase(stream));
  }

  /** The file's opens of its unnamed stream (those other nodes' share modes meet). */
  *unnamedOpensOf(ino: bigint): Iterable<Open> {
    yield* ofStream(this.byIno.get(ino)?.opens ?? [], undefined);
  }

  /** Whether the file has an open (its last name going then leaves it until its last close). */
  isOpen(ino: bigint): boolean {
    return this.byIno.has(ino);
  }

  opensOf(ino: bigint): readonly Open[] {
    return [...(this.byIno.get(ino)?.opens ?? [])];
  }

  /** Whether any open of the file passes `test` (no copy of the list: for every WRITE's checks). */
  anyOf(ino: bigint, test: (o: Open) => boolean): boolean {
    const s = this.byIno.get(ino);
    if (!s) return false;
    for (const o of s.opens) if (test(o)) return true;
    return false;
  }

  add(open: Open): void {
    let s = this.byIno.get(open.ino);
    if (!s) {
      s = { opens: new Set(), deletePending: false, streamsPending: undefined };
      this.byIno.set(open.ino, s);
    }
    s.opens.add(open);
  }

  /**
   * Removes the open; says whether it was the file's last one and the file is to be deleted,
   * and for an open of a named stream whether that stream is to be deleted (its last open, and
   * its delete pending).
   */
  remove(open: Open): { last: boolean; deletePending: boolean; streamDeleted: boolean } {
    const s = this.byIno.get(open.ino);
    if (!s) return { last: true, deletePending: open.deleteOnClose, streamDeleted: false };
    s.opens.delete(open);
    let streamDeleted = false;
    if (open.stream === undefined) {
      if (open.deleteOnClose) s.deletePending = true;
    } else {
      if (open.deleteOnClose) this.setDeletePending(open.ino, true, open.stream);
      const upper = upcase(open.stream);
      if (s.streamsPending?.has(upper) && [...ofStream(s.opens, open.stream)].length === 0) {
        s.streamsPending.delete(upper);
        streamDeleted = true;
      }
    }
    const last = s.opens.size === 0;
    if (last) this.byIno.delete(open.ino);
    this.touch(open.ino);
    return { last, deletePending: s.deletePending, streamDeleted };
  }

  /** Every open, of every connection. */
  *all(): Iterable<Open> {
    for (const s of this.byIno.values()) yield* s.opens;
  }

  /** No SMB client has any file open. */
  get empty(): boolean {
    return this.byIno.size === 0;
  }

  get size(): number {
    let n = 0;
    for (const s of this.byIno.values()) n += s.opens.size;
    return n;
  }
}

import type { LedgerGate } from '../ledger-gate.ts';
import type { Attributes, CreateMode, FileType, SetAttributes } from '../types.ts';

export const TYPE_CODES = {
  file: 1,
  dir: 2,
  symlink: 3,
  fifo: 4,
  socket: 5,
  chardev: 6,
  blockdev: 7,
} as const;

export const USAGE_UID = 0;
export const USAGE_GID = 1;

export const ROOT_INO = 1n;
/** Largest file size the namespace accepts (EFBIG past it): 16 TiB. */
export const MAX_FILE_SIZE = 1n << 44n;
export const MAX_LINKS = 65000;

export interface NodeSpec {
  type: Exclude<FileType, 'dir'> | 'dir';
  mode: number;
  target?: string;
  rdev?: number;
  how?: CreateMode;
  /** Attributes applied at creation (NFS sattr3, SMB create); uid/gid only for root. */
  initial?: SetAttributes;
  /** A file that starts with its bytes inline (layout 2: `transport.inline_max`). */
  inline?: boolean;
}

export interface Extent {
  off: bigint;
  len: bigint;
  blob: bigint;
  blobOff: bigint;
}

export interface ExtentRow {
  off: bigint;
  len: bigint;
  blob: bigint;
  blob_off: bigint;
}

export const toExtent = (r: ExtentRow): Extent => ({
  off: r.off,
  len: r.len,
  blob: r.blob,
  blobOff: r.blob_off,
});

export interface DetachedRow {
  ino: bigint;
  created: bigint;
  purpose: string;
  owner: string | null;
}

/**
 * A directory entry a mutation changed: added, removed, renamed (the old and the new entry),
 * or `modified` when the entry now names a replaced or reset file (an upload linked over it, a
 * re-create that truncated it). The namespace's change feed is made of these.
 */
export interface EntryChange {
  kind: 'entry';
  action: 'added' | 'removed' | 'modified' | 'renamed-from' | 'renamed-to';
  dir: bigint;
  name: string;
  /** The inode the entry names (for `removed` and `renamed-from`: named). */
  ino: bigint;
  type: FileType;
}

export const entry = (
  action: EntryChange['action'],
  dir: bigint,
  name: string,
  ino: bigint,
  type: FileType,
): EntryChange => ({ kind: 'entry', action, dir, name, ino, type });

/** What a mutation did that the caller must finish outside the transaction. */
export interface Effects {
  /** Blobs with no reference left: delete their data, then dequeue them. */
  freedBlobs: bigint[];
  /** Inodes whose cached attributes are stale now. */
  touched: bigint[];
  /** Directory entries (parent, name) whose cached lookup is stale now. */
  names: Array<[bigint, string]>;
  /** Entries added, removed, renamed or replaced, in the order the transaction made them. */
  entries: EntryChange[];
  /**
   * Touched inodes as the transaction left them, where a statement returned the row anyway
   * (rows.ts keepAfter): a synchronous store's commit hands them to the namespace's cache
   * instead of its reading them again.
   */
  after?: Map<bigint, AfterImage>;
  /** Set once the commit itself brought the caches up to date (MetadataStore.committed). */
  cached?: boolean;
  /** Files whose last name went while held open: detached until their last close. */
  unlinkedOpen?: bigint[];
}

/** An inode's attributes and data layout as a transaction left them. */
export interface AfterImage {
  attrs: Attributes;
  layout: number;
  /**
   * The transaction moved the change id past every content annotation and wrote none (a data
   * write): none is current. An annotation is set quietly, in a transaction that touches the
   * inode, so an image cached with this flag is replaced before one can be.
   */
  unannotated?: true;
}

/** The Effects the transaction running now on a synchronous store has made (collectEffects). */
let collecting: Effects[] | undefined;

export const noEffects = (): Effects => {
  const fx: Effects = { freedBlobs: [], touched: [], names: [], entries: [] };
  collecting?.push(fx);
  return fx;
};

/**
 * Runs a whole synchronous transaction, putting every Effects its programs make into `into`:
 * the store hands them over once the commit has happened (SQLite runs a transaction without
 * yielding, so nothing else can make Effects meanwhile).
 */
export function collectEffects<T>(into: Effects[], body: () => T): T {
  const outer = collecting;
  collecting = into;
  try {
    return body();
  } finally {
    collecting = outer;
  }
}

/** The purpose of a detached file whose last name went while a client held it open. */
export const OPEN_UNLINKED = 'open-unlinked';

/** What the programs need besides the database: a clock, the quota gate, blob hints. */
export interface TxContext {
  now(): bigint;
  readonly gate: LedgerGate;
  /**
   * Inodes below this number were made by an earlier run, which may have crashed after a
   * first write's bytes reached the blob and before its commit: such a file looks unwritten
   * (size 0, change 1) yet may own a blob. 0 until start-up recovery sets it.
   */
  readonly firstRunIno: bigint;
  /** Whether this process has touched the inode's blob (set by the namespace). */
  mayHaveBlob(ino: bigint): boolean;
  /**
   * Whether a client of this process holds the file open (an SMB open; set by the namespace):
   * removing its last name then leaves it detached — readable and writable through that open,
   * as POSIX keeps an unlinked open file — until the last open closes (Namespace.releaseUnlinked).
   */
  heldOpen(ino: bigint): boolean;
  /**
   * This process's key in the SMB opens other gateway processes record (`open_holds`, on
   * PostgreSQL), by which removing a file's last name asks whether they hold it; undefined
   * while no other process shares the metadata (SQLite).
   */
  readonly openHolder?: number;
}

/** Nanosecond wall clock that never goes backwards within a process. */
export function makeClock(): () => bigint {
  let last = 0n;
  return () => {
    const now = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    last = now > last ? now : last + 1n;
    return last;
  };
}

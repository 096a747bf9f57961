import { streamsOfChunks } from '../annotations.ts';
import type { LedgerGate } from '../ledger-gate.ts';
import type {
  Attributes,
  CreateMode,
  Credential,
  DirEntry,
  QuotaUsage,
  RemoveExpectation,
  SetAttributes,
} from '../types.ts';
import * as attributes from './attributes.ts';
import * as detachedOps from './detached.ts';
import * as entries from './entries.ts';
import { allExtents, extentsIn } from './inodes.ts';
import { usageOf } from './ledger.ts';
import {
  type DetachedRow,
  type Effects,
  type Extent,
  makeClock,
  type NodeSpec,
  type TxContext,
  USAGE_UID,
} from './model.ts';
import { all, get, type Program, run } from './program.ts';
import { type InodeRow, typeOfCode } from './rows.ts';

export type Awaitable<T> = T | Promise<T>;

export type { CreateMode };

/**
 * The metadata store the namespace runs on: every mutation is one transaction that reads,
 * checks (names, POSIX permissions, quota gate) and writes, so a refused change writes
 * nothing. The logic is the programs in this folder; a subclass supplies the database —
 * SQLite (answers synchronously; commits made durable by the WAL barrier) or PostgreSQL
 * (answers with promises; a commit is durable when it returns).
 */
export abstract class MetadataStore implements TxContext {
  abstract readonly kind: 'sqlite' | 'postgres';
  readonly now = makeClock();
  gate: LedgerGate;
  firstRunIno = 0n;
  /** Statements run so far (a metric: round trips on PostgreSQL). */
  statements = 0;
  /**
   * Write transactions run again (a metric): SQLite found the database locked, PostgreSQL
   * answered a serialization failure or a deadlock.
   */
  retries = 0;
  /** Set by the namespace: whether this process has touched the inode's blob. */
  mayHaveBlob: (ino: bigint) => boolean = () => false;
  heldOpen: (ino: bigint) => boolean = () => false;
  /** Set when the namespace joins other gateway nodes (postgres/join-cluster.ts). */
  openHolder: number | undefined;
  /**
   * Set by the namespace. A store whose transactions run without yielding (SQLite) calls it
   * right after each commit, in commit order, with the Effects the transaction's programs made
   * (model.ts collectEffects), so the caches are current before anything else runs.
   */
  committed?: (made: readonly Effects[]) => void;

  constructor(gate: LedgerGate) {
    this.gate = gate;
  }

  /** Runs a program in one transaction (again from the start if the database asks to retry). */
  protected abstract tx<T>(program: () => Program<T>): Awaitable<T>;
  /** Runs a read-only program without a transaction of its own. */
  protected abstract read<T>(program: () => Program<T>): Awaitable<T>;
  abstract close(): Awaitable<void>;

  // ---- reads -------------------------------------------------------------------------------

  row(ino: bigint): Awaitable<InodeRow | undefined> {
    return this.read(() => get<InodeRow>('getInode', ino));
  }

  /** The inode an entry names, in one query (the uncached LOOKUP path). */
  lookupRow(dir: bigint, name: string): Awaitable<InodeRow | undefined> {
    return this.read(() => get<InodeRow>('lookupRow', dir, name));
  }

  readlink(ino: bigint): Awaitable<string | undefined> {
    return this.read(function* () {
      return (yield* get<InodeRow>('getInode', ino))?.target ?? undefined;
    });
  }

  readdir(dir: bigint, cookie: bigint, limit: number): Awaitable<{ entries: DirEntry[]; eof: boolean }> {
    return this.read(function* () {
      const rows = yield* all<{ cookie: bigint; name: string; ino: bigint; type: bigint }>(
        'readdir',
        dir,
        cookie,
        limit + 1,
      );
      const eof = rows.length <= limit;
      const entries = rows
        .slice(0, limit)
        .map((r) => ({ name: r.name, ino: r.ino, type: typeOfCode(r.type), cookie: r.cookie }));
      return { entries, eof };
    });
  }

  /** The rows of several inodes in one query, by inode (one that is gone is not there). */
  rowsOf(inos: readonly bigint[]): Awaitable<Map<bigint, InodeRow>> {
    return this.read(function* () {
      const rows = yield* all<InodeRow>('rowsOf', JSON.stringify(inos.map(String)));
      return new Map(rows.map((r) => [r.ino, r]));
    });
  }

  /** Entries named after `after`, bytewise (S3's key order), with their rows (one query). */
  readdirRowsByName(dir: bigint, after: string, limit: number): Awaitable<RowPage> {
    return this.read(function* () {
      return yield* rowPage(dir, after, limit);
    });
  }

  /** listXattrs of several inodes in one query; an inode without any has an empty map. */
  listXattrsOf(inos: readonly bigint[]): Awaitable<Map<bigint, Map<string, Buffer>>> {
    return this.read(function* () {
      const rows = yield* all<{ ino: bigint; name: string; value: Buffer }>(
        'listXattrsOf',
        JSON.stringify(inos.map(String)),
      );
      const by = new Map<bigint, Map<string, Buffer>>(inos.map((ino) => [ino, new Map()]));
      for (const r of rows) by.get(BigInt(r.ino))?.set(r.name, r.value);
      return by;
    });
  }

  extents(ino: bigint, from: bigint, to: bigint): Awaitable<Extent[]> {
    return this.read(() => extentsIn(ino, from, to));
  }

  allExtents(ino: bigint): Awaitable<Extent[]> {
    return this.read(() => allExtents(ino));
  }

  usage(kind: 'uid' | 'gid', id: number): Awaitable<QuotaUsage> {
    return this.read(() => usageOf(kind, id));
  }

  allUsage(): Awaitable<QuotaUsage[]> {
    return this.read(function* () {
      const rows = yield* all<{ kind: bigint; id: bigint; bytes: bigint; inodes: bigint }>('allUsage');
      return rows.map(
        (r): QuotaUsage => ({
          kind: Number(r.kind) === USAGE_UID ? 'uid' : 'gid',
          id: Number(r.id),
          bytes: BigInt(r.bytes),
          inodes: BigInt(r.inodes),
        }),
      );
    });
  }

  getXattr(ino: bigint, name: string): Awaitable<Buffer | undefined> {
    return this.read(function* () {
      return (yield* get<{ value: Buffer }>('getXattr', ino, name))?.value;
    });
  }

  listXattrs(ino: bigint): Awaitable<Map<string, Buffer>> {
    return this.read(function* () {
      const rows = yield* all<{ name: string; value: Buffer }>('listXattrs', ino);
      return new Map(rows.map((r) => [r.name, r.value]));
    });
  }

  /** The inode's named streams (STREAM_XATTR_PREFIX) by name, with their sizes. */
  listStreams(ino: bigint): Awaitable<Array<{ name: string; size: number }>> {
    return this.read(function* () {
      const rows = yield* all<{ name: string; size: number | bigint }>('listStreams', ino);
      return streamsOfChunks(rows.map((r) => ({ name: r.name, size: Number(r.size) })));
    });
  }

  pendingGc(): Awaitable<bigint[]> {
    return this.read(function* () {
      return (yield* all<{ blob: bigint }>('listGc')).map((r) => r.blob);
    });
  }

  detached(): Awaitable<DetachedRow[]> {
    return this.read(() => all<DetachedRow>('listDetached'));
  }

  inodeCount(): Awaitable<bigint> {
    return this.read(function* () {
      return BigInt((yield* get<{ n: bigint }>('countInodes'))?.n ?? 0n);
    });
  }

  getMeta(key: string): Awaitable<string | undefined> {
    return this.read(function* () {
      return (yield* get<{ value: string }>('getMeta', key))?.value;
    });
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  setMeta(key: string, value: string): Awaitable<void> {
    return this.tx(() => run('setMeta', key, value));
  }

  /**
   * The health probe's write: one small commit. It reads before it writes, inside one
   * transaction, so a database another process holds locked answers at once (SQLite:
   * SQLITE_BUSY) rather than making the caller wait for the write lock.
   */
  probeWrite(): Awaitable<void> {
    return this.tx(function* () {
      yield* get('getMeta', 'probed');
      yield* run('setMeta', 'probed', String(Date.now()));
    });
  }

  dequeueGc(blobs: bigint[]): Awaitable<void> {
    if (blobs.length === 0) return undefined;
    return this.tx(function* () {
      for (const b of blobs) yield* run('dequeueGc', b);
    });
  }

  /**
   * Moves the inode counter past every number a crashed run may have handed out without its
   * transaction reaching the disk (files created aside are not flushed on their own), so a
   * blob left under such a number is never mistaken for a new file's. Called at start-up.
   */
  skipInodeNumbers(gap: bigint): Awaitable<void> {
    const set = (next: bigint) => {
      this.firstRunIno = next;
    };
    const r = this.tx(() => get<{ next: bigint }>('skipInodeNumbers', gap));
    if (r instanceof Promise) return r.then((v) => set(BigInt(v?.next ?? 0n)));
    set(BigInt(r?.next ?? 0n));
    return undefined;
  }

  // ---- mutations ---------------------------------------------------------------------------

  createNode(cred: Credential, dir: bigint, name: string, spec: NodeSpec) {
    return this.tx(() => entries.createNode(this, cred, dir, name, spec));
  }

  link(cred: Credential, ino: bigint, dir: bigint, name: string) {
    return this.tx(() => entries.link(this, cred, ino, dir, name));
  }

  remove(cred: Credential, dir: bigint, name: string, expect?: RemoveExpectation) {
    return this.tx(() => entries.remove(this, cred, dir, name, expect));
  }

  rmdir(cred: Credential, dir: bigint, name: string) {
    return this.tx(() => entries.rmdir(this, cred, dir, name));
  }

  rename(cred: Credential, fromDir: bigint, fromName: string, toDir: bigint, toName: string) {
    return this.tx(() => entries.rename(this, cred, fromDir, fromName, toDir, toName));
  }

  setattr(cred: Credential, ino: bigint, attrs: SetAttributes) {
    return this.tx(() => attributes.setattr(this, cred, ino, attrs));
  }

  /** An inline file's bytes; undefined when it is not inline (any more). */
  inlineBytes(ino: bigint): Awaitable<Buffer | undefined> {
    return this.read(() => attributes.inlineBytes(ino));
  }

  writeInline(cred: Credential, ino: bigint, offset: bigint, data: Buffer) {
    return this.tx(() => attributes.writeInline(this, cred, ino, offset, data));
  }

  recordWrite(cred: Credential, ino: bigint, offset: bigint, end: bigint) {
    return this.tx(() => attributes.recordWrite(this, cred, ino, offset, end));
  }

  recordMove(cred: Credential, ino: bigint, offset: bigint, end: bigint, copied: Buffer) {
    return this.tx(() => attributes.recordMove(this, cred, ino, offset, end, copied));
  }

  precheckWrite(cred: Credential, ino: bigint, end: bigint) {
    return this.read(() => attributes.precheckWrite(this, cred, ino, end));
  }

  voidContentAnnotation(ino: bigint) {
    return this.tx(() => attributes.voidContentAnnotation(ino));
  }

  setHold(ino: bigint, untilNs: bigint, xattrs: Record<string, Buffer | undefined> = {}): Awaitable<Effects> {
    return this.tx(() => attributes.setHold(ino, untilNs, xattrs));
  }

  setXattrs(cred: Credential, ino: bigint, values: Record<string, Buffer | undefined>, quiet = false) {
    return this.tx(() => attributes.setXattrs(this, cred, ino, values, quiet));
  }

  createDetached(
    cred: Credential,
    mode: number,
    purpose: string,
    owner: string | null,
    inline = false,
    content?: Buffer,
  ) {
    return this.tx(() => detachedOps.createDetached(this, cred, mode, purpose, owner, inline, content));
  }

  linkDetached(
    cred: Credential,
    ino: bigint,
    dir: bigint,
    name: string,
    replace: boolean | RemoveExpectation,
    xattrs?: Record<string, Buffer | undefined>,
  ) {
    return this.tx(() => detachedOps.linkDetached(this, cred, ino, dir, name, replace, xattrs));
  }

  removeDetached(ino: bigint): Awaitable<Effects> {
    return this.tx(() => detachedOps.removeDetached(this, ino));
  }

  compose(cred: Credential, parts: bigint[], purpose: string, owner: string | null) {
    return this.tx(() => detachedOps.compose(this, cred, parts, purpose, owner));
  }
}

export type { Attributes, Effects };

/** A directory page whose entries carry their inode rows (undefined: the row is gone). */
export interface RowPage {
  entries: Array<DirEntry & { row: InodeRow | undefined }>;
  eof: boolean;
}

interface EntryRow extends InodeRow {
  entry_cookie: bigint;
  entry_name: string;
  entry_ino: bigint;
  entry_type: bigint;
}

function* rowPage(dir: bigint, after: string, limit: number) {
  const rows = yield* all<EntryRow>('readdirRowsByName', dir, after, limit + 1);
  const entries = rows.slice(0, limit).map((r) => ({
    name: r.entry_name,
    ino: r.entry_ino,
    type: typeOfCode(r.entry_type),
    cookie: r.entry_cookie,
    row: r.ino === null ? undefined : r,
  }));
  return { entries, eof: rows.length <= limit } satisfies RowPage;
}

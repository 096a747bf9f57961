import { randomInt } from 'node:crypto';
import Database from 'better-sqlite3';
import { ETAG_CHANGE_XATTR } from '../annotations.ts';
import { fsError } from '../errors.ts';
import type { LedgerGate } from '../ledger-gate.ts';
import { checkLookupName, checkNewName } from '../names.ts';
import {
  effectiveAccess,
  inGroup,
  isOwnerOrRoot,
  requireAccess,
  requireStickyRight,
  S_ISGID,
  S_ISUID,
  W_OK,
  X_OK,
} from '../permissions.ts';
import type {
  Attributes,
  CreateMode,
  Credential,
  DirEntry,
  FileType,
  QuotaUsage,
  SetAttributes,
} from '../types.ts';
import { type InodeRow, toAttributes, typeOfCode } from './rows.ts';
import { SCHEMA_SQL, SCHEMA_VERSION, TYPE_CODES, USAGE_GID, USAGE_UID } from './schema.ts';
import { prepareStatements, type Statements } from './statements.ts';

export const ROOT_INO = 1n;
/** Largest file size the namespace accepts (EFBIG past it): 16 TiB. */
export const MAX_FILE_SIZE = 1n << 44n;
const MAX_LINKS = 65000;

export interface NodeSpec {
  type: Exclude<FileType, 'dir'> | 'dir';
  mode: number;
  target?: string;
  rdev?: number;
  how?: CreateMode;
  /** Attributes applied at creation (NFS sattr3, SMB create); uid/gid only for root. */
  initial?: SetAttributes;
}

export interface Extent {
  off: bigint;
  len: bigint;
  blob: bigint;
  blobOff: bigint;
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

const entry = (
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

/**
 * The embedded metadata store: every namespace mutation is one SQLite transaction that reads,
 * checks (names, POSIX permissions, quota gate) and writes, so a refused change writes nothing.
 * Commits are made durable by the caller through the group-commit barrier (durability.ts).
 */
export class SqliteMetadataStore {
  readonly db: Database.Database;
  private readonly st: Statements;
  readonly now = makeClock();
  gate: LedgerGate;

  constructor(file: string, gate: LedgerGate) {
    this.gate = gate;
    this.db = new Database(file);
    // WAL with synchronous=NORMAL: commits are atomic and survive a process crash at once;
    // they become durable when the group-commit barrier fdatasyncs the WAL (durability.ts).
    // Checkpoints run on a worker thread, so auto-checkpoint (which fsyncs inline) is off.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('wal_autocheckpoint = 0');
    // This connection is the database's only writer (one gateway per state folder; the
    // checkpointer's PASSIVE checkpoints never take the write lock), so waiting for a lock only
    // happens when something outside holds it — and the wait would stall the event loop, every
    // protocol with it. Fail fast instead: the error counts toward the circuit breaker.
    // (Opening may wait: a tool reading the database at that moment is not a fault.)
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    this.db.exec(SCHEMA_SQL);
    this.st = prepareStatements(this.db);
    this.initialise();
    this.db.pragma('busy_timeout = 20');
  }

  private initialise(): void {
    this.db.transaction(() => {
      const version = this.st.getMeta.get('schema_version') as { value: string } | undefined;
      if (version && Number(version.value) > SCHEMA_VERSION) {
        throw new Error(
          `metadata schema ${version.value} is newer than this gateway understands (${SCHEMA_VERSION})`,
        );
      }
      if (!this.st.getInode.get(ROOT_INO)) {
        const now = this.now();
        this.st.insertInode.run({
          gen: randomInt(1, 2 ** 31),
          type: TYPE_CODES.dir,
          mode: 0o755,
          nlink: 2,
          uid: 0,
          gid: 0,
          rdev: 0,
          now,
          parent: ROOT_INO,
          target: null,
          verifier: null,
        });
        this.st.addUsage.run(USAGE_UID, 0, 0, 1);
        this.st.addUsage.run(USAGE_GID, 0, 0, 1);
        this.st.setMeta.run('schema_version', String(SCHEMA_VERSION));
        this.st.setMeta.run('created', String(now));
      }
    })();
  }

  close(): void {
    this.db.close();
  }

  // ---- reads -------------------------------------------------------------------------------

  row(ino: bigint): InodeRow | undefined {
    return this.st.getInode.get(ino) as InodeRow | undefined;
  }

  getattr(ino: bigint): Attributes | undefined {
    const r = this.row(ino);
    return r ? toAttributes(r) : undefined;
  }

  /** The inode an entry names, or undefined; "." and ".." resolve through the directory. */
  lookupIno(dir: Attributes, name: string): bigint | undefined {
    if (name === '.') return dir.ino;
    if (name === '..') return dir.parent;
    const r = this.st.lookup.get(dir.ino, name) as { ino: bigint } | undefined;
    return r?.ino;
  }

  /** The inode an entry names, in one query (the uncached LOOKUP path). */
  lookupRow(dir: bigint, name: string): InodeRow | undefined {
    return this.st.lookupRow.get(dir, name) as InodeRow | undefined;
  }

  readdir(dir: bigint, cookie: bigint, limit: number): { entries: DirEntry[]; eof: boolean } {
    const rows = this.st.readdir.all(dir, cookie, limit + 1) as Array<{
      cookie: bigint;
      name: string;
      ino: bigint;
      type: bigint;
    }>;
    const eof = rows.length <= limit;
    const entries = rows
      .slice(0, limit)
      .map((r) => ({ name: r.name, ino: r.ino, type: typeOfCode(r.type), cookie: r.cookie }));
    return { entries, eof };
  }

  readlink(ino: bigint): string | undefined {
    return this.row(ino)?.target ?? undefined;
  }

  extents(ino: bigint, from: bigint, to: bigint): Extent[] {
    const rows = this.st.extentsIn.all({ ino, from, to }) as Array<{
      off: bigint;
      len: bigint;
      blob: bigint;
      blob_off: bigint;
    }>;
    return rows
      .filter((r) => r.off + r.len > from)
      .map((r) => ({ off: r.off, len: r.len, blob: r.blob, blobOff: r.blob_off }));
  }

  allExtents(ino: bigint): Extent[] {
    const rows = this.st.allExtents.all(ino) as Array<{
      off: bigint;
      len: bigint;
      blob: bigint;
      blob_off: bigint;
    }>;
    return rows.map((r) => ({ off: r.off, len: r.len, blob: r.blob, blobOff: r.blob_off }));
  }

  usage(kind: 'uid' | 'gid', id: number): QuotaUsage {
    const r = this.st.getUsage.get(kind === 'uid' ? USAGE_UID : USAGE_GID, id) as
      | { bytes: bigint; inodes: bigint }
      | undefined;
    return { kind, id, bytes: r?.bytes ?? 0n, inodes: r?.inodes ?? 0n };
  }

  allUsage(): QuotaUsage[] {
    const rows = this.st.allUsage.all() as Array<{ kind: bigint; id: bigint; bytes: bigint; inodes: bigint }>;
    return rows.map((r) => ({
      kind: r.kind === 0n ? 'uid' : 'gid',
      id: Number(r.id),
      bytes: r.bytes,
      inodes: r.inodes,
    }));
  }

  getXattr(ino: bigint, name: string): Buffer | undefined {
    return (this.st.getXattr.get(ino, name) as { value: Buffer } | undefined)?.value;
  }

  listXattrs(ino: bigint): Map<string, Buffer> {
    const rows = this.st.listXattrs.all(ino) as Array<{ name: string; value: Buffer }>;
    return new Map(rows.map((r) => [r.name, r.value]));
  }

  /**
   * Moves the inode counter past every number a crashed run may have handed out without its
   * transaction reaching the disk (files created aside are not flushed on their own), so a
   * blob left under such a number is never mistaken for a new file's. Called at start-up.
   */
  skipInodeNumbers(gap: bigint): void {
    this.db.prepare("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'inodes'").run(gap);
    const seq = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'inodes'").pluck().get();
    this.firstRunIno = BigInt((seq as number | bigint | undefined) ?? 0) + 1n;
  }

  /**
   * Inodes below this number were made by an earlier run, which may have crashed after a
   * first write's bytes reached the blob and before its commit: such a file looks unwritten
   * (size 0, change 1) yet may own a blob. 0 until start-up recovery sets it.
   */
  private firstRunIno = 0n;
  /** Set by the namespace: whether this run has touched the inode's blob (see destroyInode). */
  mayHaveBlob: (ino: bigint) => boolean = () => false;

  pendingGc(): bigint[] {
    return (this.st.listGc.all() as Array<{ blob: bigint }>).map((r) => r.blob);
  }

  dequeueGc(blobs: bigint[]): void {
    if (blobs.length === 0) return;
    this.db.transaction(() => {
      for (const b of blobs) this.st.dequeueGc.run(b);
    })();
  }

  detached(): Array<{ ino: bigint; created: bigint; purpose: string; owner: string | null }> {
    return this.st.listDetached.all() as Array<{
      ino: bigint;
      created: bigint;
      purpose: string;
      owner: string | null;
    }>;
  }

  inodeCount(): bigint {
    return (this.st.countInodes.get() as { n: bigint }).n;
  }

  getMeta(key: string): string | undefined {
    return (this.st.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.st.setMeta.run(key, value);
  }

  /**
   * The health probe's write: one small commit. It reads before it writes, inside one
   * transaction, so a database another process holds locked answers SQLITE_BUSY at once: a
   * reader is never made to wait for the write lock (busy_timeout would stall the event loop).
   */
  probeWrite(): void {
    this.db.transaction(() => {
      this.st.getMeta.get('probed');
      this.st.setMeta.run('probed', String(Date.now()));
    })();
  }

  // ---- helpers used inside transactions ----------------------------------------------------

  private mustRow(ino: bigint): InodeRow {
    const r = this.row(ino);
    if (!r) throw fsError('ESTALE', 'no such inode', String(ino));
    return r;
  }

  private mustDir(ino: bigint): Attributes {
    const a = toAttributes(this.mustRow(ino));
    if (a.type !== 'dir') throw fsError('ENOTDIR', 'not a directory', String(ino));
    return a;
  }

  private addUsage(uid: number, gid: number, bytes: bigint, inodes: bigint): void {
    if (bytes === 0n && inodes === 0n) return;
    this.st.addUsage.run(USAGE_UID, uid, bytes, inodes);
    this.st.addUsage.run(USAGE_GID, gid, bytes, inodes);
  }

  private charge(uid: number, gid: number, addBytes: bigint, addInodes: bigint): void {
    if (addBytes <= 0n && addInodes <= 0n) return;
    this.gate.check({
      uid,
      gid,
      addBytes: addBytes > 0n ? addBytes : 0n,
      addInodes: addInodes > 0n ? addInodes : 0n,
      usage: (kind, id) => this.usage(kind, id),
    });
  }

  private effects(): Effects {
    return { freedBlobs: [], touched: [], names: [], entries: [] };
  }

  /** Drops an inode whose last link is gone; its blobs are queued for deletion. */
  private destroyInode(r: InodeRow, fx: Effects): void {
    const type = typeOfCode(r.type);
    const size = type === 'file' ? r.size : 0n;
    this.addUsage(Number(r.uid), Number(r.gid), -size, -1n);
    const blobs = new Set<bigint>();
    if (type === 'file') {
      // The own blob exists once anything was written (every write bumps the change id); an
      // extent file may own one its extents no longer mention; a detached file may have a
      // blob from a write a crash never accounted. A file created and removed untouched has none.
      if (
        r.layout === 1n ||
        r.size > 0n ||
        r.change > 1n ||
        r.nlink === 0n ||
        r.ino < this.firstRunIno ||
        this.mayHaveBlob(r.ino)
      )
        blobs.add(r.ino);
      if (r.layout === 1n)
        for (const b of this.st.blobsOf.all(r.ino) as Array<{ blob: bigint }>) blobs.add(b.blob);
    }
    this.st.deleteExtentsOf.run(r.ino);
    this.st.deleteXattrsOf.run(r.ino);
    this.st.deleteDetached.run(r.ino);
    this.st.deleteInode.run(r.ino);
    for (const b of blobs) {
      if (this.st.blobStillUsed.get(b, r.ino)) continue;
      this.st.queueGc.run(b);
      fx.freedBlobs.push(b);
    }
    fx.touched.push(r.ino);
  }

  // ---- mutations ---------------------------------------------------------------------------

  createNode(
    cred: Credential,
    dirIno: bigint,
    name: string,
    spec: NodeSpec,
  ): { attrs: Attributes; fx: Effects; existed: boolean } {
    return this.db.transaction(() => {
      const fx = this.effects();
      const dir = this.mustDir(dirIno);
      checkNewName(name);
      const how = spec.how ?? { kind: 'guarded' };
      const existingIno = this.lookupIno(dir, name);
      if (existingIno !== undefined) {
        // Lookup rights first, so a caller without search permission learns nothing.
        requireAccess(cred, dir, X_OK, name);
        const existing = this.mustRow(existingIno);
        const ex = toAttributes(existing);
        if (spec.type === 'file' && how.kind === 'unchecked' && ex.type === 'file') {
          if (spec.initial && Object.keys(spec.initial).length > 0) {
            const r = this.setattrTx(cred, existingIno, spec.initial, fx);
            fx.entries.push(entry('modified', dir.ino, name, r.ino, r.type));
            return { attrs: r, fx, existed: true };
          }
          return { attrs: ex, fx, existed: true };
        }
        if (spec.type === 'file' && how.kind === 'exclusive' && existing.verifier?.equals(how.verifier)) {
          return { attrs: ex, fx, existed: true };
        }
        throw fsError('EEXIST', 'already exists', name);
      }
      requireAccess(cred, dir, W_OK | X_OK, name);
      if (spec.type === 'symlink' && spec.target === undefined)
        throw fsError('EINVAL', 'symlink needs a target');
      if (dir.nlink >= MAX_LINKS && spec.type === 'dir')
        throw fsError('EMLINK', 'too many subdirectories', name);
      const gidFromDir = (dir.mode & S_ISGID) !== 0;
      let uid = cred.uid;
      let gid = gidFromDir ? dir.gid : cred.gid;
      if (cred.uid === 0) {
        uid = spec.initial?.uid ?? uid;
        gid = spec.initial?.gid ?? gid;
      }
      let mode = spec.mode & 0o7777;
      if (spec.type === 'dir' && gidFromDir) mode |= S_ISGID;
      if (spec.type === 'symlink') mode = 0o777;
      this.charge(uid, gid, 0n, 1n);
      const now = this.now();
      const info = this.st.insertInode.run({
        gen: randomInt(1, 2 ** 31),
        type: TYPE_CODES[spec.type],
        mode,
        nlink: spec.type === 'dir' ? 2 : 1,
        uid,
        gid,
        rdev: spec.rdev ?? 0,
        now,
        parent: spec.type === 'dir' ? dir.ino : 0n,
        target: spec.target ?? null,
        verifier: how.kind === 'exclusive' ? how.verifier : null,
      });
      const ino = BigInt(info.lastInsertRowid);
      this.st.insertDirent.run(dir.ino, name, ino, TYPE_CODES[spec.type]);
      this.st.touchDir.run(now, now, spec.type === 'dir' ? 1 : 0, dir.ino);
      this.addUsage(uid, gid, 0n, 1n);
      fx.touched.push(dir.ino, ino);
      fx.names.push([dir.ino, name]);
      fx.entries.push(entry('added', dir.ino, name, ino, spec.type));
      const rest: SetAttributes = { ...(spec.initial ?? {}) };
      delete rest.uid;
      delete rest.gid;
      delete rest.mode;
      if (
        rest.size !== undefined ||
        rest.atimeNs !== undefined ||
        rest.mtimeNs !== undefined ||
        rest.btimeNs !== undefined
      ) {
        return { attrs: this.setattrTx({ uid: 0, gid: 0, gids: [] }, ino, rest, fx), fx, existed: false };
      }
      return { attrs: toAttributes(this.mustRow(ino)), fx, existed: false };
    })();
  }

  link(cred: Credential, ino: bigint, dirIno: bigint, name: string): { attrs: Attributes; fx: Effects } {
    return this.db.transaction(() => {
      const fx = this.effects();
      const node = toAttributes(this.mustRow(ino));
      const dir = this.mustDir(dirIno);
      if (node.type === 'dir') throw fsError('EPERM', 'hard links to directories are not allowed', name);
      checkNewName(name);
      requireAccess(cred, dir, W_OK | X_OK, name);
      if (this.lookupIno(dir, name) !== undefined) throw fsError('EEXIST', 'already exists', name);
      if (node.nlink >= MAX_LINKS) throw fsError('EMLINK', 'too many links', name);
      const now = this.now();
      this.st.insertDirent.run(dir.ino, name, node.ino, TYPE_CODES[node.type]);
      this.st.addNlink.run(1, now, node.ino);
      this.st.touchDir.run(now, now, 0, dir.ino);
      fx.touched.push(dir.ino, node.ino);
      fx.names.push([dir.ino, name]);
      fx.entries.push(entry('added', dir.ino, name, node.ino, node.type));
      return { attrs: toAttributes(this.mustRow(node.ino)), fx };
    })();
  }

  /** Unlinks a non-directory entry (POSIX unlink: a directory gives EISDIR). */
  remove(cred: Credential, dirIno: bigint, name: string): Effects {
    return this.db.transaction(() => {
      const fx = this.effects();
      const dir = this.mustDir(dirIno);
      checkLookupName(name);
      if (name === '.' || name === '..') throw fsError('EISDIR', 'cannot unlink a directory', name);
      const ino = this.lookupIno(dir, name);
      requireAccess(cred, dir, X_OK, name);
      if (ino === undefined) throw fsError('ENOENT', 'no such file', name);
      const node = this.mustRow(ino);
      const a = toAttributes(node);
      if (a.type === 'dir') throw fsError('EISDIR', 'is a directory', name);
      requireAccess(cred, dir, W_OK | X_OK, name);
      requireStickyRight(cred, dir, a, name);
      this.unlinkEntry(dir, name, node, fx);
      return fx;
    })();
  }

  rmdir(cred: Credential, dirIno: bigint, name: string): Effects {
    return this.db.transaction(() => {
      const fx = this.effects();
      const dir = this.mustDir(dirIno);
      if (name === '.') throw fsError('EINVAL', 'cannot remove "."', name);
      if (name === '..') throw fsError('ENOTEMPTY', 'cannot remove ".."', name);
      checkLookupName(name);
      requireAccess(cred, dir, X_OK, name);
      const ino = this.lookupIno(dir, name);
      if (ino === undefined) throw fsError('ENOENT', 'no such directory', name);
      const node = this.mustRow(ino);
      const a = toAttributes(node);
      if (a.type !== 'dir') throw fsError('ENOTDIR', 'not a directory', name);
      if (ino === ROOT_INO) throw fsError('EINVAL', 'cannot remove the root', name);
      requireAccess(cred, dir, W_OK | X_OK, name);
      requireStickyRight(cred, dir, a, name);
      if (this.st.hasChildren.get(ino)) throw fsError('ENOTEMPTY', 'directory not empty', name);
      this.unlinkEntry(dir, name, node, fx);
      return fx;
    })();
  }

  private unlinkEntry(dir: Attributes, name: string, node: InodeRow, fx: Effects): void {
    const now = this.now();
    const isDir = typeOfCode(node.type) === 'dir';
    this.st.deleteDirent.run(dir.ino, name);
    this.st.touchDir.run(now, now, isDir ? -1 : 0, dir.ino);
    fx.touched.push(dir.ino, node.ino);
    fx.names.push([dir.ino, name]);
    fx.entries.push(entry('removed', dir.ino, name, node.ino, typeOfCode(node.type)));
    if (isDir || node.nlink <= 1n) this.destroyInode(node, fx);
    else this.st.addNlink.run(-1, now, node.ino);
  }

  rename(cred: Credential, fromDirIno: bigint, fromName: string, toDirIno: bigint, toName: string): Effects {
    return this.db.transaction(() => {
      const fx = this.effects();
      const fromDir = this.mustDir(fromDirIno);
      const toDir = this.mustDir(toDirIno);
      if (fromName === '.' || fromName === '..')
        throw fsError('EINVAL', `cannot rename "${fromName}"`, fromName);
      checkLookupName(fromName);
      checkNewName(toName);
      requireAccess(cred, fromDir, X_OK, fromName);
      requireAccess(cred, toDir, X_OK, toName);
      const srcIno = this.lookupIno(fromDir, fromName);
      if (srcIno === undefined) throw fsError('ENOENT', 'no such file or directory', fromName);
      const srcRow = this.mustRow(srcIno);
      const src = toAttributes(srcRow);
      requireAccess(cred, fromDir, W_OK | X_OK, fromName);
      requireAccess(cred, toDir, W_OK | X_OK, toName);
      requireStickyRight(cred, fromDir, src, fromName);
      const moving = fromDir.ino !== toDir.ino;
      if (src.type === 'dir' && moving) {
        // Moving a directory rewrites its "..": that needs write permission on it (POSIX).
        requireAccess(cred, src, W_OK, fromName);
        for (let at = toDir.ino; ; ) {
          if (at === src.ino) throw fsError('EINVAL', 'cannot move a directory into its own subtree', toName);
          if (at === ROOT_INO) break;
          const up = this.mustRow(at).parent;
          if (up === at) break;
          at = up;
        }
      }
      const dstIno = this.lookupIno(toDir, toName);
      if (dstIno !== undefined) {
        if (dstIno === srcIno) return fx;
        const dstRow = this.mustRow(dstIno);
        const dst = toAttributes(dstRow);
        requireStickyRight(cred, toDir, dst, toName);
        if (src.type === 'dir') {
          if (dst.type !== 'dir')
            throw fsError('ENOTDIR', 'cannot replace a non-directory with a directory', toName);
          if (this.st.hasChildren.get(dstIno))
            throw fsError('ENOTEMPTY', 'target directory not empty', toName);
        } else if (dst.type === 'dir') {
          throw fsError('EISDIR', 'cannot replace a directory with a non-directory', toName);
        }
        this.unlinkEntry(toDir, toName, dstRow, fx);
      }
      const now = this.now();
      this.st.deleteDirent.run(fromDir.ino, fromName);
      this.st.insertDirent.run(toDir.ino, toName, src.ino, TYPE_CODES[src.type]);
      const dirDelta = src.type === 'dir' && moving ? 1 : 0;
      this.st.touchDir.run(now, now, -dirDelta, fromDir.ino);
      if (moving) this.st.touchDir.run(now, now, dirDelta, toDir.ino);
      if (src.type === 'dir' && moving) this.st.setParent.run(toDir.ino, now, src.ino);
      else this.st.touchCtime.run(now, src.ino);
      fx.touched.push(fromDir.ino, toDir.ino, src.ino);
      fx.names.push([fromDir.ino, fromName], [toDir.ino, toName]);
      fx.entries.push(
        entry('renamed-from', fromDir.ino, fromName, src.ino, src.type),
        entry('renamed-to', toDir.ino, toName, src.ino, src.type),
      );
      return fx;
    })();
  }

  setattr(
    cred: Credential,
    ino: bigint,
    attrs: SetAttributes,
  ): { attrs: Attributes; fx: Effects; truncatedTo?: bigint } {
    return this.db.transaction(() => {
      const fx = this.effects();
      const before = this.mustRow(ino);
      const result = this.setattrTx(cred, ino, attrs, fx);
      const shrunk = attrs.size !== undefined && attrs.size < before.size;
      return shrunk ? { attrs: result, fx, truncatedTo: attrs.size } : { attrs: result, fx };
    })();
  }

  private setattrTx(cred: Credential, ino: bigint, s: SetAttributes, fx: Effects): Attributes {
    const row = this.mustRow(ino);
    const cur = toAttributes(row);
    if (s.guardCtimeNs !== undefined && s.guardCtimeNs !== cur.ctimeNs) {
      throw fsError('ENOTSYNC', 'ctime guard does not match', String(ino));
    }
    let { mode, uid, gid } = cur;
    let size = row.size;
    let { atimeNs, mtimeNs, btimeNs } = cur;
    const owner = isOwnerOrRoot(cred, cur);
    if (s.mode !== undefined && (s.mode & 0o7777) !== cur.mode) {
      if (!owner) throw fsError('EPERM', 'only the owner may change the mode', String(ino));
      mode = s.mode & 0o7777;
      if (cred.uid !== 0 && !inGroup(cred, cur.gid)) mode &= ~S_ISGID;
    }
    if (s.uid !== undefined && s.uid !== cur.uid) {
      if (cred.uid !== 0) throw fsError('EPERM', 'only root may change the owner', String(ino));
      uid = s.uid;
    }
    if (s.gid !== undefined && s.gid !== cur.gid) {
      if (!(cred.uid === 0 || (cred.uid === cur.uid && inGroup(cred, s.gid)))) {
        throw fsError(
          'EPERM',
          'only root, or the owner to one of its groups, may change the group',
          String(ino),
        );
      }
      gid = s.gid;
    }
    if ((uid !== cur.uid || gid !== cur.gid) && cur.type !== 'dir') mode &= ~(S_ISUID | S_ISGID);
    if (s.size !== undefined && s.size !== row.size) {
      if (cur.type === 'dir') throw fsError('EISDIR', 'cannot set the size of a directory', String(ino));
      if (cur.type !== 'file') throw fsError('EINVAL', 'only regular files have a size', String(ino));
      if (s.size < 0n) throw fsError('EINVAL', 'negative size', String(ino));
      if (s.size > MAX_FILE_SIZE) throw fsError('EFBIG', 'size beyond the maximum file size', String(ino));
      if ((effectiveAccess(cred, cur) & W_OK) === 0)
        throw fsError('EACCES', 'no write permission', String(ino));
      size = s.size;
    }
    const now = this.now();
    for (const [key, value] of [
      ['atime', s.atimeNs],
      ['mtime', s.mtimeNs],
    ] as const) {
      if (value === undefined) continue;
      if (value === 'now') {
        if (!owner && (effectiveAccess(cred, cur) & W_OK) === 0)
          throw fsError('EACCES', 'no write permission', String(ino));
      } else if (!owner) {
        throw fsError('EPERM', 'only the owner may set explicit times', String(ino));
      }
      const t = value === 'now' ? now : value;
      if (key === 'atime') atimeNs = t;
      else mtimeNs = t;
    }
    if (s.btimeNs !== undefined) {
      if (!owner) throw fsError('EPERM', 'only the owner may set the creation time', String(ino));
      btimeNs = s.btimeNs;
    }
    if (size !== row.size && s.mtimeNs === undefined) mtimeNs = now;
    const sizeDelta = cur.type === 'file' ? size - row.size : 0n;
    if (uid !== cur.uid || gid !== cur.gid) {
      const bytes = cur.type === 'file' ? size : 0n;
      this.charge(uid, gid, bytes, 1n);
      this.addUsage(cur.uid, cur.gid, -row.size * (cur.type === 'file' ? 1n : 0n), -1n);
      this.addUsage(uid, gid, bytes, 1n);
    } else if (sizeDelta !== 0n) {
      this.charge(uid, gid, sizeDelta, 0n);
      this.addUsage(uid, gid, sizeDelta, 0n);
    }
    if (size < row.size && row.layout === 1n) this.trimExtents(ino, size, fx);
    this.st.updateAttrs.run({
      ino,
      mode,
      uid,
      gid,
      size,
      atime: atimeNs,
      mtime: mtimeNs,
      ctime: now,
      btime: btimeNs,
    });
    fx.touched.push(ino);
    return toAttributes(this.mustRow(ino));
  }

  /** Accounts a write of [offset, end) already on the data store: size, times, ledger. */
  recordWrite(ino: bigint, offset: bigint, end: bigint): { attrs: Attributes; fx: Effects } {
    return this.db.transaction(() => {
      const fx = this.effects();
      const row = this.mustRow(ino);
      const grow = end > row.size ? end - row.size : 0n;
      if (grow > 0n) {
        this.charge(Number(row.uid), Number(row.gid), grow, 0n);
        this.addUsage(Number(row.uid), Number(row.gid), grow, 0n);
      }
      if (row.layout === 1n) this.overlayExtent(ino, offset, end, fx);
      const t = this.now();
      this.st.recordWrite.run(end, t, t, ino);
      fx.touched.push(ino);
      return { attrs: toAttributes(this.mustRow(ino)), fx };
    })();
  }

  /** Checks a write before its data goes to the data store, so a refused write writes nothing. */
  precheckWrite(cred: Credential, ino: bigint, end: bigint): InodeRow {
    const row = this.mustRow(ino);
    const a = toAttributes(row);
    if (a.type === 'dir') throw fsError('EISDIR', 'is a directory', String(ino));
    if (a.type !== 'file') throw fsError('EINVAL', 'not a regular file', String(ino));
    if (end > MAX_FILE_SIZE) throw fsError('EFBIG', 'write past the maximum file size', String(ino));
    requireAccess(cred, a, W_OK, String(ino));
    if (end > row.size) this.charge(a.uid, a.gid, end - row.size, 0n);
    return row;
  }

  /**
   * Voids a content annotation that is current (recorded for the inode's change id), quietly;
   * true when there was one. Bytes about to change must not be covered by it: a crash between
   * the data write and its commit would leave the annotation current over the new bytes.
   */
  voidContentAnnotation(ino: bigint): boolean {
    const at = this.st.getXattr.get(ino, ETAG_CHANGE_XATTR) as { value: Buffer } | undefined;
    const row = this.row(ino);
    if (!at || !row || at.value.toString() !== String(row.change)) return false;
    this.st.deleteXattr.run(ino, ETAG_CHANGE_XATTR);
    return true;
  }

  /** Replaces whatever extents cover [offset, end) with the file's own blob at the same offsets. */
  private overlayExtent(ino: bigint, offset: bigint, end: bigint, fx: Effects): void {
    this.cutExtents(ino, offset, end, fx);
    this.st.insertExtent.run(ino, offset, end - offset, ino, offset);
  }

  private trimExtents(ino: bigint, size: bigint, fx: Effects): void {
    this.cutExtents(ino, size, MAX_FILE_SIZE + 1n, fx);
  }

  /** Removes [from, to) from an inode's extent list, splitting extents that straddle it. */
  private cutExtents(ino: bigint, from: bigint, to: bigint, fx: Effects): void {
    const dropped = new Set<bigint>();
    for (const e of this.extents(ino, from, to)) {
      const eEnd = e.off + e.len;
      this.st.deleteExtent.run(ino, e.off);
      if (e.off < from) this.st.insertExtent.run(ino, e.off, from - e.off, e.blob, e.blobOff);
      if (eEnd > to) this.st.insertExtent.run(ino, to, eEnd - to, e.blob, e.blobOff + (to - e.off));
      if (e.off >= from && eEnd <= to) dropped.add(e.blob);
    }
    for (const b of dropped) {
      if (b === ino || this.st.blobStillUsed.get(b, -1n)) continue;
      this.st.queueGc.run(b);
      fx.freedBlobs.push(b);
    }
  }

  /**
   * `quiet` records annotations that describe the content rather than change it (an S3 ETag
   * cached for the current change id): ctime and the change id stay as they are.
   */
  setXattrs(
    cred: Credential,
    ino: bigint,
    values: Record<string, Buffer | undefined>,
    quiet = false,
  ): Effects {
    return this.db.transaction(() => {
      const fx = this.effects();
      const a = toAttributes(this.mustRow(ino));
      if (!isOwnerOrRoot(cred, a) && (effectiveAccess(cred, a) & W_OK) === 0) {
        throw fsError('EACCES', 'no permission to change attributes', String(ino));
      }
      for (const [name, value] of Object.entries(values)) {
        if (name.length === 0 || name.length > 255) throw fsError('EINVAL', 'bad attribute name', name);
        if (value === undefined) this.st.deleteXattr.run(ino, name);
        else this.st.setXattr.run(ino, name, value);
      }
      if (!quiet) this.st.touchCtime.run(this.now(), ino);
      fx.touched.push(ino);
      return fx;
    })();
  }

  // ---- detached inodes (write aside, then link atomically) ---------------------------------

  createDetached(cred: Credential, mode: number, purpose: string, owner: string | null): Attributes {
    return this.db.transaction(() => {
      this.charge(cred.uid, cred.gid, 0n, 1n);
      const now = this.now();
      const info = this.st.insertInode.run({
        gen: randomInt(1, 2 ** 31),
        type: TYPE_CODES.file,
        mode: mode & 0o7777,
        nlink: 0,
        uid: cred.uid,
        gid: cred.gid,
        rdev: 0,
        now,
        parent: 0n,
        target: null,
        verifier: null,
      });
      const ino = BigInt(info.lastInsertRowid);
      this.st.insertDetached.run(ino, now, purpose, owner);
      this.addUsage(cred.uid, cred.gid, 0n, 1n);
      return toAttributes(this.mustRow(ino));
    })();
  }

  /**
   * Links a detached file into a directory in one transaction, replacing an existing
   * non-directory entry when `replace` is set: readers see the old file or the new, never a mix.
   */
  linkDetached(
    cred: Credential,
    ino: bigint,
    dirIno: bigint,
    name: string,
    replace: boolean,
  ): { attrs: Attributes; fx: Effects } {
    return this.db.transaction(() => {
      const fx = this.effects();
      if (!this.st.getDetached.get(ino)) throw fsError('EINVAL', 'inode is not detached', String(ino));
      const dir = this.mustDir(dirIno);
      checkNewName(name);
      requireAccess(cred, dir, W_OK | X_OK, name);
      const existing = this.lookupIno(dir, name);
      if (existing !== undefined) {
        const row = this.mustRow(existing);
        const a = toAttributes(row);
        if (a.type === 'dir') throw fsError('EISDIR', 'a directory has that name', name);
        if (!replace) throw fsError('EEXIST', 'already exists', name);
        requireStickyRight(cred, dir, a, name);
        this.unlinkEntry(dir, name, row, fx);
      }
      const now = this.now();
      this.st.deleteDetached.run(ino);
      this.st.insertDirent.run(dir.ino, name, ino, TYPE_CODES.file);
      this.st.addNlink.run(1, now, ino);
      this.st.touchDir.run(now, now, 0, dir.ino);
      fx.touched.push(dir.ino, ino);
      fx.names.push([dir.ino, name]);
      // Replacing a file is one change of its entry, not a removal and an addition.
      fx.entries = [entry(existing === undefined ? 'added' : 'modified', dir.ino, name, ino, 'file')];
      return { attrs: toAttributes(this.mustRow(ino)), fx };
    })();
  }

  removeDetached(ino: bigint): Effects {
    return this.db.transaction(() => {
      const fx = this.effects();
      const row = this.row(ino);
      if (row && row.nlink === 0n) this.destroyInode(row, fx);
      else this.st.deleteDetached.run(ino);
      return fx;
    })();
  }

  /**
   * Builds a new detached file whose content is the given detached files one after another,
   * by reference: their data stays where it is (S3 CompleteMultipartUpload needs no copy).
   * The parts are consumed.
   */
  compose(
    cred: Credential,
    parts: bigint[],
    purpose: string,
    owner: string | null,
  ): { attrs: Attributes; fx: Effects } {
    return this.db.transaction(() => {
      const fx = this.effects();
      const target = this.createDetached(cred, 0o644, purpose, owner);
      this.st.setLayout.run(1, target.ino);
      let at = 0n;
      for (const p of parts) {
        if (!this.st.getDetached.get(p)) throw fsError('EINVAL', 'part is not a detached file', String(p));
        const row = this.mustRow(p);
        if (row.layout === 0n) {
          if (row.size > 0n) this.st.insertExtent.run(target.ino, at, row.size, p, 0n);
        } else {
          for (const e of this.allExtents(p)) {
            if (e.off >= row.size) continue;
            const len = e.off + e.len > row.size ? row.size - e.off : e.len;
            this.st.insertExtent.run(target.ino, at + e.off, len, e.blob, e.blobOff);
          }
        }
        at += row.size;
      }
      if (at > MAX_FILE_SIZE) throw fsError('EFBIG', 'composed file too large');
      // Usage moves from the parts to the new file; its charge is already in the parts.
      const t = this.now();
      this.st.recordWrite.run(at, t, t, target.ino);
      this.addUsage(target.uid, target.gid, at, 0n);
      for (const p of parts) this.destroyInode(this.mustRow(p), fx);
      fx.touched.push(target.ino);
      return { attrs: toAttributes(this.mustRow(target.ino)), fx };
    })();
  }
}

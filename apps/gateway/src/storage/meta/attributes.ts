import { CONTENT_CHECKSUM_XATTR, ETAG_CHANGE_XATTR, STREAM_XATTR_PREFIX } from '../annotations.ts';
import { fsError } from '../errors.ts';
import {
  effectiveAccess,
  inGroup,
  isOwnerOrRoot,
  modeAfterWrite,
  requireAccess,
  requireMutable,
  S_ISGID,
  W_OK,
  withoutPrivileges,
} from '../permissions.ts';
import type { Attributes, Credential, SetAttributes } from '../types.ts';
import { attrsOf, cutExtents, mustRow } from './inodes.ts';
import { addUsage, charge, streamBytes } from './ledger.ts';
import { type Effects, MAX_FILE_SIZE, noEffects, type TxContext } from './model.ts';
import { get, type Program, run } from './program.ts';
import { type InodeRow, keepAfter, LAYOUT, toAttributes, typeOfCode } from './rows.ts';

export function* setattr(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  attrs: SetAttributes,
): Program<{ attrs: Attributes; fx: Effects; truncatedTo?: bigint }> {
  const fx = noEffects();
  const before = yield* mustRow(ino);
  const result = yield* setattrTx(ctx, cred, ino, attrs, fx);
  const shrunk = attrs.size !== undefined && attrs.size < before.size;
  return shrunk ? { attrs: result, fx, truncatedTo: attrs.size } : { attrs: result, fx };
}

export function* setattrTx(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  s: SetAttributes,
  fx: Effects,
): Program<Attributes> {
  const row = yield* mustRow(ino);
  const cur = toAttributes(row);
  if (s.guardCtimeNs !== undefined && s.guardCtimeNs !== cur.ctimeNs) {
    throw fsError('ENOTSYNC', 'ctime guard does not match', String(ino));
  }
  let { mode, uid, gid } = cur;
  let size = row.size;
  let { atimeNs, mtimeNs, btimeNs } = cur;
  const owner = isOwnerOrRoot(cred, cur);
  // A symlink's mode is never used: a chmod of one changes nothing (as knfsd and Linux).
  if (s.mode !== undefined && (s.mode & 0o7777) !== cur.mode && cur.type !== 'symlink') {
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
  if ((uid !== cur.uid || gid !== cur.gid) && cur.type !== 'dir') mode = withoutPrivileges(mode);
  if (s.size !== undefined && s.size !== row.size) {
    if (cur.type === 'dir') throw fsError('EISDIR', 'cannot set the size of a directory', String(ino));
    if (cur.type !== 'file') throw fsError('EINVAL', 'only regular files have a size', String(ino));
    if (s.size < 0n) throw fsError('EINVAL', 'negative size', String(ino));
    if (s.size > MAX_FILE_SIZE) throw fsError('EFBIG', 'size beyond the maximum file size', String(ino));
    if ((effectiveAccess(cred, cur) & W_OK) === 0)
      throw fsError('EACCES', 'no write permission', String(ino));
    size = s.size;
    if (s.mode === undefined) mode = modeAfterWrite(cred, mode);
  }
  const now = ctx.now();
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
  const changes =
    mode !== cur.mode ||
    uid !== cur.uid ||
    gid !== cur.gid ||
    size !== row.size ||
    atimeNs !== cur.atimeNs ||
    mtimeNs !== cur.mtimeNs ||
    btimeNs !== cur.btimeNs;
  if (changes) requireMutable(cur, now, String(ino));
  const sizeDelta = cur.type === 'file' ? size - row.size : 0n;
  if (uid !== cur.uid || gid !== cur.gid) {
    // The new owner takes the inode, its data and its named streams.
    const streams = yield* streamBytes(ino);
    const bytes = (cur.type === 'file' ? size : 0n) + streams;
    yield* charge(ctx, uid, gid, bytes, 1n);
    yield* addUsage(cur.uid, cur.gid, -(cur.type === 'file' ? row.size : 0n) - streams, -1n);
    yield* addUsage(uid, gid, bytes, 1n);
  } else if (sizeDelta !== 0n) {
    yield* charge(ctx, uid, gid, sizeDelta, 0n);
    yield* addUsage(uid, gid, sizeDelta, 0n);
  }
  if (size < row.size && row.layout === LAYOUT.extents) {
    yield* cutExtents(ino, size, MAX_FILE_SIZE + 1n, fx);
    // Emptied (a new version written over an S3 multipart object): a file in its own blob
    // again, which writes extend without an extent each. The namespace cuts the blob to 0.
    if (size === 0n) yield* run('setLayout', LAYOUT.ownBlob, ino);
  }
  if (size < row.size && row.layout === LAYOUT.inline) yield* cutInline(ino, size);
  yield* run('updateAttrs', mode, uid, gid, size, atimeNs, mtimeNs, now, btimeNs, ino);
  fx.touched.push(ino);
  return yield* attrsOf(ino);
}

/**
 * Accounts a write of [offset, end) already on the data store: size, times, ledger. An inline
 * file written so has had its bytes moved to its own blob (namespace.ts): the metadata lets go
 * of its copy in the same transaction.
 */
export function* recordWrite(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  offset: bigint,
  end: bigint,
): Program<{ attrs: Attributes; fx: Effects }> {
  const row = yield* mustRow(ino);
  if (row.layout === LAYOUT.inline) {
    yield* run('setLayout', LAYOUT.ownBlob, ino);
    yield* run('deleteInline', ino);
  }
  return yield* accountWrite(ctx, cred, row, offset, end);
}

/**
 * The end of a move out of inline (Namespace moveInlineToBlob): as recordWrite, while the file
 * is still inline and holds exactly the bytes the move copied (`copied`); undefined when another
 * gateway node wrote, cut or moved the file meanwhile — the move then copies again.
 */
export function* recordMove(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  offset: bigint,
  end: bigint,
  copied: Buffer,
): Program<{ attrs: Attributes; fx: Effects } | undefined> {
  const row = yield* lockInline(ino);
  if (!row || !(yield* storedInline(ino)).equals(copied)) return undefined;
  yield* run('setLayout', LAYOUT.ownBlob, ino);
  yield* run('deleteInline', ino);
  return yield* accountWrite(ctx, cred, row, offset, end);
}

/** A write's size, times and ledger; a writer other than root leaves no setuid or setgid bit. */
function* accountWrite(
  ctx: TxContext,
  cred: Credential,
  row: InodeRow,
  offset: bigint,
  end: bigint,
): Program<{ attrs: Attributes; fx: Effects }> {
  const fx = noEffects();
  const ino = row.ino;
  const grow = end > row.size ? end - row.size : 0n;
  if (grow > 0n) {
    yield* charge(ctx, Number(row.uid), Number(row.gid), grow, 0n);
    yield* addUsage(Number(row.uid), Number(row.gid), grow, 0n);
  }
  if (row.layout === LAYOUT.extents) {
    // The file's own blob, at the same offsets, now holds [offset, end).
    yield* cutExtents(ino, offset, end, fx);
    yield* run('insertExtent', ino, offset, end - offset, ino, offset);
  }
  const mode = Number(row.mode);
  const kept = modeAfterWrite(cred, mode);
  if (kept !== mode) yield* run('setMode', kept, ino);
  const t = ctx.now();
  const after = yield* get<InodeRow>('recordWrite', end, t, t, ino);
  if (!after) throw fsError('ESTALE', 'no such inode', String(ino));
  fx.touched.push(ino);
  const attrs = keepAfter(fx, after);
  fx.after!.get(ino)!.unannotated = true;
  return { attrs, fx };
}

/** An inline file's bytes (layout 2); undefined when the file is not inline (any more). */
export function* inlineBytes(ino: bigint): Program<Buffer | undefined> {
  const row = yield* get<InodeRow>('getInode', ino);
  if (!row || row.layout !== LAYOUT.inline) return undefined;
  return yield* storedInline(ino);
}

/** An inline file's stored bytes (none past its size; a shorter file may end in a hole). */
function* storedInline(ino: bigint): Program<Buffer> {
  return (yield* get<{ bytes: Buffer }>('getInline', ino))?.bytes ?? Buffer.alloc(0);
}

/** The inode's row, locked for the transaction, while the file is inline; else undefined. */
function* lockInline(ino: bigint): Program<InodeRow | undefined> {
  const row = yield* get<InodeRow>('lockInode', ino);
  return row?.layout === LAYOUT.inline ? row : undefined;
}

/**
 * A write into an inline file, data and accounting in one transaction; undefined, changing
 * nothing, when the file is no longer inline (the caller then writes to its blob).
 */
export function* writeInline(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  offset: bigint,
  data: Buffer,
): Program<{ attrs: Attributes; fx: Effects } | undefined> {
  const row = yield* lockInline(ino);
  if (!row) return undefined;
  // The checks precheckWrite makes for a blob write; the ledger's is in accountWrite.
  const a = toAttributes(row);
  requireMutable(a, ctx.now(), String(ino));
  requireAccess(cred, a, W_OK, String(ino));
  const end = Number(offset) + data.length;
  // Stored bytes never reach past the size: a write from 0 to the size or beyond replaces them
  // all (a new file's first write), with no need to read them.
  const whole = offset === 0n && BigInt(end) >= row.size;
  const before = whole ? Buffer.alloc(0) : yield* storedInline(ino);
  const bytes = Buffer.alloc(Math.max(before.length, end));
  before.copy(bytes);
  data.copy(bytes, Number(offset));
  yield* run('setInline', ino, bytes);
  return yield* accountWrite(ctx, cred, row, offset, BigInt(end));
}

/** Cuts an inline file's bytes to `size` (a shrinking SETATTR): a later extension reads zeros. */
function* cutInline(ino: bigint, size: bigint): Program<void> {
  const bytes = (yield* get<{ bytes: Buffer }>('getInline', ino))?.bytes;
  if (bytes && bytes.length > size) yield* run('setInline', ino, bytes.subarray(0, Number(size)));
}

/**
 * Checks a write before its data goes to the data store, so a refused write writes nothing:
 * a read (the write's own transaction checks the quota again), which also tells whether the
 * file carries a current content annotation that the write must void first.
 */
export function* precheckWrite(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  end: bigint,
): Program<{ row: InodeRow; annotated: boolean }> {
  const row = yield* get<InodeRow>('getInode', ino);
  if (!row) throw fsError('ESTALE', 'no such inode', String(ino));
  const a = toAttributes(row);
  if (a.type === 'dir') throw fsError('EISDIR', 'is a directory', String(ino));
  if (a.type !== 'file') throw fsError('EINVAL', 'not a regular file', String(ino));
  if (end > MAX_FILE_SIZE) throw fsError('EFBIG', 'write past the maximum file size', String(ino));
  requireMutable(a, ctx.now(), String(ino));
  requireAccess(cred, a, W_OK, String(ino));
  if (end > row.size) yield* charge(ctx, a.uid, a.gid, end - row.size, 0n);
  return { row, annotated: yield* currentAnnotation(ino, row) };
}

/** Whether the inode's content annotation is recorded for its current change id. */
function* currentAnnotation(ino: bigint, row: InodeRow): Program<boolean> {
  const at = yield* get<{ value: Buffer }>('getXattr', ino, ETAG_CHANGE_XATTR);
  return at !== undefined && at.value.toString() === String(row.change);
}

/**
 * Voids a content annotation that is current (recorded for the inode's change id), quietly;
 * true when there was one. Bytes about to change must not be covered by it: a crash between
 * the data write and its commit would leave the annotation current over the new bytes.
 */
export function* voidContentAnnotation(ino: bigint): Program<boolean> {
  const row = yield* get<InodeRow>('getInode', ino);
  if (!row || !(yield* currentAnnotation(ino, row))) return false;
  yield* run('deleteXattr', ino, ETAG_CHANGE_XATTR);
  yield* run('deleteXattr', ino, CONTENT_CHECKSUM_XATTR);
  return true;
}

/** Sets (or, with undefined, deletes) extended attributes; names of 1–255 characters. */
export function* writeXattrs(ino: bigint, values: Record<string, Buffer | undefined>): Program<void> {
  const sets: Array<[string, Buffer]> = [];
  const deletes: string[] = [];
  let setBytes = 0;
  for (const [name, value] of Object.entries(values)) {
    // A named stream's name may itself be 255 characters long, and a chunk's adds `:<index>`.
    const max = name.startsWith(STREAM_XATTR_PREFIX) ? 255 + STREAM_XATTR_PREFIX.length + 12 : 255;
    if (name.length === 0 || name.length > max) throw fsError('EINVAL', 'bad attribute name', name);
    if (value === undefined) deletes.push(name);
    else {
      sets.push([name, value]);
      setBytes += value.length;
    }
  }
  // Several small values (an S3 object's metadata, ETag and checksum) go in one statement; a
  // large one (a stream's chunk) alone, as bytes rather than text twice its size.
  if (sets.length > 1 && setBytes <= BATCHED_XATTR_BYTES) {
    const json = Object.fromEntries(sets.map(([name, value]) => [name, value.toString('hex')]));
    yield* run('setXattrsJson', ino, JSON.stringify(json));
  } else {
    for (const [name, value] of sets) yield* run('setXattr', ino, name, value);
  }
  if (deletes.length > 1) yield* run('deleteXattrsJson', ino, JSON.stringify(deletes));
  else if (deletes.length === 1) yield* run('deleteXattr', ino, deletes[0]!);
}

/** writeXattrs sets values in one statement up to this many bytes in all. */
const BATCHED_XATTR_BYTES = 16 * 1024;

/**
 * `quiet` records annotations that describe the content rather than change it (an S3 ETag
 * cached for the current change id): ctime and the change id stay as they are.
 */
export function* setXattrs(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  values: Record<string, Buffer | undefined>,
  quiet: boolean,
): Program<Effects> {
  const fx = noEffects();
  const a = toAttributes(yield* mustRow(ino));
  if (!isOwnerOrRoot(cred, a) && (effectiveAccess(cred, a) & W_OK) === 0) {
    throw fsError('EACCES', 'no permission to change attributes', String(ino));
  }
  // Named streams count against the owner's quota (streamBytes): growth is charged first.
  let grow = 0n;
  for (const [name, value] of Object.entries(values)) {
    if (!name.startsWith(STREAM_XATTR_PREFIX)) continue;
    const old = yield* get<{ value: Buffer }>('getXattr', ino, name);
    grow += BigInt(value?.length ?? 0) - BigInt(old?.value.length ?? 0);
  }
  if (grow > 0n) yield* charge(ctx, a.uid, a.gid, grow, 0n);
  yield* addUsage(a.uid, a.gid, grow, 0n);
  yield* writeXattrs(ino, values);
  if (!quiet) yield* run('touchCtime', ctx.now(), ino);
  fx.touched.push(ino);
  return fx;
}

/**
 * Makes a file immutable until `untilNs` (0n: mutable again), with the attributes that say why
 * in the same transaction: quiet, as an annotation, since its content does not change. Who may
 * is the caller's decision (S3 Object Lock's rules).
 */
export function* setHold(
  ino: bigint,
  untilNs: bigint,
  xattrs: Record<string, Buffer | undefined>,
): Program<Effects> {
  const fx = noEffects();
  const row = yield* mustRow(ino);
  if (typeOfCode(row.type) !== 'file') throw fsError('EINVAL', 'only regular files can be held', String(ino));
  yield* writeXattrs(ino, xattrs);
  yield* run('setHold', untilNs, ino);
  fx.touched.push(ino);
  return fx;
}

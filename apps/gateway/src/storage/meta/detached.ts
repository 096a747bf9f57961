import { fsError } from '../errors.ts';
import { checkNewName } from '../names.ts';
import { requireAccess, requireStickyRight, S_ISGID, W_OK, X_OK } from '../permissions.ts';
import type { Attributes, Credential, RemoveExpectation } from '../types.ts';
import { writeXattrs } from './attributes.ts';
import { insertInode, unlinkEntry } from './entries.ts';
import { allExtents, attrsOf, destroyInode, mustDirNamed, mustRow } from './inodes.ts';
import { addUsage, charge } from './ledger.ts';
import { type Effects, entry, MAX_FILE_SIZE, noEffects, type TxContext, TYPE_CODES } from './model.ts';
import { get, type Program, run } from './program.ts';
import { type InodeRow, keepAfter, LAYOUT, toAttributes } from './rows.ts';

export function* createDetached(
  ctx: TxContext,
  cred: Credential,
  mode: number,
  purpose: string,
  owner: string | null,
  inline = false,
  /** The file's whole content, kept inline (the caller checked it fits): one transaction. */
  content?: Buffer,
): Program<Attributes> {
  const size = BigInt(content?.length ?? 0);
  yield* charge(ctx, cred.uid, cred.gid, size, 1n);
  const row = yield* insertInode(ctx, {
    type: 'file',
    mode: mode & 0o7777,
    nlink: 0,
    uid: cred.uid,
    gid: cred.gid,
    parent: 0n,
    layout: inline || content ? LAYOUT.inline : LAYOUT.ownBlob,
  });
  yield* run('insertDetached', row.ino, ctx.now(), purpose, owner);
  yield* addUsage(cred.uid, cred.gid, size, 1n);
  if (!content?.length) return toAttributes(row);
  yield* run('setInline', row.ino, content);
  const t = ctx.now();
  return toAttributes((yield* get<InodeRow>('recordWrite', size, t, t, row.ino))!);
}

/**
 * Links a detached file into a directory in one transaction, replacing an existing
 * non-directory entry when `replace` is set: readers see the old file or the new, never a mix.
 * With an expectation, only that file, unchanged since it was examined, is replaced (ESTALE
 * if the name holds another or it changed, ENOENT if the name is free): a conditional write.
 * `xattrs` are set (quietly: they describe the content) in the same transaction.
 */
export function* linkDetached(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  dirIno: bigint,
  name: string,
  replace: boolean | RemoveExpectation,
  xattrs: Record<string, Buffer | undefined> = {},
): Program<{ attrs: Attributes; fx: Effects }> {
  const fx = noEffects();
  checkNewName(name);
  const { dir, named: existing } = yield* mustDirNamed(dirIno, name);
  // Its record goes now (a refusal below rolls the transaction back, record and all).
  if (!(yield* get('takeDetached', ino))) throw fsError('EINVAL', 'inode is not detached', String(ino));
  yield* writeXattrs(ino, xattrs);
  requireAccess(cred, dir, W_OK | X_OK, name);
  if (existing !== undefined) {
    const row = yield* mustRow(existing);
    const a = toAttributes(row);
    if (a.type === 'dir') throw fsError('EISDIR', 'a directory has that name', name);
    if (!replace) throw fsError('EEXIST', 'already exists', name);
    if (replace !== true && (a.ino !== replace.ino || a.changeId !== replace.changeId))
      throw fsError('ESTALE', 'the name no longer holds the file examined, unchanged', name);
    requireStickyRight(cred, dir, a, name);
    yield* unlinkEntry(ctx, dir, name, row, fx);
  } else if (replace !== true && replace !== false) {
    throw fsError('ENOENT', 'the file examined is gone', name);
  }
  yield* adoptDirGroup(ctx, ino, dir);
  const now = ctx.now();
  yield* run('insertDirent', dir.ino, name, ino, TYPE_CODES.file);
  const linked = yield* get<InodeRow>('addNlinkRow', 1, now, ino);
  if (!linked) throw fsError('ESTALE', 'no such inode', String(ino));
  const dirAfter = yield* get<InodeRow>('touchDir', now, now, 0, dir.ino);
  fx.touched.push(dir.ino, ino);
  fx.names.push([dir.ino, name]);
  // Replacing a file is one change of its entry, not a removal and an addition.
  fx.entries = [entry(existing === undefined ? 'added' : 'modified', dir.ino, name, ino, 'file')];
  if (dirAfter) keepAfter(fx, dirAfter);
  return { attrs: keepAfter(fx, linked), fx };
}

/**
 * The group a file linked into `dir` ends with: a setgid directory's own, as a file created
 * there gets it (entries.ts, POSIX), else the one it has. A detached file was made in no
 * directory, so it takes the group only now.
 */
export function groupOnLink(dir: Pick<Attributes, 'mode' | 'gid'>, file: Pick<Attributes, 'gid'>): number {
  return (dir.mode & S_ISGID) !== 0 ? dir.gid : file.gid;
}

/**
 * Gives a file being linked the group groupOnLink says (a change of the inode: its change id
 * moves once more). Its bytes and inode move in the ledger to that group, whose quota must
 * hold them (EDQUOT refuses the link); the owner's own usage does not change.
 */
function* adoptDirGroup(ctx: TxContext, ino: bigint, dir: Attributes): Program<void> {
  const row = yield* mustRow(ino);
  const a = toAttributes(row);
  const gid = groupOnLink(dir, a);
  if (gid === a.gid) return;
  // A detached file has no named streams: its size is all it holds. Credited before the
  // check, so the owner (charged again with the new group) is counted once.
  yield* addUsage(a.uid, a.gid, -row.size, -1n);
  yield* charge(ctx, a.uid, gid, row.size, 1n);
  yield* addUsage(a.uid, gid, row.size, 1n);
  yield* run('updateAttrs', a.mode, a.uid, gid, row.size, a.atimeNs, a.mtimeNs, ctx.now(), a.btimeNs, ino);
}

export function* removeDetached(ctx: TxContext, ino: bigint): Program<Effects> {
  const fx = noEffects();
  const row = yield* get<InodeRow>('lockInode', ino);
  if (row && row.nlink === 0n) yield* destroyInode(ctx, row, fx);
  else yield* run('deleteDetached', ino);
  return fx;
}

/**
 * Builds a new detached file whose content is the given detached files one after another,
 * by reference: their data stays where it is (S3 CompleteMultipartUpload needs no copy).
 * The parts are consumed.
 */
export function* compose(
  ctx: TxContext,
  cred: Credential,
  parts: bigint[],
  purpose: string,
  owner: string | null,
): Program<{ attrs: Attributes; fx: Effects }> {
  const fx = noEffects();
  const target = yield* createDetached(ctx, cred, 0o644, purpose, owner);
  yield* run('setLayout', 1, target.ino);
  let at = 0n;
  for (const p of parts) {
    if (!(yield* get('getDetached', p))) throw fsError('EINVAL', 'part is not a detached file', String(p));
    const row = yield* mustRow(p);
    // Parts are written aside, never created inline: their bytes are in blobs to refer to.
    if (row.layout === LAYOUT.inline) throw new Error(`part ${p} keeps its bytes inline`);
    if (row.layout === LAYOUT.ownBlob) {
      if (row.size > 0n) yield* run('insertExtent', target.ino, at, row.size, p, 0n);
    } else {
      for (const e of yield* allExtents(p)) {
        if (e.off >= row.size) continue;
        const len = e.off + e.len > row.size ? row.size - e.off : e.len;
        yield* run('insertExtent', target.ino, at + e.off, len, e.blob, e.blobOff);
      }
    }
    at += row.size;
  }
  if (at > MAX_FILE_SIZE) throw fsError('EFBIG', 'composed file too large');
  // Usage moves from the parts to the new file; its charge is already in the parts.
  const t = ctx.now();
  yield* run('recordWrite', at, t, t, target.ino);
  yield* addUsage(target.uid, target.gid, at, 0n);
  for (const p of parts) yield* destroyInode(ctx, yield* mustRow(p), fx);
  fx.touched.push(target.ino);
  return { attrs: yield* attrsOf(target.ino), fx };
}

import { randomInt } from 'node:crypto';
import { fsError } from '../errors.ts';
import { checkLookupName, checkNewName } from '../names.ts';
import {
  inGroup,
  requireAccess,
  requireMutable,
  requireStickyRight,
  S_ISGID,
  W_OK,
  X_OK,
} from '../permissions.ts';
import type { Attributes, Credential, RemoveExpectation, SetAttributes } from '../types.ts';
import { setattrTx } from './attributes.ts';
import { attrsOf, destroyInode, lookupIno, mustDir, mustDirNamed, mustRow } from './inodes.ts';
import { addUsage, charge } from './ledger.ts';
import {
  type Effects,
  entry,
  MAX_LINKS,
  type NodeSpec,
  noEffects,
  OPEN_UNLINKED,
  ROOT_INO,
  type TxContext,
  TYPE_CODES,
} from './model.ts';
import { get, type Program, run } from './program.ts';
import { type InodeRow, keepAfter, LAYOUT, toAttributes, typeOfCode } from './rows.ts';

/** A new inode row, as stored. */
export function* insertInode(
  ctx: TxContext,
  r: {
    type: keyof typeof TYPE_CODES;
    mode: number;
    nlink: number;
    uid: number;
    gid: number;
    rdev?: number;
    parent: bigint;
    target?: string;
    verifier?: Buffer;
    /** Where the file's bytes will be (rows.ts LAYOUT); own blob unless said. */
    layout?: bigint;
  },
): Program<InodeRow> {
  const now = ctx.now();
  const row = yield* get<InodeRow>(
    'insertInode',
    randomInt(1, 2 ** 31),
    TYPE_CODES[r.type],
    r.mode,
    r.nlink,
    r.uid,
    r.gid,
    r.rdev ?? 0,
    now,
    now,
    now,
    now,
    r.parent,
    r.target ?? null,
    r.verifier ?? null,
    r.layout ?? LAYOUT.ownBlob,
  );
  if (!row) throw new Error('inode insert returned no row');
  return row;
}

export function* createNode(
  ctx: TxContext,
  cred: Credential,
  dirIno: bigint,
  name: string,
  spec: NodeSpec,
): Program<{ attrs: Attributes; fx: Effects; existed: boolean }> {
  const fx = noEffects();
  checkNewName(name);
  const { dir, named: existingIno } = yield* mustDirNamed(dirIno, name);
  const how = spec.how ?? { kind: 'guarded' };
  if (existingIno !== undefined) {
    // Lookup rights first, so a caller without search permission learns nothing.
    requireAccess(cred, dir, X_OK, name);
    const existing = yield* mustRow(existingIno);
    const ex = toAttributes(existing);
    if (spec.type === 'file' && how.kind === 'unchecked' && ex.type === 'file') {
      if (spec.initial && Object.keys(spec.initial).length > 0) {
        const r = yield* setattrTx(ctx, cred, existingIno, spec.initial, fx);
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
  if (spec.type === 'symlink' && spec.target === undefined) throw fsError('EINVAL', 'symlink needs a target');
  if (dir.nlink >= MAX_LINKS && spec.type === 'dir') throw fsError('EMLINK', 'too many subdirectories', name);
  const gidFromDir = (dir.mode & S_ISGID) !== 0;
  let uid = cred.uid;
  let gid = gidFromDir ? dir.gid : cred.gid;
  const asked = spec.initial;
  if (cred.uid === 0) {
    uid = asked?.uid ?? uid;
    gid = asked?.gid ?? gid;
  } else {
    // Refused before anything changes, as SETATTR refuses the same change of owner or group.
    if (asked?.uid !== undefined && asked.uid !== uid)
      throw fsError('EPERM', 'only root may create a file for another owner', name);
    if (asked?.gid !== undefined && asked.gid !== gid) {
      if (!inGroup(cred, asked.gid))
        throw fsError('EPERM', 'only root, or a member of the group, may create a file in that group', name);
      gid = asked.gid;
    }
  }
  let mode = spec.mode & 0o7777;
  if (spec.type === 'dir' && gidFromDir) mode |= S_ISGID;
  if (spec.type === 'symlink') mode = 0o777;
  yield* charge(ctx, uid, gid, 0n, 1n);
  const created = yield* insertInode(ctx, {
    type: spec.type,
    mode,
    nlink: spec.type === 'dir' ? 2 : 1,
    uid,
    gid,
    rdev: spec.rdev,
    parent: spec.type === 'dir' ? dir.ino : 0n,
    target: spec.target,
    verifier: how.kind === 'exclusive' ? how.verifier : undefined,
    layout: spec.type === 'file' && spec.inline ? LAYOUT.inline : LAYOUT.ownBlob,
  });
  const ino = created.ino;
  const now = ctx.now();
  yield* run('insertDirent', dir.ino, name, ino, TYPE_CODES[spec.type]);
  const dirAfter = yield* get<InodeRow>('touchDir', now, now, spec.type === 'dir' ? 1 : 0, dir.ino);
  yield* addUsage(uid, gid, 0n, 1n);
  fx.touched.push(dir.ino, ino);
  keepAfter(fx, dirAfter!);
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
    return { attrs: yield* setattrTx(ctx, { uid: 0, gid: 0, gids: [] }, ino, rest, fx), fx, existed: false };
  }
  return { attrs: keepAfter(fx, created), fx, existed: false };
}

export function* link(
  ctx: TxContext,
  cred: Credential,
  ino: bigint,
  dirIno: bigint,
  name: string,
): Program<{ attrs: Attributes; fx: Effects }> {
  const fx = noEffects();
  const dir = yield* mustDir(dirIno);
  const node = toAttributes(yield* mustRow(ino));
  if (node.type === 'dir') throw fsError('EPERM', 'hard links to directories are not allowed', name);
  checkNewName(name);
  requireAccess(cred, dir, W_OK | X_OK, name);
  if ((yield* lookupIno(dir, name)) !== undefined) throw fsError('EEXIST', 'already exists', name);
  if (node.nlink >= MAX_LINKS) throw fsError('EMLINK', 'too many links', name);
  const now = ctx.now();
  yield* run('insertDirent', dir.ino, name, node.ino, TYPE_CODES[node.type]);
  yield* run('addNlink', 1, now, node.ino);
  yield* run('touchDir', now, now, 0, dir.ino);
  fx.touched.push(dir.ino, node.ino);
  fx.names.push([dir.ino, name]);
  fx.entries.push(entry('added', dir.ino, name, node.ino, node.type));
  return { attrs: yield* attrsOf(node.ino), fx };
}

/**
 * Unlinks a non-directory entry (POSIX unlink: a directory gives EISDIR). With `expect`, only
 * while the name still holds that inode, unchanged since it was examined (ESTALE otherwise):
 * a sweep that decided from what it read removes nothing written since.
 */
export function* remove(
  ctx: TxContext,
  cred: Credential,
  dirIno: bigint,
  name: string,
  expect?: RemoveExpectation,
): Program<Effects> {
  const fx = noEffects();
  const dir = yield* mustDir(dirIno);
  checkLookupName(name);
  if (name === '.' || name === '..') throw fsError('EISDIR', 'cannot unlink a directory', name);
  const ino = yield* lookupIno(dir, name);
  requireAccess(cred, dir, X_OK, name);
  if (ino === undefined) throw fsError('ENOENT', 'no such file', name);
  const node = yield* mustRow(ino);
  const a = toAttributes(node);
  if (a.type === 'dir') throw fsError('EISDIR', 'is a directory', name);
  if (expect && (a.ino !== expect.ino || a.changeId !== expect.changeId))
    throw fsError('ESTALE', 'changed since it was examined', name);
  requireAccess(cred, dir, W_OK | X_OK, name);
  requireStickyRight(cred, dir, a, name);
  yield* unlinkEntry(ctx, dir, name, node, fx);
  return fx;
}

export function* rmdir(ctx: TxContext, cred: Credential, dirIno: bigint, name: string): Program<Effects> {
  const fx = noEffects();
  const dir = yield* mustDir(dirIno);
  if (name === '.') throw fsError('EINVAL', 'cannot remove "."', name);
  if (name === '..') throw fsError('ENOTEMPTY', 'cannot remove ".."', name);
  checkLookupName(name);
  requireAccess(cred, dir, X_OK, name);
  const ino = yield* lookupIno(dir, name);
  if (ino === undefined) throw fsError('ENOENT', 'no such directory', name);
  const node = yield* mustRow(ino);
  const a = toAttributes(node);
  if (a.type !== 'dir') throw fsError('ENOTDIR', 'not a directory', name);
  if (ino === ROOT_INO) throw fsError('EINVAL', 'cannot remove the root', name);
  requireAccess(cred, dir, W_OK | X_OK, name);
  requireStickyRight(cred, dir, a, name);
  if (yield* get('hasChildren', ino)) throw fsError('ENOTEMPTY', 'directory not empty', name);
  yield* unlinkEntry(ctx, dir, name, node, fx);
  return fx;
}

/** Removes an entry; the inode goes with its last link. */
export function* unlinkEntry(
  ctx: TxContext,
  dir: Attributes,
  name: string,
  node: InodeRow,
  fx: Effects,
): Program<void> {
  const now = ctx.now();
  const isDir = typeOfCode(node.type) === 'dir';
  // An immutable file keeps its last name (a link elsewhere may go: the file stays).
  if (!isDir && node.nlink <= 1n) requireMutable(toAttributes(node), now, name);
  yield* run('deleteDirent', dir.ino, name);
  yield* run('touchDir', now, now, isDir ? -1 : 0, dir.ino);
  fx.touched.push(dir.ino, node.ino);
  fx.names.push([dir.ino, name]);
  fx.entries.push(entry('removed', dir.ino, name, node.ino, typeOfCode(node.type)));
  if (isDir) yield* destroyInode(ctx, node, fx);
  else if (node.nlink > 1n) yield* run('addNlink', -1, now, node.ino);
  else if (
    typeOfCode(node.type) === 'file' &&
    (ctx.heldOpen(node.ino) || (yield* openElsewhere(ctx, node.ino)))
  ) {
    // Held open (SMB): no name, still there for that open; gone at its last close, or at the
    // next start (recovery removes it like an unfinished upload).
    yield* run('addNlink', -1, now, node.ino);
    yield* run('insertDetached', node.ino, now, OPEN_UNLINKED, null);
    fx.unlinkedOpen = [...(fx.unlinkedOpen ?? []), node.ino];
  } else yield* destroyInode(ctx, node, fx);
}

/**
 * Whether another gateway process's SMB clients hold the file open, as the shared table says
 * once their open decisions about it are done (PostgreSQL; false where one process owns the
 * metadata). Read in the transaction, not from the background view of that table, which an
 * open made a moment ago may not have reached yet.
 */
function* openElsewhere(ctx: TxContext, ino: bigint): Program<boolean> {
  if (ctx.openHolder === undefined) return false;
  yield* run('awaitOpenDecisions', ino);
  return (yield* get('openElsewhere', ino, ctx.openHolder)) !== undefined;
}

export function* rename(
  ctx: TxContext,
  cred: Credential,
  fromDirIno: bigint,
  fromName: string,
  toDirIno: bigint,
  toName: string,
): Program<Effects> {
  const fx = noEffects();
  // Directories are locked in inode order, so two renames between the same pair cannot deadlock.
  const [first, second] = fromDirIno <= toDirIno ? [fromDirIno, toDirIno] : [toDirIno, fromDirIno];
  const a = yield* mustDir(first);
  const b = first === second ? a : yield* mustDir(second);
  const fromDir = a.ino === fromDirIno ? a : b;
  const toDir = a.ino === toDirIno ? a : b;
  if (fromName === '.' || fromName === '..') throw fsError('EINVAL', `cannot rename "${fromName}"`, fromName);
  checkLookupName(fromName);
  checkNewName(toName);
  requireAccess(cred, fromDir, X_OK, fromName);
  requireAccess(cred, toDir, X_OK, toName);
  const srcIno = yield* lookupIno(fromDir, fromName);
  if (srcIno === undefined) throw fsError('ENOENT', 'no such file or directory', fromName);
  const srcRow = yield* mustRow(srcIno);
  const src = toAttributes(srcRow);
  requireAccess(cred, fromDir, W_OK | X_OK, fromName);
  requireAccess(cred, toDir, W_OK | X_OK, toName);
  requireStickyRight(cred, fromDir, src, fromName);
  const moving = fromDir.ino !== toDir.ino;
  if (src.type === 'dir' && moving) {
    // Moving a directory rewrites its "..": that needs write permission on it (POSIX).
    requireAccess(cred, src, W_OK, fromName);
    // One directory move at a time, so the ancestor walk sees a tree no one else reshapes.
    yield* run('lockRename');
    for (let at = toDir.ino; ; ) {
      if (at === src.ino) throw fsError('EINVAL', 'cannot move a directory into its own subtree', toName);
      if (at === ROOT_INO) break;
      const up = (yield* get<InodeRow>('getInode', at))?.parent;
      if (up === undefined) throw fsError('ESTALE', 'no such inode', String(at));
      if (up === at) break;
      at = up;
    }
  }
  const dstIno = yield* lookupIno(toDir, toName);
  if (dstIno !== undefined) {
    if (dstIno === srcIno) return fx;
    const dstRow = yield* mustRow(dstIno);
    const dst = toAttributes(dstRow);
    requireStickyRight(cred, toDir, dst, toName);
    if (src.type === 'dir') {
      if (dst.type !== 'dir')
        throw fsError('ENOTDIR', 'cannot replace a non-directory with a directory', toName);
      if (yield* get('hasChildren', dstIno)) throw fsError('ENOTEMPTY', 'target directory not empty', toName);
    } else if (dst.type === 'dir') {
      throw fsError('EISDIR', 'cannot replace a directory with a non-directory', toName);
    }
    yield* unlinkEntry(ctx, toDir, toName, dstRow, fx);
  }
  const now = ctx.now();
  yield* run('deleteDirent', fromDir.ino, fromName);
  yield* run('insertDirent', toDir.ino, toName, src.ino, TYPE_CODES[src.type]);
  const dirDelta = src.type === 'dir' && moving ? 1 : 0;
  yield* run('touchDir', now, now, -dirDelta, fromDir.ino);
  if (moving) yield* run('touchDir', now, now, dirDelta, toDir.ino);
  if (src.type === 'dir' && moving) yield* run('setParent', toDir.ino, now, src.ino);
  else yield* run('touchCtime', now, src.ino);
  fx.touched.push(fromDir.ino, toDir.ino, src.ino);
  fx.names.push([fromDir.ino, fromName], [toDir.ino, toName]);
  fx.entries.push(
    entry('renamed-from', fromDir.ino, fromName, src.ino, src.type),
    entry('renamed-to', toDir.ino, toName, src.ino, src.type),
  );
  return fx;
}

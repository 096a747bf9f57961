import { fsError } from '../errors.ts';
import type { Attributes } from '../types.ts';
import { addUsage, streamBytes } from './ledger.ts';
import { type Effects, type Extent, type ExtentRow, type TxContext, toExtent } from './model.ts';
import { all, get, type Program, run } from './program.ts';
import { type InodeRow, LAYOUT, toAttributes, typeOfCode } from './rows.ts';

/** The inode's row, locked for the rest of the transaction (PostgreSQL); ESTALE if gone. */
export function* mustRow(ino: bigint): Program<InodeRow> {
  const r = yield* get<InodeRow>('lockInode', ino);
  if (!r) throw fsError('ESTALE', 'no such inode', String(ino));
  return r;
}

export function* mustDir(ino: bigint): Program<Attributes> {
  const a = toAttributes(yield* mustRow(ino));
  if (a.type !== 'dir') throw fsError('ENOTDIR', 'not a directory', String(ino));
  return a;
}

/**
 * mustDir, and the inode `name` holds in it (undefined: none), read in one statement. `name`
 * is one a caller is about to create, checked first (checkNewName: not "." or "..", no NUL).
 */
export function* mustDirNamed(ino: bigint, name: string): Program<{ dir: Attributes; named?: bigint }> {
  const r = yield* get<InodeRow & { named: bigint | null }>('lockDirNamed', name, ino);
  if (!r) throw fsError('ESTALE', 'no such inode', String(ino));
  const dir = toAttributes(r);
  if (dir.type !== 'dir') throw fsError('ENOTDIR', 'not a directory', String(ino));
  return { dir, named: r.named ?? undefined };
}

/** Fresh attributes of an inode the transaction changed. */
export function* attrsOf(ino: bigint): Program<Attributes> {
  const r = yield* get<InodeRow>('getInode', ino);
  if (!r) throw fsError('ESTALE', 'no such inode', String(ino));
  return toAttributes(r);
}

/** The inode an entry names, or undefined; "." and ".." resolve through the directory. */
export function* lookupIno(dir: Attributes, name: string): Program<bigint | undefined> {
  if (name === '.') return dir.ino;
  if (name === '..') return dir.parent;
  const r = yield* get<{ ino: bigint }>('lookup', dir.ino, name);
  return r?.ino;
}

export function* extentsIn(ino: bigint, from: bigint, to: bigint): Program<Extent[]> {
  const rows = yield* all<ExtentRow>('extentsIn', ino, ino, from, to);
  return rows.filter((r) => r.off + r.len > from).map(toExtent);
}

export function* allExtents(ino: bigint): Program<Extent[]> {
  return (yield* all<ExtentRow>('allExtents', ino)).map(toExtent);
}

/** Queues a blob no extent names any more (other than `except`'s) for deletion. */
function* freeBlobIfUnused(blob: bigint, except: bigint, fx: Effects): Program<void> {
  if (yield* get('blobStillUsed', blob, except)) return;
  yield* run('queueGc', blob);
  fx.freedBlobs.push(blob);
}

/** Drops an inode whose last link is gone; its blobs are queued for deletion. */
export function* destroyInode(ctx: TxContext, r: InodeRow, fx: Effects): Program<void> {
  const type = typeOfCode(r.type);
  const size = (type === 'file' ? r.size : 0n) + (yield* streamBytes(r.ino));
  yield* addUsage(Number(r.uid), Number(r.gid), -size, -1n);
  const blobs = new Set<bigint>();
  if (type === 'file') {
    // The own blob exists once anything was written (every write bumps the change id); an
    // extent file may own one its extents no longer mention; a detached file may have a
    // blob from a write a crash never accounted. A file created and removed untouched has none;
    // nor has an inline file, unless a move of its bytes to the blob was cut short.
    const written = r.layout !== LAYOUT.inline && (r.size > 0n || r.change > 1n);
    if (
      r.layout === LAYOUT.extents ||
      written ||
      r.nlink === 0n ||
      r.ino < ctx.firstRunIno ||
      ctx.mayHaveBlob(r.ino)
    )
      blobs.add(r.ino);
    if (r.layout === LAYOUT.extents)
      for (const b of yield* all<{ blob: bigint }>('blobsOf', r.ino)) blobs.add(b.blob);
  }
  if (r.layout === LAYOUT.inline) yield* run('deleteInline', r.ino);
  yield* run('deleteExtentsOf', r.ino);
  yield* run('deleteXattrsOf', r.ino);
  yield* run('deleteDetached', r.ino);
  yield* run('deleteInode', r.ino);
  for (const b of blobs) yield* freeBlobIfUnused(b, r.ino, fx);
  fx.touched.push(r.ino);
}

/** Removes [from, to) from an inode's extent list, splitting extents that straddle it. */
export function* cutExtents(ino: bigint, from: bigint, to: bigint, fx: Effects): Program<void> {
  const dropped = new Set<bigint>();
  for (const e of yield* extentsIn(ino, from, to)) {
    const eEnd = e.off + e.len;
    yield* run('deleteExtent', ino, e.off);
    if (e.off < from) yield* run('insertExtent', ino, e.off, from - e.off, e.blob, e.blobOff);
    if (eEnd > to) yield* run('insertExtent', ino, to, eEnd - to, e.blob, e.blobOff + (to - e.off));
    if (e.off >= from && eEnd <= to) dropped.add(e.blob);
  }
  for (const b of dropped) if (b !== ino) yield* freeBlobIfUnused(b, -1n, fx);
}

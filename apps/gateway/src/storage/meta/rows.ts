import type { Attributes, FileType } from '../types.ts';
import { type Effects, TYPE_CODES } from './model.ts';

/** An inode row as both drivers return it: every integer a bigint. */
export interface InodeRow {
  ino: bigint;
  gen: bigint;
  type: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  size: bigint;
  rdev: bigint;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  btime: bigint;
  change: bigint;
  parent: bigint;
  layout: bigint;
  target: string | null;
  verifier: Buffer | null;
  /** Until when (ns) the file is immutable; 0 when it is not (S3 Object Lock). */
  hold: bigint;
}

/** `inodes.layout` (sqlite/schema.ts): where a file's bytes are. */
export const LAYOUT = { ownBlob: 0n, extents: 1n, inline: 2n } as const;

const TYPE_BY_CODE: FileType[] = [];
for (const [name, code] of Object.entries(TYPE_CODES)) TYPE_BY_CODE[code] = name as FileType;

export function typeOfCode(code: bigint | number): FileType {
  const t = TYPE_BY_CODE[Number(code)];
  if (!t) throw new Error(`corrupt metadata: unknown inode type ${code}`);
  return t;
}

const BLOCK = 4096n;

export function toAttributes(r: InodeRow): Attributes {
  const type = typeOfCode(r.type);
  // A symlink's size is its target's length in bytes (POSIX st_size; `ls -l`, readlink buffers).
  const size =
    type === 'dir' ? BLOCK : type === 'symlink' ? BigInt(Buffer.byteLength(r.target ?? '')) : r.size;
  return {
    ino: r.ino,
    generation: Number(r.gen),
    type,
    mode: Number(r.mode),
    nlink: Number(r.nlink),
    uid: Number(r.uid),
    gid: Number(r.gid),
    size,
    // A symlink's target is kept in the metadata: it uses no data blocks (as a fast symlink).
    used: type === 'symlink' ? 0n : ((size + BLOCK - 1n) / BLOCK) * BLOCK,
    rdev: Number(r.rdev),
    atimeNs: r.atime,
    mtimeNs: r.mtime,
    ctimeNs: r.ctime,
    btimeNs: r.btime,
    changeId: r.change,
    parent: r.parent,
    immutableUntilNs: r.hold,
  };
}

/**
 * The attributes of a row a statement returned as the transaction's last word on that inode,
 * kept in `fx` for the namespace's cache. Only for a row nothing later in the transaction
 * changes: the commit hands it over as the inode's current state.
 */
export function keepAfter(fx: Effects, row: InodeRow): Attributes {
  const attrs = toAttributes(row);
  fx.after ??= new Map();
  fx.after.set(row.ino, { attrs, layout: Number(row.layout) });
  return attrs;
}

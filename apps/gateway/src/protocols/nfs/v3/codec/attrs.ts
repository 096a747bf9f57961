import type { Attributes, FileType } from '../../../../storage/types.ts';
import type { XdrWriter } from '../../../xdr/writer.ts';
import { Ftype3 } from '../constants.ts';
import type { Fattr3, PostOpAttr, PreOpAttr, WccData } from '../types.ts';
import { encodeNfsTime } from './common.ts';

export const FTYPE3_OF: Readonly<Record<FileType, Ftype3>> = {
  file: Ftype3.REG,
  dir: Ftype3.DIR,
  blockdev: Ftype3.BLK,
  chardev: Ftype3.CHR,
  symlink: Ftype3.LNK,
  socket: Ftype3.SOCK,
  fifo: Ftype3.FIFO,
};

/** Encoded size of a fattr3. */
export const FATTR3_BYTES = 84;

/**
 * fattr3 encodings by attributes snapshot. The namespace makes a new Attributes object whenever
 * an inode changes (its fields are read-only), so an encoding kept per object and fsid is never
 * stale: a client polling an unchanged file (close-to-open checks, `ls -l` again and again) gets
 * 84 bytes copied instead of four 64-bit fields and three times converted. An object is encoded
 * anew the first time it is seen and kept from the second, so the fresh attributes every
 * mutation replies with cost no copy; the entries go with their objects (a WeakMap).
 */
const encoded = new WeakMap<Attributes, { fsid: bigint; bytes: Buffer | undefined }>();

/** fattr3 (RFC 1813 §2.5). rdev is split the way Linux splits a dev_t. */
export function encodeFattr3(w: XdrWriter, f: Fattr3): void {
  const known = encoded.get(f.attrs);
  if (known?.bytes !== undefined && known.fsid === f.fsid) {
    w.fixedOpaque(known.bytes);
    return;
  }
  writeFattr3(w, f);
  if (known === undefined || known.fsid !== f.fsid) encoded.set(f.attrs, { fsid: f.fsid, bytes: undefined });
  else known.bytes = w.copyOfLast(FATTR3_BYTES);
}

function writeFattr3(w: XdrWriter, f: Fattr3): void {
  const a = f.attrs;
  const major = (a.rdev >>> 8) & 0xfff;
  const minor = (a.rdev & 0xff) | ((a.rdev >>> 12) & 0xfff00);
  w.uint32(FTYPE3_OF[a.type])
    .uint32(a.mode & 0o7777)
    .uint32(a.nlink)
    .uint32(a.uid)
    .uint32(a.gid)
    .uint64(a.size)
    .uint64(a.used)
    .uint32(major)
    .uint32(minor)
    .uint64(f.fsid)
    .uint64(a.ino);
  encodeNfsTime(w, a.atimeNs);
  encodeNfsTime(w, a.mtimeNs);
  encodeNfsTime(w, a.ctimeNs);
}

export function encodePostOpAttr(w: XdrWriter, p: PostOpAttr): void {
  if (!p) {
    w.bool(false);
    return;
  }
  w.bool(true);
  encodeFattr3(w, p);
}

export function encodePreOpAttr(w: XdrWriter, p: PreOpAttr): void {
  if (!p) {
    w.bool(false);
    return;
  }
  w.bool(true).uint64(p.size);
  encodeNfsTime(w, p.mtimeNs);
  encodeNfsTime(w, p.ctimeNs);
}

export function encodeWcc(w: XdrWriter, wcc: WccData): void {
  encodePreOpAttr(w, wcc.before);
  encodePostOpAttr(w, wcc.after);
}

/** post_op_fh3. */
export function encodePostOpFh(w: XdrWriter, fh: Buffer | undefined): void {
  if (!fh) {
    w.bool(false);
    return;
  }
  w.bool(true).opaque(fh);
}

export function preOpOf(a: Attributes): PreOpAttr {
  return { size: a.size, mtimeNs: a.mtimeNs, ctimeNs: a.ctimeNs };
}

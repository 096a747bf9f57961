import type { Attributes } from '../../storage/types.ts';
import { modeString, octalMode } from './mode.ts';
import { isoTime } from './time.ts';

/**
 * Attributes as the JSON outputs of `ls` and `stat` print them: numbers where they fit a
 * double (inode numbers, sizes up to the 16 TiB maximum), times as RFC 3339 UTC with
 * nanoseconds plus the exact nanosecond count as a string.
 */
export function attributesJson(a: Attributes) {
  return {
    ino: Number(a.ino),
    generation: a.generation,
    type: a.type,
    mode: octalMode(a.mode),
    permissions: modeString(a.type, a.mode),
    nlink: a.nlink,
    uid: a.uid,
    gid: a.gid,
    size: Number(a.size),
    blocks: Number(a.used / 512n),
    rdev: a.rdev,
    atime: isoTime(a.atimeNs),
    mtime: isoTime(a.mtimeNs),
    ctime: isoTime(a.ctimeNs),
    btime: isoTime(a.btimeNs),
    atimeNs: a.atimeNs.toString(),
    mtimeNs: a.mtimeNs.toString(),
    ctimeNs: a.ctimeNs.toString(),
    btimeNs: a.btimeNs.toString(),
    /** S3 Object Lock's hold: "0" none, else until when (ns); 2^63-1 a legal hold. */
    immutableUntilNs: a.immutableUntilNs.toString(),
    changeId: a.changeId.toString(),
  };
}

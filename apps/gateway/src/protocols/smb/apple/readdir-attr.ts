import type { Namespace } from '../../../storage/namespace.ts';
import type { Attributes, FileType } from '../../../storage/types.ts';
import { sameStreamName } from '../streams.ts';
import {
  AFP_DATE_NEVER,
  AFP_INFO,
  AFP_INFO_SIZE,
  AFP_RESOURCE,
  finderInfo,
  storedAfpInfo,
} from './afp-streams.ts';

/**
 * READ_DIR_ATTR: once a client's AAPL query turned it on, each FileIdBothDirectoryInformation
 * entry carries what Finder would otherwise open every file for, in fields macOS does not
 * use otherwise (Samba's smbd_marshall_dir_entry with vfs_fruit's readdir_attr):
 *
 * - EaSize: the caller's maximal access to the entry;
 * - ShortNameLength 24, and in the short name's 24 bytes the resource fork's size (u64) and
 *   16 bytes of compressed Finder info: type and creator (files only), Finder flags, extended
 *   flags, and the date added (seconds since 2000, big-endian; AFP's "never" with no AfpInfo);
 * - Reserved2: the Unix mode with its file type bits.
 */
export interface AppleDirAttrs {
  maxAccess: number;
  /** The short name field's 24 bytes. */
  shortName: Buffer;
  mode: number;
}

export const TYPE_BITS: Record<FileType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  fifo: 0o010000,
  socket: 0o140000,
  chardev: 0o020000,
  blockdev: 0o060000,
};
/** Seconds from the Unix epoch to 2000-01-01, AFP's epoch. */
const AFP_EPOCH = 946_684_800n;

export async function appleDirAttrs(ns: Namespace, a: Attributes, maxAccess: number): Promise<AppleDirAttrs> {
  const streams = await ns.listStreams(a.ino);
  const rfork = streams.find((s) => sameStreamName(s.name, AFP_RESOURCE));
  const hasInfo = streams.some((s) => sameStreamName(s.name, AFP_INFO) && s.size === AFP_INFO_SIZE);
  const shortName = Buffer.alloc(24);
  shortName.writeBigUInt64LE(BigInt(rfork?.size ?? 0), 0);
  const compressed = shortName.subarray(8);
  compressed.writeUInt32BE(AFP_DATE_NEVER, 12);
  // The listing says whether a valid AfpInfo is there, so files without one cost no read.
  const info = hasInfo ? await storedAfpInfo(ns, a.ino) : undefined;
  if (info) {
    const finder = finderInfo(info);
    if (a.type === 'file') finder.copy(compressed, 0, 0, 8);
    finder.copy(compressed, 8, 8, 10);
    finder.copy(compressed, 10, 24, 26);
    const added = a.btimeNs / 1_000_000_000n - AFP_EPOCH;
    compressed.writeUInt32BE(Number(BigInt.asUintN(32, added)), 12);
  }
  return { maxAccess, shortName, mode: (TYPE_BITS[a.type] | a.mode) & 0xffff };
}

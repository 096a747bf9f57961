import type { AppleDirAttrs } from '../apple/readdir-attr.ts';
import { shortName } from '../short-names.ts';
import type { Writer } from '../wire/writer.ts';

/** FileInformationClass values QUERY_DIRECTORY answers (MS-FSCC §2.4). */
export const DIR_CLASS = {
  DIRECTORY: 1,
  FULL_DIRECTORY: 2,
  BOTH_DIRECTORY: 3,
  NAMES: 12,
  ID_BOTH_DIRECTORY: 37,
  ID_FULL_DIRECTORY: 38,
} as const;

export const DIR_CLASSES: ReadonlySet<number> = new Set(Object.values(DIR_CLASS));

/** What one listing entry says about a file. */
export interface DirEntryInfo {
  name: string;
  fileId: bigint;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  endOfFile: bigint;
  allocationSize: bigint;
  attributes: number;
  eaSize: number;
  /** Apple's READ_DIR_ATTR fields, FileIdBothDirectoryInformation only (apple/readdir-attr.ts). */
  apple?: AppleDirAttrs;
}

/** Bytes of one entry of `cls` for a name of `nameBytes` (before 8-byte alignment). */
export function entrySize(cls: number, nameBytes: number): number {
  switch (cls) {
    case DIR_CLASS.DIRECTORY:
      return 64 + nameBytes;
    case DIR_CLASS.FULL_DIRECTORY:
      return 68 + nameBytes;
    case DIR_CLASS.BOTH_DIRECTORY:
      return 94 + nameBytes;
    case DIR_CLASS.NAMES:
      return 12 + nameBytes;
    case DIR_CLASS.ID_BOTH_DIRECTORY:
      return 104 + nameBytes;
    case DIR_CLASS.ID_FULL_DIRECTORY:
      return 80 + nameBytes;
    default:
      throw new RangeError(`class ${cls}`);
  }
}

/** Writes one entry with NextEntryOffset 0 (the caller links entries). */
export function writeEntry(w: Writer, cls: number, e: DirEntryInfo): void {
  const name = Buffer.from(e.name, 'utf16le');
  w.u32(0).u32(0);
  if (cls === DIR_CLASS.NAMES) {
    w.u32(name.length).bytes(name);
    return;
  }
  w.u64(e.creationTime).u64(e.lastAccessTime).u64(e.lastWriteTime).u64(e.changeTime);
  w.u64(e.endOfFile).u64(e.allocationSize).u32(e.attributes).u32(name.length);
  if (cls === DIR_CLASS.DIRECTORY) {
    w.bytes(name);
    return;
  }
  w.u32(e.apple && cls === DIR_CLASS.ID_BOTH_DIRECTORY ? e.apple.maxAccess : e.eaSize);
  if (cls === DIR_CLASS.FULL_DIRECTORY) {
    w.bytes(name);
    return;
  }
  if (cls === DIR_CLASS.ID_FULL_DIRECTORY) {
    w.u32(0).u64(e.fileId).bytes(name);
    return;
  }
  if (e.apple && cls === DIR_CLASS.ID_BOTH_DIRECTORY) {
    w.u8(24).u8(0).bytes(e.apple.shortName).u16(e.apple.mode).u64(e.fileId).bytes(name);
    return;
  }
  const short = Buffer.from(shortName(e.name), 'utf16le').subarray(0, 24);
  w.u8(short.length)
    .u8(0)
    .bytes(short)
    .zeros(24 - short.length);
  if (cls === DIR_CLASS.ID_BOTH_DIRECTORY) w.u16(0).u64(e.fileId);
  w.bytes(name);
}

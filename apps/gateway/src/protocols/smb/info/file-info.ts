import type { Attributes } from '../../../storage/types.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { fileTimes, type SmbMeta } from '../file-meta.ts';
import { shortName } from '../short-names.ts';
import { Writer } from '../wire/writer.ts';
import { encodeEaList } from './ea.ts';

/** FileInformationClass values for QUERY_INFO and SET_INFO (MS-FSCC §2.4). */
export const FILE_CLASS = {
  BASIC: 4,
  STANDARD: 5,
  INTERNAL: 6,
  EA: 7,
  ACCESS: 8,
  NAME: 9,
  RENAME: 10,
  LINK: 11,
  DISPOSITION: 13,
  POSITION: 14,
  FULL_EA: 15,
  MODE: 16,
  ALIGNMENT: 17,
  ALL: 18,
  ALLOCATION: 19,
  END_OF_FILE: 20,
  ALTERNATE_NAME: 21,
  STREAM: 22,
  COMPRESSION: 28,
  NETWORK_OPEN: 34,
  ATTRIBUTE_TAG: 35,
  NORMALIZED_NAME: 48,
  ID: 59,
  DISPOSITION_EX: 64,
} as const;

/** What QUERY_INFO knows of an open file. */
export interface FileView {
  attrs: Attributes;
  meta: SmbMeta;
  /** 3.1.1: FileNormalizedNameInformation is offered from this dialect on. */
  normalizedNames: boolean;
  /** Share-relative path with a leading backslash ("\\dir\\file"). */
  path: string;
  deletePending: boolean;
  position: bigint;
  access: number;
  /** FileModeInformation of the open. */
  mode: number;
  volumeSerial: number;
  /** FileStreamInformation's entries ("::$DATA" and ":name:$DATA"), for that class only. */
  streams?: ReadonlyArray<{ name: string; size: bigint; allocation: bigint }>;
}

/**
 * The least buffer each class takes (Windows' sizes, as smbtorture's qfile_buffercheck has
 * them): below it STATUS_INFO_LENGTH_MISMATCH; classes with a name or list answer a buffer
 * above it and short of the whole with a prefix and STATUS_BUFFER_OVERFLOW.
 */
export const FILE_MIN_SIZE: Readonly<Record<number, number>> = {
  [FILE_CLASS.BASIC]: 40,
  [FILE_CLASS.STANDARD]: 24,
  [FILE_CLASS.INTERNAL]: 8,
  [FILE_CLASS.EA]: 4,
  [FILE_CLASS.ACCESS]: 4,
  [FILE_CLASS.NAME]: 8,
  [FILE_CLASS.POSITION]: 8,
  [FILE_CLASS.FULL_EA]: 8,
  [FILE_CLASS.MODE]: 4,
  [FILE_CLASS.ALIGNMENT]: 4,
  [FILE_CLASS.ALL]: 104,
  [FILE_CLASS.ALTERNATE_NAME]: 8,
  [FILE_CLASS.STREAM]: 32,
  [FILE_CLASS.COMPRESSION]: 16,
  [FILE_CLASS.NETWORK_OPEN]: 56,
  [FILE_CLASS.ATTRIBUTE_TAG]: 8,
  [FILE_CLASS.NORMALIZED_NAME]: 8,
  [FILE_CLASS.ID]: 24,
};

function basic(w: Writer, v: FileView): void {
  const t = fileTimes(v.attrs, v.meta);
  w.u64(t.creationTime).u64(t.lastAccessTime).u64(t.lastWriteTime).u64(t.changeTime);
  w.u32(v.meta.attributes).u32(0);
}

function standard(w: Writer, v: FileView): void {
  const dir = v.attrs.type === 'dir';
  // A file whose delete is pending counts one link less (it is on its way out of its directory).
  const links = (dir ? 1 : v.attrs.nlink) - (v.deletePending ? 1 : 0);
  w.u64(v.meta.allocation)
    .u64(dir ? 0n : v.attrs.size)
    .u32(Math.max(0, links));
  w.u8(v.deletePending ? 1 : 0)
    .u8(dir ? 1 : 0)
    .u16(0);
}

function name(w: Writer, v: FileView): void {
  const n = Buffer.from(v.path, 'utf16le');
  w.u32(n.length).bytes(n);
}

/** The encoding of one file information class (MS-FSCC §2.4.*). */
export function encodeFileInfo(cls: number, v: FileView): Buffer {
  const w = new Writer(128);
  const a = v.attrs;
  switch (cls) {
    case FILE_CLASS.BASIC:
      basic(w, v);
      break;
    case FILE_CLASS.STANDARD:
      standard(w, v);
      break;
    case FILE_CLASS.INTERNAL:
      w.u64(a.ino);
      break;
    case FILE_CLASS.EA:
      w.u32(v.meta.eaSize);
      break;
    case FILE_CLASS.FULL_EA:
      if (v.meta.eas.length === 0)
        throw new SmbError(NT_STATUS.STATUS_NO_EAS_ON_FILE, 'no extended attributes');
      w.bytes(encodeEaList(v.meta.eas));
      break;
    case FILE_CLASS.ACCESS:
      w.u32(v.access);
      break;
    case FILE_CLASS.NAME:
      name(w, v);
      break;
    case FILE_CLASS.NORMALIZED_NAME: {
      if (!v.normalizedNames)
        throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, 'normalized names need 3.1.1');
      const n = Buffer.from(v.path.replace(/^\\/, ''), 'utf16le');
      w.u32(n.length).bytes(n);
      break;
    }
    case FILE_CLASS.POSITION:
      w.u64(v.position);
      break;
    case FILE_CLASS.MODE:
      w.u32(v.mode);
      break;
    case FILE_CLASS.ALIGNMENT:
      w.u32(0);
      break;
    case FILE_CLASS.ALL:
      basic(w, v);
      standard(w, v);
      w.u64(a.ino).u32(v.meta.eaSize).u32(v.access).u64(v.position).u32(v.mode).u32(0);
      name(w, v);
      break;
    case FILE_CLASS.ALTERNATE_NAME: {
      const short = Buffer.from(shortName(v.path.slice(v.path.lastIndexOf('\\') + 1)), 'utf16le');
      w.u32(short.length).bytes(short);
      break;
    }
    case FILE_CLASS.STREAM: {
      // FILE_STREAM_INFORMATION entries, each 8-byte aligned (MS-FSCC §2.4.44).
      const list = v.streams ?? [];
      list.forEach((e, i) => {
        const start = w.length;
        const n = Buffer.from(e.name, 'utf16le');
        const size = 24 + n.length;
        const next = i === list.length - 1 ? 0 : (size + 7) & ~7;
        w.u32(next).u32(n.length).u64(e.size).u64(e.allocation).bytes(n);
        if (next) w.zeros(next - (w.length - start));
      });
      break;
    }
    case FILE_CLASS.COMPRESSION:
      w.u64(a.type === 'dir' ? 0n : a.size)
        .u16(0)
        .u8(0)
        .u8(0)
        .u8(0)
        .zeros(3);
      break;
    case FILE_CLASS.NETWORK_OPEN: {
      const t = fileTimes(a, v.meta);
      w.u64(t.creationTime).u64(t.lastAccessTime).u64(t.lastWriteTime).u64(t.changeTime);
      w.u64(v.meta.allocation)
        .u64(a.type === 'dir' ? 0n : a.size)
        .u32(v.meta.attributes)
        .u32(0);
      break;
    }
    case FILE_CLASS.ATTRIBUTE_TAG:
      w.u32(v.meta.attributes).u32(0);
      break;
    case FILE_CLASS.ID:
      w.u64(BigInt(v.volumeSerial)).u64(a.ino).u64(0n);
      break;
    default:
      throw new SmbError(NT_STATUS.STATUS_INVALID_INFO_CLASS, `file information class ${cls}`);
  }
  return w.finish();
}

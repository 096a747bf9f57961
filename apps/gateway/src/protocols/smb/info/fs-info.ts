import type { FsStats } from '../../../storage/types.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { Writer } from '../wire/writer.ts';
import { NO_LIMIT } from './quota-info.ts';

/** FsInformationClass values (MS-FSCC §2.5). */
export const FS_CLASS = {
  VOLUME: 1,
  SIZE: 3,
  DEVICE: 4,
  ATTRIBUTE: 5,
  CONTROL: 6,
  FULL_SIZE: 7,
  OBJECT_ID: 8,
  SECTOR_SIZE: 11,
} as const;

/**
 * The least buffer each class takes (Windows' sizes, as smbtorture's qfs_buffercheck has them):
 * below it STATUS_INFO_LENGTH_MISMATCH, above it and short of the whole a prefix with
 * STATUS_BUFFER_OVERFLOW.
 */
export const FS_MIN_SIZE: Readonly<Record<number, number>> = {
  [FS_CLASS.VOLUME]: 24,
  [FS_CLASS.SIZE]: 24,
  [FS_CLASS.DEVICE]: 8,
  [FS_CLASS.ATTRIBUTE]: 16,
  [FS_CLASS.CONTROL]: 48,
  [FS_CLASS.FULL_SIZE]: 32,
  [FS_CLASS.OBJECT_ID]: 64,
  [FS_CLASS.SECTOR_SIZE]: 28,
};

const SECTOR = 512;
const CLUSTER = 4096;
const FILE_DEVICE_DISK = 0x07;
const FILE_DEVICE_IS_MOUNTED = 0x20;
/**
 * Case-sensitive search, case-preserved names, Unicode on disk, user quotas, named streams
 * (FILE_NAMED_STREAMS: Windows keeps Zone.Identifier and macOS its Finder info in them), extended
 * attributes.
 */
const FS_ATTRIBUTES = 0x0084_0027;
/**
 * FileFsControlInformation's flags: quotas enforced (FILE_VC_QUOTA_ENFORCE), and crossing a soft
 * limit (the threshold) or a hard one logged (FILE_VC_LOG_QUOTA_THRESHOLD, _LIMIT) — the
 * gateway's quota log lines.
 */
const QUOTA_CONTROL_FLAGS = 0x02 | 0x10 | 0x20;

export interface VolumeView {
  stats: FsStats;
  label: string;
  serial: number;
  createdFiletime: bigint;
}

/** One filesystem information class; sizes in 4 KiB clusters of 512-byte sectors. */
export function encodeFsInfo(cls: number, v: VolumeView): Buffer {
  const w = new Writer(64);
  const total = v.stats.totalBytes / BigInt(CLUSTER);
  const avail = v.stats.availBytes / BigInt(CLUSTER);
  const free = v.stats.freeBytes / BigInt(CLUSTER);
  switch (cls) {
    case FS_CLASS.VOLUME: {
      const label = Buffer.from(v.label, 'utf16le');
      w.u64(v.createdFiletime).u32(v.serial).u32(label.length).u8(0).u8(0).bytes(label);
      break;
    }
    case FS_CLASS.SIZE:
      w.u64(total)
        .u64(avail)
        .u32(CLUSTER / SECTOR)
        .u32(SECTOR);
      break;
    case FS_CLASS.DEVICE:
      w.u32(FILE_DEVICE_DISK).u32(FILE_DEVICE_IS_MOUNTED);
      break;
    case FS_CLASS.ATTRIBUTE: {
      const name = Buffer.from('NTFS', 'utf16le');
      w.u32(FS_ATTRIBUTES).u32(255).u32(name.length).bytes(name);
      break;
    }
    case FS_CLASS.CONTROL:
      // No content-indexing thresholds; no default threshold or limit (a user without a quota has none).
      w.u64(0n).u64(0n).u64(0n).u64(NO_LIMIT).u64(NO_LIMIT).u32(QUOTA_CONTROL_FLAGS).u32(0);
      break;
    case FS_CLASS.OBJECT_ID:
      w.zeros(64);
      break;
    case FS_CLASS.FULL_SIZE:
      w.u64(total)
        .u64(avail)
        .u64(free)
        .u32(CLUSTER / SECTOR)
        .u32(SECTOR);
      break;
    case FS_CLASS.SECTOR_SIZE:
      w.u32(SECTOR).u32(SECTOR).u32(SECTOR).u32(SECTOR).u32(0x3).u32(0).u32(0);
      break;
    default:
      throw new SmbError(NT_STATUS.STATUS_INVALID_INFO_CLASS, `filesystem information class ${cls}`);
  }
  return w.finish();
}

import type { FsStats, QuotaUsage } from './types.ts';

/** A subject's limits as free space is reported against them; null: that dimension is unlimited. */
export interface SpaceLimits {
  readonly bytes: bigint | null;
  readonly inodes: bigint | null;
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/**
 * The capacity as one subject's quota leaves it, as Samba's dfree and XFS's statfs of a project
 * report it: the limit caps the size (or the usage does, once past the limit, so the volume
 * reads full rather than negative), and what is left under the limit caps the free space.
 */
export function withinLimits(s: FsStats, limits: SpaceLimits, usage: QuotaUsage): FsStats {
  let { totalBytes, freeBytes, availBytes, totalFiles, freeFiles } = s;
  if (limits.bytes !== null) {
    const room = max(limits.bytes - usage.bytes, 0n);
    totalBytes = min(totalBytes, max(limits.bytes, usage.bytes));
    freeBytes = min(freeBytes, room);
    availBytes = min(availBytes, room);
  }
  if (limits.inodes !== null) {
    totalFiles = min(totalFiles, max(limits.inodes, usage.inodes));
    freeFiles = min(freeFiles, max(limits.inodes - usage.inodes, 0n));
  }
  return { totalBytes, freeBytes, availBytes, totalFiles, freeFiles };
}

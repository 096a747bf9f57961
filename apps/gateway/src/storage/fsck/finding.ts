import type { FsckProblem } from './report.ts';

/** A repair as data: checks propose it, repair.ts applies it (metadata in one transaction). */
export type Fix =
  | { op: 'delete-entry'; cookie: bigint; parent: bigint }
  | { op: 'set-entry-type'; cookie: bigint; type: bigint }
  | { op: 'adopt'; ino: bigint }
  | { op: 'recount-links'; ino: bigint }
  | { op: 'set-parent'; ino: bigint; parent: bigint }
  | { op: 'drop-detached'; ino: bigint }
  | { op: 'delete-stray'; table: 'extents' | 'xattrs' | 'detached'; ino: bigint }
  | { op: 'dequeue-gc'; blob: bigint }
  | { op: 'rewrite-ledger' }
  | { op: 'delete-blob'; blob: bigint };

export interface Finding {
  problem: FsckProblem;
  /** Absent when no repair is safe (lost data, a checksum that does not match). */
  fix?: Fix;
}

export const NO_REPAIR_DATA_LOST = 'none: the data is gone; restore the file from a copy or remove it';

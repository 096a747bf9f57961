/** Every kind of problem fsck reports; the JSON report and the human report use these names. */
export type ProblemKind =
  | 'dangling-entry'
  | 'entry-type-mismatch'
  | 'orphan-inode'
  | 'wrong-link-count'
  | 'wrong-parent'
  | 'directory-extra-entry'
  | 'detached-but-linked'
  | 'stray-rows'
  | 'bad-inode-type'
  | 'extent-blob-missing'
  | 'blob-missing'
  | 'extent-past-blob-end'
  | 'overlapping-extents'
  | 'orphan-blob'
  | 'queued-blob-in-use'
  | 'ledger-drift'
  | 'checksum-mismatch';

export interface FsckProblem {
  kind: ProblemKind;
  ino?: number;
  /** The namespace path, when the inode is reachable from the root. */
  path?: string;
  detail: string;
  /** What --repair does about it; starts with "none" when no repair is safe. */
  repair: string;
}

/** Conditions that are correct by design, counted so an operator can see them. */
export interface FsckInfo {
  /**
   * Own-blob files with size > 0 and no blob in an object store, which makes a blob at the first
   * write only: holes read as zeros (sparse, truncate-extended). In a local data folder, whose
   * files get their blob when created, such a file is a `blob-missing` problem instead.
   */
  sparseFiles: number;
  /** Own blobs longer than their file: an unacknowledged write's tail after a crash, never read. */
  blobTails: number;
  /** Small files whose bytes are kept in the metadata database (`transport.inline_max`). */
  inlineFiles: number;
  /** Blob files queued in blob_gc, deleted by the gateway at its next start. */
  queuedBlobs: number;
  /** Files whose stored S3 MD5 was recomputed and matched. */
  checksumsVerified: number;
}

export interface FsckReport {
  clean: boolean;
  /** The namespace path the check was limited to; absent for a whole-namespace check. */
  scope?: string;
  checked: { inodes: number; entries: number; blobs: number };
  problems: FsckProblem[];
  /** The problems --repair fixed (a subset of `problems`). */
  repaired: FsckProblem[];
  info: FsckInfo;
}

export interface FsckProgress {
  phase: string;
  done: number;
  total: number;
}

/** fsck could not run: bad database, missing data directory, unknown path, a live gateway. */
export class FsckError extends Error {
  override readonly name = 'FsckError';
}

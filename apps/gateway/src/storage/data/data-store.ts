/**
 * Where file bytes live. A blob is named by a 64-bit id (the inode number that created it;
 * inode numbers are never reused) and is addressed by byte offsets. Backends: a local
 * directory (local-blobs.ts), an S3-compatible object store when scaled out (s3-blobs.ts).
 */
export interface DataStore {
  readonly kind: 'file' | 's3';
  /** Up to `length` bytes at `offset`; shorter (or empty) where the blob ends or does not exist. */
  read(blob: bigint, offset: number, length: number): Promise<Buffer>;
  /** Like read, into `target` (up to its length); resolves to the number of bytes read. */
  readInto(blob: bigint, offset: number, target: Buffer): Promise<number>;
  /**
   * Like read, for a caller that never changes the bytes: they may be the store's own copy
   * (one it never changes in place either), so no copy is made. Stores without one: read.
   */
  readShared?(blob: bigint, offset: number, length: number): Promise<Buffer>;
  write(blob: bigint, offset: number, data: Buffer): Promise<void>;
  /** Makes the blob's data, and its existence, durable. */
  sync(blob: bigint): Promise<void>;
  truncate(blob: bigint, size: number): Promise<void>;
  /**
   * Readies the blob for writes (creating it when missing) and cuts any bytes past
   * `committedSize` that a crash between a data write and its metadata commit left behind.
   */
  prepareWrite(blob: bigint, committedSize: number): Promise<void>;
  /** Bytes physically held for the blob, undefined when it does not exist. */
  physicalSize(blob: bigint): Promise<number | undefined>;
  remove(blobs: readonly bigint[]): Promise<void>;
  /** A real round trip through the store (write, read back, delete) for health checks. */
  probe(): Promise<void>;
  listBlobs(): AsyncIterable<bigint>;
  capacity(): Promise<{ totalBytes: bigint; freeBytes: bigint; availBytes: bigint }>;
  close(): Promise<void>;
  /**
   * Drops what the store caches of a blob (another gateway node changed it, or an operator's
   * cache invalidation); of all, without one. Returns how many blobs had bytes held in memory.
   */
  invalidate?(blob?: bigint): number;
  /** The blobs `invalidate` would drop something of: the operator's per-owner invalidation picks among them. */
  heldBlobs?(): bigint[];
  /** Files up to 1 MiB held in memory (the local store): bytes held, reads from memory and from disk. */
  readonly smallFiles?: SmallFileCacheStats;
  /** Bytes written and read past the page cache (the local store, where O_DIRECT works). */
  readonly directIo?: { written: number; read: number };
}

export interface SmallFileCacheStats {
  bytes: number;
  /** Reads of a small file answered from its copy in memory. */
  hits: number;
  /** Reads of a small file that read it from the disk (and kept it). */
  misses: number;
}

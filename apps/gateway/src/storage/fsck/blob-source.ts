import type { DataStore } from '../data/data-store.ts';
import { BlobReader, blobPath, blobSize, listBlobFiles } from './blob-files.ts';

/**
 * Where fsck finds file data: the embedded blob folder (read directly, so a check writes
 * nothing there) or a data store such as an object store (through its DataStore calls).
 */
export interface BlobSource {
  /** How a finding names the blob ("blob file /data/4a/…", "blob 00…4a in s3://…"). */
  describe(blob: bigint): string;
  /** Every blob present, in no particular order. */
  list(progress: (done: number, total: number) => Promise<void>): Promise<bigint[]>;
  /**
   * Whether every own-blob file has its blob from its creation on (the local store makes it
   * with the file; an object store at the first write): only then does a missing blob mean
   * lost bytes rather than a file that was sized and never written.
   */
  readonly blobMadeWithFile: boolean;
  /** The blob's physical length; undefined when it does not exist. */
  size(blob: bigint): Promise<number | undefined>;
  /** Fills `out` from `offset`; past the blob's end (or when it does not exist) with zeros. */
  readInto(blob: bigint, offset: number, out: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** LocalBlobStore's folder, read with plain file calls. */
export class FolderBlobs implements BlobSource {
  private readonly reader: BlobReader;
  readonly blobMadeWithFile = true;

  constructor(readonly dir: string) {
    this.reader = new BlobReader(dir);
  }

  describe(blob: bigint): string {
    return `blob file ${blobPath(this.dir, blob)}`;
  }

  list(progress: (done: number, total: number) => Promise<void>): Promise<bigint[]> {
    return listBlobFiles(this.dir, progress);
  }

  async size(blob: bigint): Promise<number | undefined> {
    return blobSize(this.dir, blob);
  }

  readInto(blob: bigint, offset: number, out: Buffer): Promise<void> {
    return this.reader.readInto(blob, offset, out);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}

/** Any DataStore (the object store of a scaled-out cluster); `name` is its transport URL. */
export class StoreBlobs implements BlobSource {
  constructor(
    private readonly store: DataStore,
    private readonly name: string,
  ) {}

  get blobMadeWithFile(): boolean {
    return this.store.kind === 'file';
  }

  describe(blob: bigint): string {
    return `blob ${blob.toString(16).padStart(12, '0')} in ${this.name}`;
  }

  async list(progress: (done: number, total: number) => Promise<void>): Promise<bigint[]> {
    const out: bigint[] = [];
    for await (const blob of this.store.listBlobs()) {
      out.push(blob);
      if (out.length % 1024 === 0) await progress(out.length, out.length);
    }
    await progress(out.length, out.length);
    return out;
  }

  size(blob: bigint): Promise<number | undefined> {
    return this.store.physicalSize(blob);
  }

  async readInto(blob: bigint, offset: number, out: Buffer): Promise<void> {
    const n = await this.store.readInto(blob, offset, out);
    out.fill(0, n);
  }

  async close(): Promise<void> {}
}

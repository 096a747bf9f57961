import { promises as fsp, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SHARDS = 256;
const BLOB_NAME = /^[0-9a-f]+$/;

/** Where LocalBlobStore keeps a blob: `<data>/<blob & 0xff as 2 hex>/<id as 12+ hex>`. */
export function blobPath(dataDir: string, blob: bigint): string {
  return join(dataDir, (blob & 0xffn).toString(16).padStart(2, '0'), blob.toString(16).padStart(12, '0'));
}

/** The blob's physical length, undefined when it does not exist. */
export function blobSize(dataDir: string, blob: bigint): number | undefined {
  try {
    return statSync(blobPath(dataDir, blob)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Every blob file in the data folder (other names, such as probe files, are not blobs). */
export async function listBlobFiles(
  dataDir: string,
  progress: (done: number, total: number) => Promise<void>,
): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let shard = 0; shard < SHARDS; shard++) {
    let names: string[];
    try {
      names = readdirSync(join(dataDir, shard.toString(16).padStart(2, '0')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    for (const n of names) if (BLOB_NAME.test(n)) out.push(BigInt(`0x${n}`));
    await progress(shard + 1, SHARDS);
  }
  return out;
}

/** Reads a blob's bytes at offsets; past its end (or when it does not exist) the bytes are zeros. */
export class BlobReader {
  private readonly handles = new Map<bigint, fsp.FileHandle | null>();

  constructor(private readonly dataDir: string) {}

  async readInto(blob: bigint, offset: number, out: Buffer): Promise<void> {
    out.fill(0);
    const h = await this.handle(blob);
    if (!h) return;
    let got = 0;
    while (got < out.length) {
      const { bytesRead } = await h.read(out, got, out.length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  }

  private async handle(blob: bigint): Promise<fsp.FileHandle | null> {
    if (this.handles.has(blob)) return this.handles.get(blob)!;
    let h: fsp.FileHandle | null = null;
    try {
      h = await fsp.open(blobPath(this.dataDir, blob), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.handles.set(blob, h);
    return h;
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles.values()].map((h) => h?.close()));
    this.handles.clear();
  }
}

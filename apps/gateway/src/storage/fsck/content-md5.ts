import { createHash } from 'node:crypto';
import type { BlobSource } from './blob-source.ts';

const CHUNK = 1 << 20;

export interface ContentLayout {
  size: bigint;
  /** 0: own blob at the same offsets; 1: the extents below; 2: the inline bytes (schema.ts). */
  layout: bigint;
  ino: bigint;
  extents: ReadonlyArray<{ off: bigint; len: bigint; blob: bigint; blob_off: bigint }>;
  /** Layout 2: the bytes kept in the metadata database (zeros follow up to the size). */
  inline?: Buffer;
}

/**
 * MD5 (hex) of a file's content as the namespace serves it: an own-blob file reads its blob
 * at the same offsets, a composite file reads its extents in order; holes, gaps and bytes past
 * a blob's end read as zeros.
 */
export async function contentMd5(reader: Pick<BlobSource, 'readInto'>, file: ContentLayout): Promise<string> {
  const hash = createHash('md5');
  if (file.layout === 2n) {
    const held = file.inline ?? Buffer.alloc(0);
    const bytes = BigInt(held.length) > file.size ? held.subarray(0, Number(file.size)) : held;
    hash.update(bytes);
    if (BigInt(bytes.length) < file.size) hashZeros(hash, file.size - BigInt(bytes.length));
    return hash.digest('hex');
  }
  const pieces =
    file.layout === 0n ? [{ off: 0n, len: file.size, blob: file.ino, blob_off: 0n }] : [...file.extents];
  let at = 0n;
  for (const p of pieces) {
    if (at >= file.size) break;
    const end = minOf(p.off + p.len, file.size);
    if (end <= at) continue;
    if (p.off > at) {
      hashZeros(hash, p.off - at);
      at = p.off;
    }
    while (at < end) {
      const n = Number(minOf(end - at, BigInt(CHUNK)));
      const buf = Buffer.allocUnsafe(n);
      await reader.readInto(p.blob, Number(p.blob_off + (at - p.off)), buf);
      hash.update(buf);
      at += BigInt(n);
    }
  }
  if (at < file.size) hashZeros(hash, file.size - at);
  return hash.digest('hex');
}

const ZEROS = Buffer.alloc(CHUNK);

function hashZeros(hash: ReturnType<typeof createHash>, count: bigint): void {
  for (let left = count; left > 0n; ) {
    const n = Number(minOf(left, BigInt(CHUNK)));
    hash.update(ZEROS.subarray(0, n));
    left -= BigInt(n);
  }
}

function minOf(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

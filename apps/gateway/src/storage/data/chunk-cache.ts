import { LRUCache } from 'lru-cache';

/**
 * What is known of one stored chunk: its bytes in [from, to) (chunk-relative; `data` holds
 * those below `objectSize`) and the object's whole size. A chunk that does not exist is
 * `{ from: 0, to: chunkSize, data: empty, objectSize: 0 }`: a hole is knowledge too.
 */
export interface ChunkView {
  from: number;
  to: number;
  data: Buffer;
  objectSize: number;
}

/** Bytes [a, b) of the chunk answerable from the view. */
export function covers(v: ChunkView, a: number, b: number): boolean {
  return v.from <= a && b <= v.to;
}

/** Per entry, on top of its bytes: the key, the view and the LRU's own bookkeeping. */
const ENTRY_OVERHEAD = 128;

/**
 * A memory LRU of stored chunk bytes, bounded by bytes, with an index by blob so a blob's
 * chunks can be dropped at once (another node changed the file, or this one cut or removed it).
 */
export class ChunkCache {
  private readonly lru: LRUCache<string, ChunkView> | undefined;
  private readonly byBlob = new Map<bigint, Set<number>>();
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    if (maxBytes <= 0) return;
    this.lru = new LRUCache<string, ChunkView>({
      maxSize: maxBytes,
      sizeCalculation: (v) => v.data.length + ENTRY_OVERHEAD,
      dispose: (_v, key, reason) => {
        if (reason !== 'set') this.unindex(key);
      },
    });
  }

  /** The view of the chunk when it answers [a, b); counts a hit or a miss. */
  lookup(blob: bigint, index: number, a: number, b: number): ChunkView | undefined {
    const v = this.lru?.get(chunkKey(blob, index));
    if (v && covers(v, a, b)) {
      this.hits++;
      return v;
    }
    this.misses++;
    return undefined;
  }

  /** Any view of the chunk (no hit or miss counted): its `objectSize` says how long it is. */
  peek(blob: bigint, index: number): ChunkView | undefined {
    return this.lru?.peek(chunkKey(blob, index));
  }

  set(blob: bigint, index: number, view: ChunkView): void {
    if (!this.lru) return;
    this.lru.set(chunkKey(blob, index), view);
    if (!this.lru.has(chunkKey(blob, index))) return;
    const set = this.byBlob.get(blob);
    if (set) set.add(index);
    else this.byBlob.set(blob, new Set([index]));
  }

  delete(blob: bigint, index: number): void {
    this.lru?.delete(chunkKey(blob, index));
  }

  /** Drops the blob's chunks at `fromIndex` and after (all of them by default); how many it held. */
  dropBlob(blob: bigint, fromIndex = 0): number {
    const set = this.byBlob.get(blob);
    if (!set) return 0;
    let dropped = 0;
    for (const index of [...set]) {
      if (index < fromIndex) continue;
      this.lru?.delete(chunkKey(blob, index));
      dropped++;
    }
    return dropped;
  }

  /** Blobs with chunks in the cache. */
  blobs(): bigint[] {
    return [...this.byBlob.keys()];
  }

  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  private unindex(key: string): void {
    const [blob, index] = parseKey(key);
    const set = this.byBlob.get(blob);
    if (!set) return;
    set.delete(index);
    if (set.size === 0) this.byBlob.delete(blob);
  }
}

export function chunkKey(blob: bigint, index: number): string {
  return `${blob.toString(16)}:${index}`;
}

function parseKey(key: string): [bigint, number] {
  const at = key.indexOf(':');
  return [BigInt(`0x${key.slice(0, at)}`), Number(key.slice(at + 1))];
}

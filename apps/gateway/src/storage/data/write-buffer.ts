import { chunkKey } from './chunk-cache.ts';

/** Chunk buffers grow in steps of this many bytes (and by doubling), up to the chunk size. */
const GROWTH_STEP = 64 * 1024;

/**
 * Bytes written to one chunk and not yet uploaded: a buffer indexed like the chunk, and the
 * written ranges ([start, end), sorted, disjoint, never touching) — bytes outside them are
 * whatever the store holds.
 */
export class DirtyChunk {
  buf = Buffer.alloc(0);
  spans: Array<{ start: number; end: number }> = [];

  constructor(
    readonly blob: bigint,
    readonly index: number,
  ) {}

  /** Chunk-relative end of the written bytes; 0 when none. */
  get end(): number {
    return this.spans.at(-1)?.end ?? 0;
  }

  /** Memory held. */
  get bytes(): number {
    return this.buf.length;
  }

  /** Copies `data` in at chunk offset `at`; resolves to the change in memory held. */
  write(at: number, data: Buffer, chunkSize: number): number {
    const before = this.buf.length;
    const end = at + data.length;
    if (end > this.buf.length) {
      const grown = Math.min(chunkSize, Math.max(end, this.buf.length * 2));
      const next = Buffer.alloc(Math.min(chunkSize, Math.ceil(grown / GROWTH_STEP) * GROWTH_STEP));
      this.buf.copy(next);
      this.buf = next;
    }
    data.copy(this.buf, at);
    this.addSpan(at, end);
    return this.buf.length - before;
  }

  /** Forgets written bytes at `length` and after. */
  cut(length: number): void {
    this.spans = this.spans
      .filter((s) => s.start < length)
      .map((s) => ({ start: s.start, end: Math.min(s.end, length) }));
  }

  /** Whether written bytes fill [a, b) completely. */
  coversAll(a: number, b: number): boolean {
    let at = a;
    for (const s of this.spans) {
      if (s.end <= at) continue;
      if (s.start > at) return false;
      at = s.end;
      if (at >= b) return true;
    }
    return at >= b;
  }

  intersects(a: number, b: number): boolean {
    return this.spans.some((s) => s.start < b && a < s.end);
  }

  /** Copies the written bytes within [a, b) into `out`, whose first byte is chunk byte `a`. */
  overlay(out: Buffer, a: number, b: number): void {
    for (const s of this.spans) {
      const from = Math.max(s.start, a);
      const to = Math.min(s.end, b);
      if (from < to) this.buf.copy(out, from - a, from, to);
    }
  }

  /** Lays `newer`'s written bytes over this chunk's. */
  absorb(newer: DirtyChunk, chunkSize: number): void {
    for (const s of newer.spans) this.write(s.start, newer.buf.subarray(s.start, s.end), chunkSize);
  }

  private addSpan(start: number, end: number): void {
    const kept: Array<{ start: number; end: number }> = [];
    let merged = { start, end };
    for (const s of this.spans) {
      if (s.end < merged.start || s.start > merged.end) kept.push(s);
      else merged = { start: Math.min(s.start, merged.start), end: Math.max(s.end, merged.end) };
    }
    kept.push(merged);
    kept.sort((x, y) => x.start - y.start);
    this.spans = kept;
  }
}

/**
 * Dirty chunks of every blob, oldest first (Map order: a chunk is added when it first becomes
 * dirty), with the memory they hold counted so the store can flush the oldest early.
 */
export class WriteBuffer {
  private readonly byAge = new Map<string, DirtyChunk>();
  private readonly byBlob = new Map<bigint, Map<number, DirtyChunk>>();
  bytes = 0;

  constructor(private readonly chunkSize: number) {}

  get(blob: bigint, index: number): DirtyChunk | undefined {
    return this.byBlob.get(blob)?.get(index);
  }

  write(blob: bigint, offset: number, data: Buffer): void {
    const cs = this.chunkSize;
    for (let done = 0; done < data.length; ) {
      const at = offset + done;
      const index = Math.floor(at / cs);
      const within = at - index * cs;
      const n = Math.min(data.length - done, cs - within);
      let d = this.get(blob, index);
      if (!d) d = this.add(new DirtyChunk(blob, index));
      this.bytes += d.write(within, data.subarray(done, done + n), cs);
      done += n;
    }
  }

  /** Removes the chunk's dirty bytes from the buffer (to upload them). */
  take(blob: bigint, index: number): DirtyChunk | undefined {
    const d = this.get(blob, index);
    if (d) this.forget(d);
    return d;
  }

  /**
   * Puts back a chunk whose upload failed, under anything written to the chunk since (which is
   * newer), at its old place in age order's front, so it is flushed first.
   */
  restore(d: DirtyChunk): void {
    const newer = this.take(d.blob, d.index);
    if (newer) d.absorb(newer, this.chunkSize);
    const rest = [...this.byAge.values()];
    this.byAge.clear();
    this.add(d);
    for (const r of rest) this.byAge.set(chunkKey(r.blob, r.index), r);
  }

  /** Drops dirty bytes at blob offset `size` and after. */
  cut(blob: bigint, size: number): void {
    const chunks = this.byBlob.get(blob);
    if (!chunks) return;
    for (const d of [...chunks.values()]) {
      const within = size - d.index * this.chunkSize;
      if (within <= 0) this.forget(d);
      else if (within < this.chunkSize) {
        d.cut(within);
        if (d.spans.length === 0) this.forget(d);
      }
    }
  }

  dropBlob(blob: bigint): void {
    for (const d of [...(this.byBlob.get(blob)?.values() ?? [])]) this.forget(d);
  }

  indexes(blob: bigint): number[] {
    return [...(this.byBlob.get(blob)?.keys() ?? [])];
  }

  blobs(): bigint[] {
    return [...this.byBlob.keys()];
  }

  /** The oldest dirty chunks holding at least `bytes` in all, at most `max` of them. */
  oldest(bytes: number, max: number): DirtyChunk[] {
    const out: DirtyChunk[] = [];
    let sum = 0;
    for (const d of this.byAge.values()) {
      if (sum >= bytes || out.length >= max) break;
      out.push(d);
      sum += d.bytes;
    }
    return out;
  }

  private add(d: DirtyChunk): DirtyChunk {
    this.byAge.set(chunkKey(d.blob, d.index), d);
    const chunks = this.byBlob.get(d.blob);
    if (chunks) chunks.set(d.index, d);
    else this.byBlob.set(d.blob, new Map([[d.index, d]]));
    this.bytes += d.bytes;
    return d;
  }

  private forget(d: DirtyChunk): void {
    this.byAge.delete(chunkKey(d.blob, d.index));
    const chunks = this.byBlob.get(d.blob);
    chunks?.delete(d.index);
    if (chunks?.size === 0) this.byBlob.delete(d.blob);
    this.bytes -= d.bytes;
  }
}

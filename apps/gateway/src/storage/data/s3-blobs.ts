import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { S3Client } from '@aws-sdk/client-s3';
import type { TransportBackend } from '../../config/backend-url.ts';
import type { ObjectStoreSettings } from '../../config/types.ts';
import { mapLimit } from '../../util/map-limit.ts';
import { BlobLocks } from './blob-locks.ts';
import { ChunkCache, type ChunkView, chunkKey, covers } from './chunk-cache.ts';
import type { DataStore } from './data-store.ts';
import { type MultipartPiece, ObjectStore, ObjectStoreError } from './object-store.ts';
import { DirtyChunk, WriteBuffer } from './write-buffer.ts';

export interface S3DataStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' for none), without a trailing slash. */
  prefix: string;
  /** Bytes per chunk object: 8 MiB by default, at most 64 MiB. */
  chunkSize: number;
  /** Bytes of stored chunks kept in memory for reads (0: no read cache). */
  cacheSize: number;
  /** Bytes of unsynced writes held in memory before the oldest are uploaded early. */
  writeBufferSize: number;
  /** Bound on each store request, the SDK's retries included. */
  requestTimeoutMs: number;
  /** Chunk transfers one call runs at once (default 4). */
  concurrency?: number;
}

/** Parts of a multipart chunk upload; S3 wants at least 5 MiB for all but the last. */
export const PART_SIZE = 8 * 1024 * 1024;
/** A sequential reader gets this many chunks after the one it reads fetched ahead. */
const READ_AHEAD_CHUNKS = 2;
/** Entries of the small per-blob maps (bounds, mutations, sequential readers). */
const BLOB_MAP_MAX = 100_000;
const EMPTY = Buffer.alloc(0);

/** In flight: one upload of a chunk's dirty bytes (reads still see them here). */
interface Upload {
  record: DirtyChunk;
  done: Promise<void>;
}

/** In flight: one ranged GET of a chunk, shared by reads that need bytes inside it. */
interface Fetch {
  from: number;
  to: number;
  since: number;
  view: Promise<ChunkView>;
}

/** A chunk's bytes as a read found them, and the mutation count its knowledge dates from. */
interface Found {
  view: ChunkView;
  since: number;
}

/**
 * What keeps nodes sharing an object store apart (postgres/join-cluster.ts builds it). An upload
 * merges its bytes with the stored chunk's (read, modify, write): two nodes doing it at once
 * would each put back the chunk without the other's bytes, and one that read a chunk before
 * another node deleted it would put it back. Under a guard the merge reads the stored chunk
 * afresh, never from this node's cache, which may be behind.
 */
export interface SharedStoreGuard {
  /** Runs a chunk's upload alone among the nodes' uploads of it, and while no cut or removal of its blob runs. */
  chunk<T>(blob: bigint, index: number, work: () => Promise<T>): Promise<T>;
  /** Runs a cut or removal of the blobs (at most `maxBlobs`) while no node uploads a chunk of them. */
  blobs<T>(blobs: readonly bigint[], work: () => Promise<T>): Promise<T>;
  readonly maxBlobs: number;
}

/**
 * Blobs as fixed-size chunks in an S3-compatible object store:
 * `<prefix>/blobs/<blob, 16 hex digits>/<chunk index, 8 hex digits>`, so a listing is in
 * offset order. A missing chunk, or bytes past a short one, are a hole; the blob ends where its
 * last byte held ends, as a sparse local file would.
 *
 * Writes land in memory (WriteBuffer) and reads see them; sync uploads a blob's dirty chunks,
 * merged with the bytes they overwrite only partly (read-modify-write, or UploadPartCopy for
 * the unchanged 8 MiB parts of a large chunk). Reads fetch the ranges they need and keep them
 * in a byte-bounded LRU. Every change this process makes to stored chunks counts as a
 * mutation of the blob: a read whose fetches overlap one runs again, so it never returns or
 * caches bytes older than a write it could see.
 */
export class S3DataStore implements DataStore {
  readonly kind = 's3' as const;
  readonly objects: ObjectStore;
  readonly cache: ChunkCache;
  private readonly dirty: WriteBuffer;
  private readonly uploads = new Map<string, Upload>();
  private uploadingBytes = 0;
  private readonly fetches = new Map<string, Fetch[]>();
  private readonly locks = new BlobLocks();
  private readonly chunkSize: number;
  private readonly concurrency: number;
  /** Mutations made so far; `mutated` holds each blob's latest (a bounded map, see mutatedSince). */
  private seq = 0;
  private readonly mutated = new Map<bigint, number>();
  private mutatedEvicted = 0;
  /** Per blob: no stored byte at or past this offset (absent: unknown). */
  private readonly bounds = new Map<bigint, number>();
  /** Per blob: where the last read ended, to recognise a sequential reader. */
  private readonly readEnds = new Map<bigint, number>();
  /** Dirty chunks uploaded before their sync because the write buffer was full. */
  earlyFlushes = 0;
  /** With nodes sharing the store (postgres/join-cluster.ts sets it): what keeps them apart. */
  guard: SharedStoreGuard | undefined;
  private closed = false;

  constructor(
    client: S3Client,
    private readonly o: S3DataStoreOptions,
  ) {
    this.objects = new ObjectStore(client, o.bucket, o.requestTimeoutMs);
    this.cache = new ChunkCache(o.cacheSize);
    this.chunkSize = o.chunkSize;
    this.concurrency = o.concurrency ?? 4;
    this.dirty = new WriteBuffer(o.chunkSize);
  }

  /** `<prefix>/blobs/` */
  private get blobsPrefix(): string {
    return this.o.prefix === '' ? 'blobs/' : `${this.o.prefix}/blobs/`;
  }

  private blobPrefix(blob: bigint): string {
    return `${this.blobsPrefix}${blob.toString(16).padStart(16, '0')}/`;
  }

  objectKey(blob: bigint, index: number): string {
    return `${this.blobPrefix(blob)}${index.toString(16).padStart(8, '0')}`;
  }

  private indexOfKey(key: string): number {
    return Number.parseInt(key.slice(key.lastIndexOf('/') + 1), 16);
  }

  /** Bytes of unsynced writes held, uploading ones included. */
  get bufferedBytes(): number {
    return this.dirty.bytes + this.uploadingBytes;
  }

  // ——— reads ———

  async read(blob: bigint, offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    const n = await this.readInto(blob, offset, buf);
    return n === length ? buf : buf.subarray(0, n);
  }

  async readInto(blob: bigint, offset: number, target: Buffer): Promise<number> {
    if (target.length === 0) return 0;
    const cs = this.chunkSize;
    const end = offset + target.length;
    const sequential = this.readEnds.get(blob) === offset;
    remember(this.readEnds, blob, end);
    const first = Math.floor(offset / cs);
    const last = Math.floor((end - 1) / cs);
    const pieces: Array<{ index: number; a: number; b: number }> = [];
    for (let index = first; index <= last; index++) {
      const a = Math.max(offset - index * cs, 0);
      const b = Math.min(end - index * cs, cs);
      pieces.push({ index, a, b });
    }
    for (;;) {
      const since = this.seq;
      const found = await mapLimit(pieces, this.concurrency, (p) =>
        this.stored(blob, p.index, p.a, p.b, sequential || (p.b - p.a) * 4 >= cs),
      );
      let held = 0;
      for (let i = 0; i < pieces.length; i++)
        held = Math.max(held, this.heldEnd(blob, pieces[i]!, found[i]!.view));
      const more = held < end && (await this.hasDataAfter(blob, last));
      if (this.mutatedSince(blob, Math.min(since, ...found.map((f) => f.since)))) continue;
      // From here to the return nothing awaits: the bytes are one consistent view.
      held = 0;
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i]!;
        const out = target.subarray(p.index * cs + p.a - offset, p.index * cs + p.b - offset);
        fill(out, found[i]!.view, p.a, p.b);
        for (const r of this.pending(blob, p.index)) r.overlay(out, p.a, p.b);
        held = Math.max(held, this.heldEnd(blob, p, found[i]!.view));
      }
      if (sequential && found.at(-1)!.view.objectSize >= cs) this.readAhead(blob, last);
      if (more || held >= end || this.pendingAfter(blob, last)) return target.length;
      return Math.max(0, held - offset);
    }
  }

  /** Blob offset where the bytes held in chunk `p.index` end, within the piece read. */
  private heldEnd(blob: bigint, p: { index: number; b: number }, view: ChunkView): number {
    let end = view.objectSize;
    for (const r of this.pending(blob, p.index)) end = Math.max(end, r.end);
    return end > 0 ? p.index * this.chunkSize + Math.min(end, p.b) : 0;
  }

  /** Unuploaded bytes of a chunk, older first: an upload in flight, then newer writes. */
  private pending(blob: bigint, index: number): DirtyChunk[] {
    const out: DirtyChunk[] = [];
    const up = this.uploads.get(chunkKey(blob, index));
    if (up) out.push(up.record);
    const d = this.dirty.get(blob, index);
    if (d) out.push(d);
    return out;
  }

  private pendingAfter(blob: bigint, index: number): boolean {
    if (this.dirty.indexes(blob).some((i) => i > index)) return true;
    for (const u of this.uploads.values()) if (u.record.blob === blob && u.record.index > index) return true;
    return false;
  }

  /**
   * The stored bytes of chunk `index` covering [a, b): known absent, cached, being fetched,
   * or fetched now — to the chunk's end when `wide` (a sequential or large read).
   */
  private async stored(blob: bigint, index: number, a: number, b: number, wide: boolean): Promise<Found> {
    if (index * this.chunkSize >= (this.bounds.get(blob) ?? Number.POSITIVE_INFINITY)) {
      return { view: this.absent(), since: Number.POSITIVE_INFINITY };
    }
    const hit = this.cache.lookup(blob, index, a, b);
    if (hit) return { view: hit, since: Number.POSITIVE_INFINITY };
    const sharing = this.fetches.get(chunkKey(blob, index))?.find((f) => f.from <= a && b <= f.to);
    if (sharing) return { view: await sharing.view, since: sharing.since };
    const f = this.fetch(blob, index, a, wide ? this.chunkSize : b);
    return { view: await f.view, since: f.since };
  }

  private absent(): ChunkView {
    return { from: 0, to: this.chunkSize, data: EMPTY, objectSize: 0 };
  }

  /** A ranged GET of chunk bytes [from, to), cached unless the blob changed meanwhile. */
  private fetch(blob: bigint, index: number, from: number, to: number): Fetch {
    const key = chunkKey(blob, index);
    const since = this.seq;
    const f: Fetch = {
      from,
      to,
      since,
      view: this.objects.getRange(this.objectKey(blob, index), from, to).then((r) => {
        const view: ChunkView = r ? { from, to, ...r } : this.absent();
        if (!this.mutatedSince(blob, since)) this.cache.set(blob, index, view);
        return view;
      }),
    };
    const list = this.fetches.get(key) ?? [];
    list.push(f);
    this.fetches.set(key, list);
    f.view
      .finally(() => {
        const left = (this.fetches.get(key) ?? []).filter((x) => x !== f);
        if (left.length === 0) this.fetches.delete(key);
        else this.fetches.set(key, left);
      })
      .catch(() => {});
    return f;
  }

  /** Whether the blob holds anything in a chunk after `index` (pending bytes or stored). */
  private async hasDataAfter(blob: bigint, index: number): Promise<boolean> {
    if (this.pendingAfter(blob, index)) return true;
    const after = (index + 1) * this.chunkSize;
    if ((this.bounds.get(blob) ?? Number.POSITIVE_INFINITY) <= after) return false;
    const since = this.seq;
    let found = false;
    const pages = this.objects.list(this.blobPrefix(blob), {
      startAfter: this.objectKey(blob, index),
      maxKeys: 1,
    });
    for await (const page of pages) found ||= page.objects.length > 0;
    if (!found && !this.mutatedSince(blob, since)) this.lowerBound(blob, after);
    return found;
  }

  /** Fetches the next chunks of a sequential reader in the background. */
  private readAhead(blob: bigint, index: number): void {
    const bound = this.bounds.get(blob) ?? Number.POSITIVE_INFINITY;
    for (let i = index + 1; i <= index + READ_AHEAD_CHUNKS; i++) {
      if (i * this.chunkSize >= bound) return;
      const v = this.cache.peek(blob, i);
      if ((v && covers(v, 0, this.chunkSize)) || this.fetches.has(chunkKey(blob, i))) continue;
      // A failed read-ahead only costs the read that needs the chunk a fetch of its own.
      this.fetch(blob, i, 0, this.chunkSize).view.catch(() => {});
    }
  }

  // ——— writes ———

  async write(blob: bigint, offset: number, data: Buffer): Promise<void> {
    if (data.length === 0) return;
    // Room first: a failed early flush leaves this write undone rather than half buffered.
    await this.relieve(data.length);
    this.dirty.write(blob, offset, data);
  }

  /**
   * Uploads the oldest dirty chunks until `incoming` more bytes fit the write buffer. Their
   * bytes become durable before anyone asked, which the contract allows.
   */
  private async relieve(incoming: number): Promise<void> {
    for (;;) {
      const excess = this.bufferedBytes + incoming - this.o.writeBufferSize;
      if (excess <= 0) return;
      const victims = this.dirty.oldest(excess, this.concurrency);
      if (victims.length === 0) {
        if (this.uploads.size === 0) return;
        await Promise.race([...this.uploads.values()].map((u) => u.done.catch(() => {})));
        continue;
      }
      this.earlyFlushes += victims.length;
      await settleAll(victims.map((v) => this.flush(v.blob, [v.index])));
    }
  }

  async sync(blob: bigint): Promise<void> {
    const indexes = new Set(this.dirty.indexes(blob));
    for (const u of this.uploads.values()) if (u.record.blob === blob) indexes.add(u.record.index);
    if (indexes.size > 0) await this.flush(blob, [...indexes]);
  }

  /** Uploads the chunks' dirty bytes, in parallel, sharing the blob's lock with other uploads. */
  private async flush(blob: bigint, indexes: number[]): Promise<void> {
    const release = await this.locks.shared(blob);
    try {
      await mapLimit(indexes, this.concurrency, (i) => this.upload(blob, i));
    } finally {
      release();
    }
  }

  /**
   * Uploads what is dirty in the chunk, after any upload of it already in flight (so they land
   * in order). With `cutTo`, the stored chunk is also cut to that length, dirty or not. A failed
   * upload puts its bytes back in the write buffer.
   */
  private async upload(blob: bigint, index: number, cutTo?: number, blobHeld = false): Promise<void> {
    const key = chunkKey(blob, index);
    for (let prev = this.uploads.get(key); prev; prev = this.uploads.get(key)) {
      await prev.done.catch(() => {});
    }
    const record =
      this.dirty.take(blob, index) ?? (cutTo === undefined ? undefined : new DirtyChunk(blob, index));
    if (!record) return;
    const up: Upload = { record, done: this.store(blob, index, record, cutTo, blobHeld) };
    // Counted as taken: a failed upload's record grows when newer writes are laid over it.
    const held = record.bytes;
    this.uploads.set(key, up);
    this.uploadingBytes += held;
    try {
      await up.done;
    } catch (e) {
      if (record.spans.length > 0) this.dirty.restore(record);
      throw e;
    } finally {
      this.uploads.delete(key);
      this.uploadingBytes -= held;
    }
  }

  /**
   * Writes the chunk object: stored bytes (cut to `cutTo`) under the record's bytes. Among
   * nodes, under the chunk's guard — or the blob's, which the caller holds (`blobHeld`) — with
   * the stored bytes read afresh.
   */
  private store(
    blob: bigint,
    index: number,
    d: DirtyChunk,
    cutTo: number | undefined,
    blobHeld: boolean,
  ): Promise<void> {
    const guard = this.guard;
    if (!guard) return this.storeChunk(blob, index, d, cutTo, false);
    if (blobHeld) return this.storeChunk(blob, index, d, cutTo, true);
    return guard.chunk(blob, index, () => this.storeChunk(blob, index, d, cutTo, true));
  }

  /** `work` alone among the nodes with the blobs: none uploads a chunk of them meanwhile. */
  private underBlobs<T>(blobs: readonly bigint[], work: () => Promise<T>): Promise<T> {
    return this.guard ? this.guard.blobs(blobs, work) : work();
  }

  /** `store`, the stored bytes read from the store when `fresh` (else as this node knows them). */
  private async storeChunk(
    blob: bigint,
    index: number,
    d: DirtyChunk,
    cutTo: number | undefined,
    fresh: boolean,
  ): Promise<void> {
    const key = this.objectKey(blob, index);
    const limit = cutTo ?? this.chunkSize;
    let content: Buffer | undefined;
    let length: number;
    try {
      if (this.chunkSize <= PART_SIZE) {
        content = await this.composeChunk(blob, index, d, limit, fresh);
        length = content.length;
      } else {
        const stored = Math.min(await this.storedLength(blob, index, fresh), limit);
        length = Math.max(stored, d.end);
        if (length > PART_SIZE) await this.storeParts(key, d, stored, length);
        else content = await this.compose(key, d, 0, length, stored);
      }
      if (content && length > 0) await this.objects.put(key, content);
    } finally {
      this.markMutated(blob);
      this.cache.delete(blob, index);
    }
    if (content)
      this.cache.set(blob, index, { from: 0, to: this.chunkSize, data: content, objectSize: length });
    this.raiseBound(blob, index * this.chunkSize + length);
  }

  /**
   * A single-part chunk's new bytes: dirty bytes over the stored ones below `limit`, read
   * with one GET — of only the tail past the dirty bytes when they fill the chunk's start.
   */
  private async composeChunk(
    blob: bigint,
    index: number,
    d: DirtyChunk,
    limit: number,
    fresh: boolean,
  ): Promise<Buffer> {
    const contiguous = d.coversAll(0, d.end);
    const known = fresh ? undefined : this.knownLength(blob, index);
    if (contiguous && known !== undefined && Math.min(known, limit) <= d.end) return d.buf.subarray(0, d.end);
    const whole = fresh ? undefined : this.cache.peek(blob, index);
    let base: ChunkView | undefined = known === 0 ? this.absent() : undefined;
    if (!base && whole?.from === 0 && whole.to >= limit) base = whole;
    if (!base) {
      const from = contiguous ? d.end : 0;
      const r =
        from < limit ? await this.objects.getRange(this.objectKey(blob, index), from, limit) : undefined;
      base = r ? { from, to: limit, ...r } : this.absent();
    }
    const stored = Math.min(base.objectSize, limit);
    const length = Math.max(stored, d.end);
    const out = Buffer.allocUnsafe(length);
    fill(out, { ...base, objectSize: stored }, 0, length);
    d.overlay(out, 0, length);
    return out;
  }

  /**
   * Bytes [a, b) of a chunk's new content: the stored ones below `stored` (a ranged GET when
   * needed) under the dirty ones, zeros elsewhere.
   */
  private async compose(key: string, d: DirtyChunk, a: number, b: number, stored: number): Promise<Buffer> {
    if (d.coversAll(a, b)) return d.buf.subarray(a, b);
    const out = Buffer.alloc(b - a);
    const storedEnd = Math.min(stored, b);
    if (storedEnd > a) {
      const r = await this.objects.getRange(key, a, storedEnd);
      r?.data.copy(out, 0, 0, Math.min(r.data.length, storedEnd - a));
    }
    d.overlay(out, a, b);
    return out;
  }

  /**
   * A large chunk as a multipart upload of 8 MiB parts: a part no dirty byte touches and that
   * the stored chunk holds whole is copied server-side (UploadPartCopy), never downloaded.
   */
  private async storeParts(key: string, d: DirtyChunk, stored: number, length: number): Promise<void> {
    const parts: Array<() => Promise<MultipartPiece>> = [];
    for (let a = 0; a < length; a += PART_SIZE) {
      const b = Math.min(a + PART_SIZE, length);
      if (!d.intersects(a, b) && stored >= b) {
        parts.push(async () => ({ copyFrom: key, start: a, end: b }));
      } else {
        parts.push(async () => ({ data: await this.compose(key, d, a, b, stored) }));
      }
    }
    await this.objects.multipart(key, parts, this.concurrency);
  }

  /** The chunk object's length when known without asking the store. */
  private knownLength(blob: bigint, index: number): number | undefined {
    if (index * this.chunkSize >= (this.bounds.get(blob) ?? Number.POSITIVE_INFINITY)) return 0;
    const v = this.cache.peek(blob, index);
    // A view from the chunk's start has the exact size; a later one may only bound it.
    return v?.from === 0 ? v.objectSize : undefined;
  }

  /** The chunk object's length: known (unless `fresh`), or from a one-byte ranged GET (0 when it does not exist). */
  private async storedLength(blob: bigint, index: number, fresh = false): Promise<number> {
    const known = fresh ? undefined : this.knownLength(blob, index);
    if (known !== undefined) return known;
    const r = await this.objects.getRange(this.objectKey(blob, index), 0, 1);
    return r?.objectSize ?? 0;
  }

  // ——— cutting and removing ———

  async truncate(blob: bigint, size: number): Promise<void> {
    await this.cut(blob, size);
  }

  async prepareWrite(blob: bigint, committedSize: number): Promise<void> {
    await this.cut(blob, committedSize);
  }

  /**
   * Drops everything at `size` and past: dirty bytes, chunk objects wholly past it, and the
   * tail of the chunk it falls in (rewritten shorter, with that chunk's dirty bytes, which
   * thereby become durable early). Afterwards the blob's bound is known.
   */
  private async cut(blob: bigint, size: number): Promise<void> {
    const release = await this.locks.exclusive(blob);
    try {
      this.dirty.cut(blob, size);
      if ((this.bounds.get(blob) ?? Number.POSITIVE_INFINITY) <= size) return;
      await this.underBlobs([blob], () => this.cutStored(blob, size));
    } finally {
      release();
    }
  }

  /** `cut`'s part in the store: the chunk objects past `size` deleted, the one it falls in cut. */
  private async cutStored(blob: bigint, size: number): Promise<void> {
    const cs = this.chunkSize;
    const j = Math.floor(size / cs);
    const within = size - j * cs;
    const listed: Array<{ key: string; index: number; size: number }> = [];
    const pages = this.objects.list(this.blobPrefix(blob), {
      startAfter: j > 0 ? this.objectKey(blob, j - 1) : undefined,
    });
    for await (const page of pages) {
      for (const o of page.objects) listed.push({ ...o, index: this.indexOfKey(o.key) });
    }
    const doomed = listed.filter((o) => o.index * cs >= size);
    const straddling = within > 0 ? listed.find((o) => o.index === j) : undefined;
    if (doomed.length > 0) {
      try {
        await this.objects.deleteKeys(doomed.map((o) => o.key));
      } finally {
        this.markMutated(blob);
        this.cache.dropBlob(blob, within > 0 ? j + 1 : j);
      }
    }
    this.setBound(blob, straddling ? j * cs + Math.min(straddling.size, within) : j * cs);
    if (straddling && straddling.size > within) await this.upload(blob, j, within, true);
  }

  async remove(blobs: readonly bigint[]): Promise<void> {
    const sorted = [...new Set(blobs)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    const releases: Array<() => void> = [];
    try {
      for (const blob of sorted) releases.push(await this.locks.exclusive(blob));
      const group = this.guard?.maxBlobs ?? sorted.length;
      for (let i = 0; i < sorted.length; i += group) {
        const some = sorted.slice(i, i + group);
        await this.underBlobs(some, () => this.removeStored(some));
      }
    } finally {
      for (const release of releases) release();
    }
  }

  /** `remove`'s part in the store: every chunk object of the blobs deleted. */
  private async removeStored(blobs: readonly bigint[]): Promise<void> {
    const keys: string[] = [];
    for (const blob of blobs) {
      this.dirty.dropBlob(blob);
      for await (const page of this.objects.list(this.blobPrefix(blob))) {
        for (const o of page.objects) keys.push(o.key);
      }
    }
    try {
      await this.objects.deleteKeys(keys);
    } finally {
      for (const blob of blobs) {
        this.markMutated(blob);
        this.cache.dropBlob(blob);
        this.bounds.delete(blob);
        this.readEnds.delete(blob);
      }
    }
  }

  /**
   * Another node changed the blob: its cached chunks and bound are no longer to be trusted.
   * Without a blob: every blob (what other nodes said while nobody listened is unknown).
   */
  invalidate(blob?: bigint): number {
    if (blob === undefined) {
      let held = 0;
      for (const b of this.heldBlobs()) held += this.invalidate(b);
      return held;
    }
    this.markMutated(blob);
    const chunks = this.cache.dropBlob(blob);
    this.bounds.delete(blob);
    return chunks > 0 ? 1 : 0;
  }

  /** Blobs with cached chunks or a known bound (the size reads are cut at). */
  heldBlobs(): bigint[] {
    return [...new Set([...this.bounds.keys(), ...this.cache.blobs()])];
  }

  // ——— sizes, listing, health ———

  async physicalSize(blob: bigint): Promise<number | undefined> {
    const since = this.seq;
    let size: number | undefined;
    for await (const page of this.objects.list(this.blobPrefix(blob))) {
      for (const o of page.objects) {
        size = Math.max(size ?? 0, this.indexOfKey(o.key) * this.chunkSize + o.size);
      }
    }
    if (!this.mutatedSince(blob, since)) this.setBound(blob, size ?? 0);
    for (const i of new Set([...this.dirty.indexes(blob), ...this.uploadingIndexes(blob)])) {
      for (const r of this.pending(blob, i)) {
        if (r.end > 0) size = Math.max(size ?? 0, i * this.chunkSize + r.end);
      }
    }
    return size;
  }

  private uploadingIndexes(blob: bigint): number[] {
    return [...this.uploads.values()].filter((u) => u.record.blob === blob).map((u) => u.record.index);
  }

  async *listBlobs(): AsyncIterable<bigint> {
    const pending = new Set([...this.dirty.blobs(), ...[...this.uploads.values()].map((u) => u.record.blob)]);
    yield* pending;
    const pages = this.objects.list(this.blobsPrefix, { delimiter: '/' });
    for await (const page of pages) {
      for (const p of page.prefixes) {
        const name = p.slice(this.blobsPrefix.length, -1);
        if (!/^[0-9a-f]{16}$/.test(name)) continue;
        const blob = BigInt(`0x${name}`);
        if (!pending.has(blob)) yield blob;
      }
    }
  }

  async probe(): Promise<void> {
    const key = `${this.o.prefix === '' ? '' : `${this.o.prefix}/`}probes/${hostname()}-${process.pid}`;
    const payload = Buffer.from(`probe ${Date.now()}`);
    await this.objects.put(key, payload);
    const back = await this.objects.getRange(key, 0, payload.length + 1);
    await this.objects.delete(key);
    if (!back?.data.equals(payload)) throw new Error('object store returned different bytes than written');
  }

  /**
   * An object store has no fixed capacity to report: these are a documented stand-in
   * (2^60 bytes, 1 EiB, for total, free and available alike) so statfs shows plenty of room
   * rather than a made-up limit. Quotas are what bound usage.
   */
  async capacity(): Promise<{ totalBytes: bigint; freeBytes: bigint; availBytes: bigint }> {
    const lots = 1n << 60n;
    return { totalBytes: lots, freeBytes: lots, availBytes: lots };
  }

  /** Uploads every unsynced chunk (an orderly stop keeps unstable writes), then lets the client go. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const blobs = new Set([...this.dirty.blobs(), ...[...this.uploads.values()].map((u) => u.record.blob)]);
      await mapLimit([...blobs], this.concurrency, (b) => this.sync(b));
    } finally {
      this.objects.client.destroy();
    }
  }

  // ——— bookkeeping ———

  private markMutated(blob: bigint): void {
    this.seq++;
    const evicted = remember(this.mutated, blob, this.seq);
    if (evicted !== undefined) this.mutatedEvicted = Math.max(this.mutatedEvicted, evicted);
  }

  /** Whether this process changed the blob's stored chunks after mutation count `since`. */
  private mutatedSince(blob: bigint, since: number): boolean {
    return (this.mutated.get(blob) ?? this.mutatedEvicted) > since;
  }

  private setBound(blob: bigint, bound: number): void {
    remember(this.bounds, blob, bound);
  }

  private lowerBound(blob: bigint, bound: number): void {
    this.setBound(blob, Math.min(bound, this.bounds.get(blob) ?? Number.POSITIVE_INFINITY));
  }

  private raiseBound(blob: bigint, end: number): void {
    const b = this.bounds.get(blob);
    if (b !== undefined && b < end) this.setBound(blob, end);
  }
}

/**
 * The data store for `transport.url: s3://bucket/prefix`. Credentials: `access_key_id` and the
 * secret in `secret_access_key_file`, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from
 * `env`, else the AWS SDK's default chain (instance roles and the like). Nothing is sent to
 * the store until the first call; a wrong bucket or key shows up there, and in the probe.
 */
export async function openS3DataStore(
  backend: Extract<TransportBackend, { kind: 's3' }>,
  settings: ObjectStoreSettings,
  env: NodeJS.ProcessEnv = process.env,
): Promise<S3DataStore> {
  const client = new S3Client({
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle,
    credentials: await staticCredentials(settings, env),
    // Checksums only where S3 requires them: SigV4 already covers each payload over HTTP.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: settings.requestTimeoutMs,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    },
  });
  return new S3DataStore(client, {
    bucket: backend.bucket,
    prefix: backend.prefix.replace(/\/+$/, ''),
    chunkSize: settings.chunkSize,
    cacheSize: settings.cacheSize,
    writeBufferSize: settings.writeBufferSize,
    requestTimeoutMs: settings.requestTimeoutMs,
  });
}

/** Key id and secret from the settings or the environment; undefined leaves it to the SDK. */
async function staticCredentials(
  settings: ObjectStoreSettings,
  env: NodeJS.ProcessEnv,
): Promise<{ accessKeyId: string; secretAccessKey: string } | undefined> {
  const accessKeyId = settings.accessKeyId ?? env.AWS_ACCESS_KEY_ID;
  let secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const file = settings.secretAccessKeyFile;
  if (file !== undefined) {
    try {
      secretAccessKey = (await readFile(file, 'utf8')).trim();
    } catch (e) {
      // The path and the reason, never the file's contents.
      const reason = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new ObjectStoreError(
        `transport.secret_access_key_file ${file}: cannot read it (${reason})`,
        'EIO',
      );
    }
    if (secretAccessKey === '') {
      throw new ObjectStoreError(`transport.secret_access_key_file ${file} is empty`, 'EINVAL');
    }
  }
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined) {
    throw new ObjectStoreError(
      'transport: a secret key is set but no access key id (transport.access_key_id or AWS_ACCESS_KEY_ID)',
      'EINVAL',
    );
  }
  if (secretAccessKey === undefined) {
    throw new ObjectStoreError(
      'transport: an access key id is set but no secret (transport.secret_access_key_file or AWS_SECRET_ACCESS_KEY)',
      'EINVAL',
    );
  }
  return { accessKeyId, secretAccessKey };
}

/**
 * Copies a stored view's bytes for chunk range [a, b) into `out` (whose first byte is chunk
 * byte `a`); zeros where the view holds none.
 */
function fill(out: Buffer, view: ChunkView, a: number, b: number): void {
  const from = Math.max(a, view.from);
  const to = Math.min(b, view.to, view.objectSize, view.from + view.data.length);
  if (from >= to) {
    out.fill(0);
    return;
  }
  if (from > a) out.fill(0, 0, from - a);
  view.data.copy(out, from - a, from - view.from, to - view.from);
  if (to < b) out.fill(0, to - a);
}

/** Sets `key` last in a bounded map; returns the value of an entry evicted to stay bounded. */
function remember<V>(map: Map<bigint, V>, key: bigint, value: V): V | undefined {
  map.delete(key);
  map.set(key, value);
  if (map.size <= BLOB_MAP_MAX) return undefined;
  const oldest = map.keys().next().value as bigint;
  const v = map.get(oldest);
  map.delete(oldest);
  return v;
}

/** Waits for every promise; rethrows the first failure. */
async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

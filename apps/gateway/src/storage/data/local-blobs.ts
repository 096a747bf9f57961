import * as fs from 'node:fs';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copyInto } from '../../util/copy-into.ts';
import { GroupCommit } from '../group-commit.ts';
import type { DataStore, SmallFileCacheStats } from './data-store.ts';
import { DirectIo } from './direct-io.ts';
import { LoopWrites } from './loop-writes.ts';

const pread = promisify(fs.read);
const pwrite = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
const ftruncate = promisify(fs.ftruncate);
const fstat = promisify(fs.fstat);
const close = promisify(fs.close);
const open = promisify(fs.open);
const fsync = promisify(fs.fsync);
const rename = promisify(fs.rename);

const SHARDS = 256;
const MAX_OPEN = 512;
/**
 * Blobs closed before their directory entry was flushed (a new file never written: the
 * namespace readies every new file's blob) are remembered, so that a later sync of one still
 * flushes its folder; past this many, their folders are flushed in the background and they are
 * forgotten. Without it each such file kept its descriptor open: 15,000 empty files created
 * with `transport.inline_max: 0` held 15,000 descriptors, and every open scanned them all.
 */
const UNFLUSHED_NAMES_MAX = 256;
/**
 * Reads up to this size are made on the event loop (one pread, served from the page cache in
 * the common case) instead of the thread pool, whose hand-off costs more than such a read
 * itself; nginx reads the same way. Larger reads go to the pool and never stall the loop long.
 */
const SYNC_READ_MAX = 64 * 1024;
/**
 * Write-behind: once this many bytes were written to a blob since its last flush began, a
 * flush (fdatasync) starts in the background. The disk then writes while the client is still
 * sending, and the sync a client waits for (COMMIT, SMB CLOSE/FLUSH, an S3 upload's end) only
 * has the tail left, instead of every byte of a large file at once.
 */
const WRITE_BEHIND_BYTES = 16 * 1024 * 1024;
/**
 * Files up to CONTENT_CACHE_MAX_BLOB are held in memory once read, whole: a GET of a 4 KiB
 * object then costs no system call for its bytes (a pread from the page cache is ~6 µs here),
 * and a GET of a 1 MiB one neither the thread pool's round trip nor a copy (readShared hands
 * out the held bytes; a pread of 1 MiB from the page cache costs ~540 µs of memory copying on
 * this VM). Every change to a blob goes through this store, which drops the copy before and
 * after it, so the copy is never stale and never changed in place; another node's change
 * arrives through invalidate(). Bounded by `cacheBytes` (`transport.cache_size`), least
 * recently used first out, and by the descriptor cache: a copy lives on its blob's open entry.
 */
const CONTENT_CACHE_MAX_BLOB = 1024 * 1024;
/**
 * A blob at least this large is emptied by a new, empty file taking its name (a rename) rather
 * than by ftruncate: ext4 frees a file's blocks in the call that empties it — 0.8–1.1 s for
 * 1 GiB on this VM — and an SMB overwrite (OVERWRITE_IF) or an NFS open with O_TRUNC waited for
 * that. The old file's blocks are freed when its descriptor is closed, on the thread pool, in
 * the background (after a crash, when the process's descriptors are).
 */
const EMPTY_BY_RENAME_BYTES = 64 * 1024 * 1024;
/** `transport.cache_size`'s default (config/object-store.ts) for stores opened without one. */
const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

interface OpenBlob {
  fd: number;
  refs: number;
  /** Physical size as far as this process knows it (fstat at open, then tracked). */
  size: number;
  /** Created by this process and its directory entry not yet fsynced. */
  newEntry: boolean;
  /** Bytes written since the last flush (background or not) began. */
  unflushed: number;
  /** The write-behind flush running now. */
  flushing?: Promise<void>;
  /**
   * What a write-behind flush failed with: the kernel reports a writeback error to one
   * fdatasync only, so the next sync() must say it instead of succeeding.
   */
  flushError?: unknown;
  /** The blob's bytes, all `size` of them, when it is small (CONTENT_CACHE_MAX_BLOB). */
  content?: Buffer;
  /** Counts the drops of `content`: a copy read while it changed is not kept. */
  epoch: number;
  /** The read that will fill `content` (a blob too large to read on the event loop). */
  filling?: Promise<Buffer | undefined>;
  /** The blob's O_DIRECT descriptor (direct-io.ts), opened by its first direct write; -1: could not. */
  directFd?: Promise<number>;
  /**
   * Written directly, and not read to its end since: its bytes are on disk but not in the page
   * cache, so large reads go direct as well instead of through page-cache memory filled on the
   * way (on this VM that was 0.70× smbd's get against 1.07× direct).
   */
  direct: boolean;
  /**
   * Direct writes answered once their bytes were staged in the store's own buffers and still
   * on their way to the disk. Reads and writes of the same bytes wait for them; sync,
   * truncate and removal wait for all. What one fails with is kept in `flushError`.
   */
  landing: Landing[];
}

interface Landing {
  start: number;
  end: number;
  done: Promise<void>;
}

/**
 * Blobs as sparse files under `<root>/<shard>/<id>`; 256 shard folders keep directories small.
 * Descriptors are cached (bounded) because small-file workloads would otherwise pay an
 * open/close per request. New directory entries are made durable by a per-shard group commit.
 */
export class LocalBlobStore implements DataStore {
  readonly kind = 'file' as const;
  private readonly open = new Map<bigint, OpenBlob>();
  /** Probes made so far: each writes a file of its own name. */
  private probes = 0;
  private readonly opening = new Map<bigint, Promise<OpenBlob | undefined>>();
  /** Blobs being emptied by a rename (EMPTY_BY_RENAME_BYTES): their users wait for the new file. */
  private readonly emptying = new Map<bigint, Promise<void>>();
  private readonly shardSync: GroupCommit[] = [];
  /**
   * Blobs whose descriptor was closed while their directory entry was not yet flushed, each
   * with the order it was closed in (UNFLUSHED_NAMES_MAX); reopened, a blob is a new entry again.
   */
  private readonly unflushedNames = new Map<bigint, number>();
  private namesClosed = 0;
  private namesFlushing: Promise<void> | undefined;
  /** Each shard folder's descriptor for those fsyncs, opened on first use and kept. */
  private readonly shardFds: Array<Promise<number> | undefined> = [];
  /** Background flushes started by write-behind (WRITE_BEHIND_BYTES). */
  writeBehindFlushes = 0;
  /** Which buffered writes are made from the event loop (loop-writes.ts; a test may swap it). */
  loopWrites: LoopWrites;
  /** Small blobs held in memory (`cacheBytes` at most) and how reads of them went. */
  readonly smallFiles: SmallFileCacheStats = { bytes: 0, hits: 0, misses: 0 };

  private constructor(
    readonly root: string,
    /** Large aligned writes past the page cache; undefined where the file system has no O_DIRECT. */
    readonly direct: DirectIo | undefined,
    /** Memory for copies of small blobs (CONTENT_CACHE_MAX_BLOB); 0 holds none. */
    private readonly cacheBytes: number,
    loopWrites: boolean,
  ) {
    this.loopWrites = new LoopWrites(loopWrites);
    for (let i = 0; i < SHARDS; i++) {
      this.shardSync.push(new GroupCommit(() => this.syncShard(i)));
    }
  }

  /** fsyncs a shard folder (new directory entries in it become durable). */
  private async syncShard(i: number): Promise<void> {
    let fd = this.shardFds[i];
    if (!fd) {
      fd = open(join(this.root, shardName(i)), constants.O_RDONLY | constants.O_DIRECTORY);
      this.shardFds[i] = fd;
      // A failed open is retried by the next sync, not remembered.
      fd.catch(() => {
        if (this.shardFds[i] === fd) this.shardFds[i] = undefined;
      });
    }
    await fsync(await fd);
  }

  /**
   * `directIo: false` keeps every write in the page cache (`transport.direct_io: false`);
   * `cacheBytes` bounds the copies of small blobs held in memory (`transport.cache_size`);
   * `loopWrites: false` makes every buffered write on the thread pool (loop-writes.ts).
   */
  static async open(
    root: string,
    options: { directIo?: boolean; cacheBytes?: number; loopWrites?: boolean } = {},
  ): Promise<LocalBlobStore> {
    await fsp.mkdir(root, { recursive: true });
    const missing: string[] = [];
    for (let i = 0; i < SHARDS; i++) {
      const dir = join(root, shardName(i));
      try {
        await fsp.mkdir(dir);
        missing.push(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    if (missing.length > 0) await syncDir(root);
    const direct = options.directIo === false ? undefined : DirectIo.probe(root);
    return new LocalBlobStore(
      root,
      direct,
      options.cacheBytes ?? DEFAULT_CACHE_BYTES,
      options.loopWrites ?? true,
    );
  }

  get directIo(): { written: number; read: number } | undefined {
    return this.direct?.bytes;
  }

  pathOf(blob: bigint): string {
    return join(this.root, shardName(Number(blob & 0xffn)), blob.toString(16).padStart(12, '0'));
  }

  /**
   * The blob's cached descriptor, opened on a miss. `create` makes a missing blob; `likelyNew`
   * (a file with no committed bytes) tries the exclusive create first, saving a failed open.
   */
  private async acquire(blob: bigint, create: boolean, likelyNew = false): Promise<OpenBlob | undefined> {
    const emptying = this.emptying.get(blob);
    if (emptying) await emptying.catch(() => {});
    const cached = this.open.get(blob);
    if (cached) {
      cached.refs++;
      // Re-insert to keep the map in least-recently-used order.
      this.open.delete(blob);
      this.open.set(blob, cached);
      return cached;
    }
    let pending = this.opening.get(blob);
    if (!pending) {
      pending = this.openFd(blob, create, likelyNew);
      this.opening.set(blob, pending);
      pending.finally(() => this.opening.delete(blob)).catch(() => {});
    }
    const entry = await pending;
    if (!entry && create) return this.acquire(blob, true);
    if (entry) {
      entry.refs++;
      if (!this.open.has(blob)) this.open.set(blob, entry);
    }
    this.evict();
    return entry;
  }

  private async openFd(blob: bigint, create: boolean, likelyNew: boolean): Promise<OpenBlob | undefined> {
    const path = this.pathOf(blob);
    if (create && likelyNew) {
      try {
        const fd = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
        this.unflushedNames.delete(blob);
        return { fd, refs: 0, size: 0, newEntry: true, unflushed: 0, epoch: 0, direct: false, landing: [] };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    try {
      const fd = await open(path, constants.O_RDWR);
      const st = await fstat(fd);
      return {
        fd,
        refs: 0,
        size: st.size,
        newEntry: this.unflushedNames.delete(blob),
        unflushed: 0,
        epoch: 0,
        direct: false,
        landing: [],
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !create) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    }
    const fd = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    const st = await fstat(fd);
    this.unflushedNames.delete(blob);
    return { fd, refs: 0, size: st.size, newEntry: true, unflushed: 0, epoch: 0, direct: false, landing: [] };
  }

  private release(entry: OpenBlob): void {
    entry.refs--;
  }

  private evict(): void {
    if (this.open.size <= MAX_OPEN) return;
    for (const [blob, e] of this.open) {
      if (this.open.size <= MAX_OPEN) break;
      this.closeIfIdle(blob, e);
    }
  }

  /**
   * Closes and forgets the blob's descriptor (and its copy in memory) unless it must stay: in
   * use, a new entry not yet synced, or a background flush's error that the next sync must
   * still report (a reopened descriptor would not see it).
   */
  private closeIfIdle(blob: bigint, e: OpenBlob): void {
    if (e.refs > 0 || e.flushError !== undefined) return;
    this.open.delete(blob);
    this.dropContent(e);
    closeEntry(e).catch(() => {});
    if (e.newEntry) this.rememberUnflushedName(blob);
  }

  /** Remembers a blob closed with its directory entry not flushed (UNFLUSHED_NAMES_MAX). */
  private rememberUnflushedName(blob: bigint): void {
    this.unflushedNames.set(blob, ++this.namesClosed);
    if (this.unflushedNames.size >= UNFLUSHED_NAMES_MAX) this.namesFlushing ??= this.flushNames();
  }

  /**
   * Flushes the folders of the remembered blobs, then forgets those closed before the flushes
   * began (one closed again since may have a new entry: emptied by a rename). A failure
   * forgets nothing; the next close tries again.
   */
  private async flushNames(): Promise<void> {
    try {
      while (this.unflushedNames.size >= UNFLUSHED_NAMES_MAX) {
        const upTo = this.namesClosed;
        const shards = new Set<number>();
        for (const blob of this.unflushedNames.keys()) shards.add(Number(blob & 0xffn));
        await Promise.all([...shards].map((i) => this.shardSync[i]!.sync()));
        for (const [blob, closed] of this.unflushedNames)
          if (closed <= upTo) this.unflushedNames.delete(blob);
      }
    } catch {
      // Remembered still: their syncs flush their folders.
    } finally {
      this.namesFlushing = undefined;
    }
  }

  /** How many blobs are remembered as closed with their directory entry not flushed. */
  get unflushedNameCount(): number {
    return this.unflushedNames.size;
  }

  /**
   * The blob's bytes from memory, read whole on the first call, when it is small enough: on
   * the event loop up to SYNC_READ_MAX, on the thread pool above (one read for all callers).
   */
  private content(e: OpenBlob): Buffer | Promise<Buffer | undefined> | undefined {
    if (e.content) {
      this.smallFiles.hits++;
      return e.content;
    }
    const size = e.size;
    if (size > CONTENT_CACHE_MAX_BLOB || size > this.cacheBytes) return undefined;
    if (size > SYNC_READ_MAX) {
      e.filling ??= this.fill(e);
      return e.filling;
    }
    const buf = Buffer.allocUnsafe(size);
    if (readFullySync(e.fd, buf, 0) < size) return undefined;
    this.keep(e, buf);
    return buf;
  }

  /** Reads the blob whole on the thread pool; kept unless it changed meanwhile. */
  private async fill(e: OpenBlob): Promise<Buffer | undefined> {
    const epoch = e.epoch;
    try {
      const buf = Buffer.allocUnsafe(e.size);
      if ((await preadFully(e.fd, buf, 0)) < buf.length || e.epoch !== epoch || e.size !== buf.length)
        return undefined;
      this.keep(e, buf);
      return buf;
    } finally {
      e.filling = undefined;
    }
  }

  /** Holds `buf` as the blob's copy, dropping the least recently used copies to make room. */
  private keep(e: OpenBlob, buf: Buffer): void {
    this.smallFiles.misses++;
    if (e.content) return;
    if (this.smallFiles.bytes + buf.length > this.cacheBytes) {
      for (const other of this.open.values()) {
        if (other !== e) this.dropContent(other);
        if (this.smallFiles.bytes + buf.length <= this.cacheBytes) break;
      }
    }
    if (this.smallFiles.bytes + buf.length > this.cacheBytes) return;
    e.content = buf;
    this.smallFiles.bytes += buf.length;
  }

  private dropContent(e: OpenBlob): void {
    e.epoch++;
    if (!e.content) return;
    this.smallFiles.bytes -= e.content.length;
    e.content = undefined;
  }

  /**
   * Another gateway node changed the blob (a data directory shared between nodes, told through
   * the metadata store's notifications): its copy in memory goes, and its idle descriptor too,
   * so the next read learns the size afresh. Of every blob without one.
   */
  invalidate(blob?: bigint): number {
    const forget = (b: bigint, e: OpenBlob): number => {
      const held = e.content === undefined ? 0 : 1;
      this.dropContent(e);
      this.closeIfIdle(b, e);
      return held;
    };
    if (blob !== undefined) {
      const e = this.open.get(blob);
      return e ? forget(blob, e) : 0;
    }
    let held = 0;
    for (const [b, e] of [...this.open]) held += forget(b, e);
    return held;
  }

  /** Every blob with an open entry: its copy in memory, or the size its descriptor was last known at. */
  heldBlobs(): bigint[] {
    return [...this.open.keys()];
  }

  /**
   * Up to `target.length` bytes at `offset` (never past the size this process knows), from the
   * copy in memory or the file; the number of bytes read. The copy is copied out: the caller
   * owns its buffer and may change it, the held bytes may not.
   */
  private readAt(e: OpenBlob, offset: number, target: Buffer): Promise<number> | number {
    const avail = Math.max(0, Math.min(target.length, e.size - offset));
    if (avail === 0) return 0;
    if (e.direct && this.direct && e.directFd) return this.readDirect(e, e.directFd, offset, target, avail);
    const copyOut = (content: Buffer | undefined): Promise<number> | number => {
      if (!content) return preadFully(e.fd, target.subarray(0, avail), offset);
      const held = content.subarray(offset, offset + avail);
      copyInto(target, 0, held);
      return held.length;
    };
    const content = this.content(e);
    return content instanceof Promise ? content.then(copyOut) : copyOut(content);
  }

  /** A large read of a blob written directly, direct too where it suits; buffered otherwise. */
  private async readDirect(
    e: OpenBlob,
    directFd: Promise<number>,
    offset: number,
    target: Buffer,
    avail: number,
  ): Promise<number> {
    const fd = await directFd;
    const n = fd < 0 ? undefined : await this.direct!.read(fd, offset, target.subarray(0, avail), e.size);
    if (n === undefined) return preadFully(e.fd, target.subarray(0, avail), offset);
    // Once a reader has gone to the end, the file is read through the page cache again: a file
    // read once after its upload (a copy, a check) streams from the disk, one read again and
    // again gets cached.
    if (offset + n >= e.size) e.direct = false;
    return n;
  }

  read(blob: bigint, offset: number, length: number): Promise<Buffer> {
    return this.readBytes(blob, offset, length, false);
  }

  /**
   * Up to `length` bytes at `offset`, for a caller that never changes them: the held copy of
   * a small blob itself (no copy made), a new buffer otherwise.
   */
  readShared(blob: bigint, offset: number, length: number): Promise<Buffer> {
    return this.readBytes(blob, offset, length, true);
  }

  private async readBytes(blob: bigint, offset: number, length: number, shared: boolean): Promise<Buffer> {
    const e = await this.acquire(blob, false);
    if (!e) return Buffer.alloc(0);
    try {
      if (e.landing.length > 0) await landed(e, offset, offset + length);
      const avail = Math.max(0, Math.min(length, e.size - offset));
      if (avail === 0) return Buffer.alloc(0);
      const content = shared && !(e.direct && this.direct && e.directFd) ? await this.content(e) : undefined;
      if (content) return content.subarray(offset, offset + avail);
      const buf = Buffer.allocUnsafe(avail);
      const got = await this.readAt(e, offset, buf);
      return got === avail ? buf : buf.subarray(0, got);
    } finally {
      this.release(e);
    }
  }

  async readInto(blob: bigint, offset: number, target: Buffer): Promise<number> {
    const e = await this.acquire(blob, false);
    if (!e) return 0;
    try {
      if (e.landing.length > 0) await landed(e, offset, offset + target.length);
      return await this.readAt(e, offset, target);
    } finally {
      this.release(e);
    }
  }

  async write(blob: bigint, offset: number, data: Buffer): Promise<void> {
    const e = (await this.acquire(blob, true))!;
    try {
      // Dropped before (a read meanwhile may cache part old, part new bytes) and after.
      this.dropContent(e);
      // Earlier answered writes of these bytes land first, or this one could be overwritten.
      if (e.landing.length > 0) await landed(e, offset, offset + data.length);
      if (await this.writeDirect(blob, e, offset, data)) {
        // Nothing dirty in the page cache: sync() still flushes the disk's cache and the
        // file's size and extents, which are all a write-behind would have left.
        e.size = Math.max(e.size, offset + data.length);
        // A read while this write was being staged may have kept the small file it was.
        this.dropContent(e);
        return;
      }
      if (this.loopWrites.suits(offset, data.length, e.size))
        this.loopWrites.run(() => writeFully(e.fd, data, offset));
      else {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await pwrite(e.fd, data, done, data.length - done, offset + done);
          done += bytesWritten;
        }
      }
      e.size = Math.max(e.size, offset + data.length);
      this.dropContent(e);
      e.unflushed += data.length;
      if (e.unflushed >= WRITE_BEHIND_BYTES && !e.flushing) this.writeBehind(e);
    } finally {
      this.release(e);
    }
  }

  /**
   * A large aligned write past the page cache (direct-io.ts), answered once its bytes are in
   * one of the store's buffers, as a buffered write is once they are in the page cache: the
   * disk write goes on behind it (`landing`), and sync() waits for it and reports its error.
   * False when the write does not suit.
   */
  private async writeDirect(blob: bigint, e: OpenBlob, offset: number, data: Buffer): Promise<boolean> {
    const direct = this.direct;
    if (!direct || !DirectIo.suits(offset, data.length)) return false;
    e.directFd ??= DirectIo.open(this.pathOf(blob)).catch(() => -1);
    const fd = await e.directFd;
    if (fd < 0) return false;
    const staged = await direct.stage(data);
    e.direct = true;
    e.refs++;
    const landing: Landing = { start: offset, end: offset + data.length, done: Promise.resolve() };
    landing.done = direct
      .land(fd, e.fd, offset, staged)
      .catch((err: unknown) => {
        e.flushError ??= err;
      })
      .finally(() => {
        e.landing.splice(e.landing.indexOf(landing), 1);
        this.release(e);
      });
    e.landing.push(landing);
    return true;
  }

  /** Starts a background flush of what `e` holds; it keeps the descriptor open until done. */
  private writeBehind(e: OpenBlob): void {
    e.unflushed = 0;
    e.refs++;
    this.writeBehindFlushes++;
    e.flushing = fdatasync(e.fd)
      .catch((err: unknown) => {
        e.flushError ??= err;
      })
      .finally(() => {
        e.flushing = undefined;
        this.release(e);
      });
  }

  async sync(blob: bigint): Promise<void> {
    const e = await this.acquire(blob, false);
    if (!e) return;
    try {
      await landed(e);
      if (e.flushing) await e.flushing;
      if (e.flushError !== undefined) {
        const err = e.flushError;
        e.flushError = undefined;
        throw err;
      }
      e.unflushed = 0;
      // The bytes and the directory entry naming them are independent flushes: run both at once.
      if (e.newEntry) {
        await Promise.all([fdatasync(e.fd), this.shardSync[Number(blob & 0xffn)]!.sync()]);
        e.newEntry = false;
      } else {
        await fdatasync(e.fd);
      }
    } finally {
      this.release(e);
    }
  }

  async truncate(blob: bigint, size: number): Promise<void> {
    const e = await this.acquire(blob, false);
    if (!e) return;
    try {
      await landed(e);
      this.dropContent(e);
      // Only while nothing else uses the descriptor; later users wait for the new one.
      if (size === 0 && e.size >= EMPTY_BY_RENAME_BYTES && e.refs === 1 && !this.emptying.has(blob)) {
        const done = this.emptyByRename(blob, e);
        this.emptying.set(blob, done);
        try {
          await done;
        } finally {
          this.emptying.delete(blob);
        }
      } else {
        await ftruncate(e.fd, size);
      }
      e.size = size;
      this.dropContent(e);
    } finally {
      this.release(e);
    }
  }

  /** Gives the blob's name to a new, empty file and closes the old one in the background. */
  private async emptyByRename(blob: bigint, e: OpenBlob): Promise<void> {
    // No write-behind flush runs (it holds a reference); one that failed did so on bytes gone now.
    e.flushError = undefined;
    const path = this.pathOf(blob);
    const spare = `${path}.empty`;
    const fd = await open(spare, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      await rename(spare, path);
    } catch (err) {
      await close(fd).catch(() => {});
      await fsp.unlink(spare).catch(() => {});
      throw err;
    }
    const old = { fd: e.fd, directFd: e.directFd };
    e.fd = fd;
    e.directFd = undefined;
    e.direct = false;
    e.unflushed = 0;
    // The name now names another file: its directory entry is flushed with the next sync().
    e.newEntry = true;
    closeEntry(old).catch(() => {});
  }

  async prepareWrite(blob: bigint, committedSize: number): Promise<void> {
    const e = (await this.acquire(blob, true, committedSize === 0))!;
    try {
      await landed(e);
      if (e.size > committedSize) {
        this.dropContent(e);
        await ftruncate(e.fd, committedSize);
        e.size = committedSize;
        this.dropContent(e);
      }
    } finally {
      this.release(e);
    }
  }

  async physicalSize(blob: bigint): Promise<number | undefined> {
    const e = await this.acquire(blob, false);
    if (!e) return undefined;
    this.release(e);
    return e.size;
  }

  async remove(blobs: readonly bigint[]): Promise<void> {
    for (const blob of blobs) {
      this.unflushedNames.delete(blob);
      // A blob being created (the namespace readies a new file's blob without waiting) is
      // removed once it exists, or the creation would leave it behind; one being emptied, once
      // its new file has the name.
      await this.opening.get(blob)?.catch(() => {});
      await this.emptying.get(blob)?.catch(() => {});
      const e = this.open.get(blob);
      if (e) {
        this.open.delete(blob);
        this.dropContent(e);
        // Not onto closed descriptors (whose numbers the next open may take).
        await landed(e);
        await closeEntry(e).catch(() => {});
      }
      await fsp.unlink(this.pathOf(blob)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  async probe(): Promise<void> {
    // A name of its own per probe: one that hung on the disk and ends late must not remove the
    // file of the probe after it (an ENOENT that kept the circuit open another reset_timeout).
    const path = join(this.root, `.probe-${process.pid}-${++this.probes}`);
    const payload = Buffer.from(`probe ${Date.now()}`);
    await fsp.writeFile(path, payload);
    const back = await fsp.readFile(path);
    await fsp.unlink(path);
    if (!back.equals(payload)) throw new Error('data directory returned different bytes than written');
  }

  async *listBlobs(): AsyncIterable<bigint> {
    for (let i = 0; i < SHARDS; i++) {
      let names: string[];
      try {
        names = await fsp.readdir(join(this.root, shardName(i)));
      } catch {
        continue;
      }
      for (const n of names) if (/^[0-9a-f]+$/.test(n)) yield BigInt(`0x${n}`);
    }
  }

  async capacity(): Promise<{ totalBytes: bigint; freeBytes: bigint; availBytes: bigint }> {
    const s = await fsp.statfs(this.root, { bigint: true });
    return { totalBytes: s.blocks * s.bsize, freeBytes: s.bfree * s.bsize, availBytes: s.bavail * s.bsize };
  }

  async close(): Promise<void> {
    // Its folder flushes use the shard descriptors closed below.
    await this.namesFlushing;
    const all = [...this.open.values()];
    await Promise.all(all.map((e) => landed(e)));
    this.open.clear();
    for (const e of all) this.dropContent(e);
    const shards = this.shardFds.splice(0);
    await Promise.all([
      ...all.map((e) => closeEntry(e).catch(() => {})),
      ...shards.map((fd) => fd?.then(close).catch(() => {})),
    ]);
  }
}

/**
 * Resolves once the blob's answered direct writes that overlap [start, end) are on disk (or
 * failed, kept in flushError); without a range, all of them, including ones started meanwhile.
 */
async function landed(e: OpenBlob, start = 0, end = Number.MAX_SAFE_INTEGER): Promise<void> {
  for (;;) {
    const overlapping = e.landing.filter((l) => l.start < end && start < l.end);
    if (overlapping.length === 0) return;
    await Promise.all(overlapping.map((l) => l.done));
  }
}

/** Closes a blob's descriptors. */
async function closeEntry(e: Pick<OpenBlob, 'fd' | 'directFd'>): Promise<void> {
  try {
    await close(e.fd);
  } finally {
    const fd = e.directFd ? await e.directFd : -1;
    if (fd >= 0) await close(fd);
  }
}

/** Fills `buf` from `offset` unless the file ends first; the number of bytes read. */
async function preadFully(fd: number, buf: Buffer, offset: number): Promise<number> {
  if (buf.length <= SYNC_READ_MAX) return readFullySync(fd, buf, offset);
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await pread(fd, buf, got, buf.length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** preadFully on the event loop (small reads: see SYNC_READ_MAX). */
function readFullySync(fd: number, buf: Buffer, offset: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function shardName(i: number): string {
  return i.toString(16).padStart(2, '0');
}

async function syncDir(dir: string): Promise<void> {
  const fd = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}

/** All of `data` at `offset`, on the event loop (loop-writes.ts says which writes). */
function writeFully(fd: number, data: Buffer, offset: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
}

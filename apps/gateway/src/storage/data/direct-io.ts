import * as fs from 'node:fs';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copyInto } from '../../util/copy-into.ts';

const pread = promisify(fs.read);
const pwrite = promisify(fs.write);
const openFile = promisify(fs.open);

/**
 * Direct I/O (O_DIRECT) for the local blob store's large writes (and large reads of what was
 * written so): the bytes go between an aligned buffer of ours and the disk, past the page cache.
 *
 * Why: the gateway's writes are durable (COMMIT, SMB CLOSE/FLUSH and the end of an S3 upload
 * wait for the disk), so a buffered write pays twice — once to copy into page-cache memory the
 * kernel must find, once to write it back. On this machine's VM, page-cache memory idle for a
 * few seconds goes back to the host and costs ~9 µs a page to get back: 1 GiB of buffered
 * writes took 2.5 s, the same bytes written directly and made durable 0.35–0.45 s. MinIO writes
 * large objects the same way.
 *
 * O_DIRECT wants the buffer's address, the file offset and the length aligned to the device's
 * logical block, and runs far faster when the buffer starts on a memory page: a disk with
 * 512-byte blocks (this VM's virtio disk) takes a buffer 512 bytes past a page, but every 8 MiB
 * write then spans 2,049 pages and ran at 100 MB/s where `dd oflag=direct` ran 400. Node gives
 * no aligned allocation and no buffer addresses, so the bounce buffers are carved from a shared
 * WebAssembly memory, which V8 maps page by page (it starts on a page; an ordinary
 * SharedArrayBuffer comes from malloc, 16 bytes past one). Each large write is copied into one
 * of them. A probe checks that the kernel takes a 4 KiB direct write from the start (and, were
 * an engine ever to place it otherwise, finds the first 8-byte step it takes). File systems
 * without O_DIRECT (tmpfs before Linux 6.6, some FUSE and network file systems) answer the
 * probe's open with EINVAL, and the store then writes everything through the page cache.
 */

/** Writes from this size up (and aligned) go direct; smaller ones are cheaper buffered. */
export const DIRECT_MIN = 4 * 1024 * 1024;
/** Reads from this size up (and aligned) of a blob written directly go direct too. */
export const DIRECT_READ_MIN = 1024 * 1024;
/** The largest direct write or read: the size of one bounce buffer (SMB's largest I/O). */
export const DIRECT_MAX = 8 * 1024 * 1024;
/** Offsets and lengths are multiples of this (a 4 KiB page: every disk's logical block divides it). */
export const DIRECT_ALIGN = 4096;
/** Bounce buffers: two large SMB writes in flight per client, for two clients at once. */
const BOUNCES = 4;

const WASM_PAGE = 64 * 1024;

/** Shared memory starting on a memory page (see above); `bytes` is a multiple of 64 KiB. */
function pageAlignedMemory(bytes: number): SharedArrayBuffer {
  const pages = bytes / WASM_PAGE;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  return memory.buffer as unknown as SharedArrayBuffer;
}

export class DirectIo {
  private readonly free: Buffer[];
  /** Writers waiting for a bounce buffer, first come first served. */
  private readonly waiting: Array<(bounce: Buffer) => void> = [];
  /** Bytes written and read past the page cache (gateway_direct_io_bytes_total). */
  readonly bytes = { written: 0, read: 0 };

  /**
   * Where the bounce buffers start in their memory: 0 (a page) unless an engine ever placed
   * WebAssembly memory otherwise (then the first offset the kernel takes).
   */
  readonly start: number;

  private constructor(memory: SharedArrayBuffer, start: number) {
    this.start = start;
    this.free = [];
    for (let i = 0; i < BOUNCES; i++) {
      this.free.push(Buffer.from(memory, start + i * DIRECT_MAX, DIRECT_MAX));
    }
  }

  /**
   * Direct I/O for files under `dir`, or undefined when its file system has none (or the probe
   * finds no aligned offset, which would be a new kind of allocator: then buffered, as before).
   */
  static probe(dir: string): DirectIo | undefined {
    const memory = pageAlignedMemory(BOUNCES * DIRECT_MAX + WASM_PAGE);
    const path = join(dir, `.direct-probe-${process.pid}`);
    let fd: number;
    try {
      fd = fs.openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600);
    } catch {
      fs.rmSync(path, { force: true });
      return undefined;
    }
    try {
      // The start, or else the first 8-byte step within one page that the kernel takes.
      for (let start = 0; start < DIRECT_ALIGN; start += 8) {
        try {
          fs.writeSync(fd, Buffer.from(memory, start, DIRECT_ALIGN), 0, DIRECT_ALIGN, 0);
          return new DirectIo(memory, start);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EINVAL') return undefined;
        }
      }
      return undefined;
    } finally {
      fs.closeSync(fd);
      fs.rmSync(path, { force: true });
    }
  }

  /** Whether a write of `length` bytes at `offset` can go direct. */
  static suits(offset: number, length: number): boolean {
    return (
      length >= DIRECT_MIN &&
      length <= DIRECT_MAX &&
      offset % DIRECT_ALIGN === 0 &&
      length % DIRECT_ALIGN === 0
    );
  }

  /** Opens `path` for direct I/O (the blob's second descriptor, beside its buffered one). */
  static open(path: string): Promise<number> {
    return openFile(path, constants.O_RDWR | constants.O_DIRECT);
  }

  /**
   * Copies `data` into a bounce buffer, waiting for one to be free (in order of asking): from
   * here the bytes are the gateway's own, and the caller may reuse `data`.
   */
  async stage(data: Buffer): Promise<Buffer> {
    const bounce = this.free.pop() ?? (await new Promise<Buffer>((resolve) => this.waiting.push(resolve)));
    copyInto(bounce, 0, data);
    return bounce.subarray(0, data.length);
  }

  /**
   * Writes a staged buffer at `offset` through `fd` (opened by open()), then frees the buffer.
   * Where the kernel refuses the alignment (a file system stricter than the probe) the bytes
   * go through `bufferedFd` instead; any other error (ENOSPC, EIO) is the caller's.
   */
  async land(fd: number, bufferedFd: number, offset: number, staged: Buffer): Promise<void> {
    try {
      let done = 0;
      while (done < staged.length) {
        try {
          done += (await pwrite(fd, staged, done, staged.length - done, offset + done)).bytesWritten;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
          done += (await pwrite(bufferedFd, staged, done, staged.length - done, offset + done)).bytesWritten;
        }
      }
      this.bytes.written += staged.length;
    } finally {
      this.giveBack(Buffer.from(staged.buffer, staged.byteOffset, DIRECT_MAX));
    }
  }

  private giveBack(bounce: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(bounce);
    else this.free.push(bounce);
  }

  /**
   * Reads up to `target.length` bytes at `offset` (aligned) through `fd` into `target`, stopping
   * where the file ends (`size`); undefined, having read nothing, when every bounce buffer is
   * in use or the read does not suit (the caller reads buffered).
   */
  async read(fd: number, offset: number, target: Buffer, size: number): Promise<number | undefined> {
    const want = Math.min(target.length, size - offset);
    if (want < DIRECT_READ_MIN || want > DIRECT_MAX || offset % DIRECT_ALIGN !== 0) return undefined;
    const bounce = this.free.pop();
    if (!bounce) return undefined;
    try {
      const span = Math.ceil(want / DIRECT_ALIGN) * DIRECT_ALIGN;
      let got = 0;
      while (got < want) {
        const { bytesRead: n } = await pread(fd, bounce, got, span - got, offset + got);
        if (n === 0) break;
        // Short only where the file ends (sooner than `size` when another node cut it): the
        // next read, at an unaligned offset past the end, answers 0.
        got += n;
      }
      const n = Math.min(got, want);
      copyInto(target, 0, bounce.subarray(0, n));
      this.bytes.read += n;
      return n;
    } finally {
      this.giveBack(bounce);
    }
  }
}

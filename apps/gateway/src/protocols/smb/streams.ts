import { STREAM_CHUNK, streamChunkKey } from '../../storage/annotations.ts';
import type { Namespace } from '../../storage/namespace.ts';
import type { Credential } from '../../storage/types.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { upcase } from './upcase.ts';

/**
 * Named streams ("file:name:$DATA", MS-FSCC §2.1.4) live in the file's xattrs under
 * `stream.<name>` (STREAM_XATTR_PREFIX), as Samba's vfs_streams_xattr keeps them in
 * `user.DosStream.*`: Windows' Zone.Identifier, macOS's Finder info and resource forks, an
 * application's side data. They are kept in chunks of STREAM_CHUNK bytes (annotations.ts), so a
 * WRITE reads and rewrites only the chunks it touches, a READ reads only the ones it asks for,
 * and a write far past the end leaves a hole, as a sparse file does. The namespace reads them
 * one chunk at a time and never with the file's attributes, so listing a directory does not
 * load them. They go with the inode (a delete, an S3 overwrite, which makes a new one) and are
 * SMB's alone: NFS and S3 see the file's unnamed stream. Names ignore case and keep the case
 * they were created with.
 *
 * A stream holds at most STREAM_MAX bytes (NTFS sets none; the gateway keeps streams in its
 * metadata store, and a stream is renamed or copied in one transaction, in memory); a write
 * past it is STATUS_DISK_FULL.
 */
export const STREAM_MAX = 256 * 1024 * 1024;

const C = STREAM_CHUNK;
/** Index of the chunk that holds byte `at`. */
const chunkOf = (at: number) => Math.floor(at / C);
/** Index of a stream's last chunk (-1 for an empty stream: it is its chunk 0, empty). */
const lastChunk = (size: number) => (size === 0 ? -1 : chunkOf(size - 1));

export const sameStreamName = (a: string, b: string): boolean =>
  a.length === b.length && upcase(a) === upcase(b);

/** The stream of that name, whatever its case: its name as created and its size. */
export async function findStream(
  ns: Namespace,
  ino: bigint,
  name: string,
): Promise<{ name: string; size: number } | undefined> {
  return (await ns.listStreams(ino)).find((s) => sameStreamName(s.name, name));
}

/** The stream's size, from the store's listing (its bytes are not read); 0 once it is gone. */
export async function streamSize(ns: Namespace, ino: bigint, name: string): Promise<bigint> {
  return BigInt((await findStream(ns, ino, name))?.size ?? 0);
}

/**
 * Reads the stream's chunks one at a time. A stream written before chunks existed is one
 * attribute longer than a chunk (annotations.ts), read through the same view.
 */
class Chunks {
  private head: Buffer | undefined | null = null;

  constructor(
    private readonly ns: Namespace,
    private readonly ino: bigint,
    private readonly name: string,
  ) {}

  private async whole(): Promise<Buffer | undefined> {
    if (this.head === null) this.head = await this.ns.getXattr(this.ino, streamChunkKey(this.name, 0));
    return this.head;
  }

  /** True when the stream is still the one attribute of before chunks. */
  async unchunked(): Promise<boolean> {
    return ((await this.whole())?.length ?? 0) > C;
  }

  /**
   * True when a read so far found the stream still unchunked. Such a stream has no chunk but
   * its head, so reading any chunk of it has read the head.
   */
  seenUnchunked(): boolean {
    return (this.head?.length ?? 0) > C;
  }

  /** Chunk `k` as stored (undefined: a hole, which reads as zeros). */
  async get(k: number): Promise<Buffer | undefined> {
    if (k > 0) {
      const chunk = await this.ns.getXattr(this.ino, streamChunkKey(this.name, k));
      if (chunk || !(await this.unchunked())) return chunk;
    }
    const head = await this.whole();
    return head && head.length > C ? head.subarray(k * C, (k + 1) * C) : k === 0 ? head : undefined;
  }

  /** Bytes [from, from + length) of a stream of `size` bytes, holes as zeros. */
  async read(from: number, length: number, size: number): Promise<Buffer> {
    const end = Math.min(size, from + length);
    if (from >= end) return Buffer.alloc(0);
    const out = Buffer.alloc(end - from);
    for (let k = chunkOf(from); k <= chunkOf(end - 1); k++) {
      const chunk = await this.get(k);
      if (!chunk) continue;
      const at = Math.max(from - k * C, 0);
      chunk.copy(out, k * C + at - from, at, Math.min(chunk.length, end - k * C));
    }
    return out;
  }

  /** The whole stream's chunks as attribute values (all of them: a rename or a copy takes them). */
  async all(size: number, name = this.name): Promise<Record<string, Buffer>> {
    const values: Record<string, Buffer> = {};
    for (let k = 0; k <= lastChunk(size); k++) {
      const chunk = await this.get(k);
      if (chunk) values[streamChunkKey(name, k)] = Buffer.from(chunk);
    }
    if (size === 0) values[streamChunkKey(name, 0)] = Buffer.alloc(0);
    return values;
  }
}

/** Attribute changes that remove every chunk of a stream of `size` bytes. */
function removal(name: string, size: number): Record<string, undefined> {
  const values: Record<string, undefined> = {};
  for (let k = 0; k <= Math.max(lastChunk(size), 0); k++) values[streamChunkKey(name, k)] = undefined;
  return values;
}

/** Attribute values that hold `data` as stream `name`, from chunk 0. */
function chunked(name: string, data: Buffer): Record<string, Buffer> {
  const values: Record<string, Buffer> = { [streamChunkKey(name, 0)]: data.subarray(0, C) };
  for (let k = 1; k <= lastChunk(data.length); k++)
    values[streamChunkKey(name, k)] = data.subarray(k * C, (k + 1) * C);
  return values;
}

/** Bytes [offset, offset + length) of the stream, as many as there are (none past its end). */
export async function readStream(
  ns: Namespace,
  ino: bigint,
  name: string,
  offset: bigint,
  length: number,
): Promise<Buffer> {
  const size = await streamSize(ns, ino, name);
  if (offset >= size) return Buffer.alloc(0);
  return new Chunks(ns, ino, name).read(Number(offset), length, Number(size));
}

function checkSize(size: bigint, name: string): number {
  if (size > BigInt(STREAM_MAX))
    throw new SmbError(
      NT_STATUS.STATUS_DISK_FULL,
      `named stream ${name} would hold ${size} bytes, over the ${STREAM_MAX} a named stream holds`,
    );
  return Number(size);
}

/** Sets the stream's bytes, creating it or replacing what it held. */
export async function putStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  name: string,
  data: Buffer,
): Promise<void> {
  checkSize(BigInt(data.length), name);
  const old = await findStream(ns, ino, name);
  await ns.setXattrs(cred, ino, {
    ...(old ? removal(old.name, old.size) : {}),
    ...chunked(name, data),
  });
}

/** Per namespace, the last read-modify-write of each stream (`ino:NAME`) still running. */
const rewrites = new WeakMap<Namespace, Map<string, Promise<void>>>();

/**
 * Runs a read-modify-write of a stream after the ones before it: a client's WRITEs in flight
 * together (smbclient and Windows keep several outstanding) would otherwise each rewrite the
 * stream from the same old bytes, and all but the last would be lost.
 */
function rewrite(ns: Namespace, ino: bigint, name: string, change: () => Promise<void>): Promise<void> {
  let byStream = rewrites.get(ns);
  if (!byStream) {
    byStream = new Map();
    rewrites.set(ns, byStream);
  }
  const key = `${ino}:${upcase(name)}`;
  const done = (byStream.get(key) ?? Promise.resolve()).then(change, change);
  const tail = done.catch(() => undefined);
  byStream.set(key, tail);
  void tail.then(() => {
    if (byStream.get(key) === tail) byStream.delete(key);
  });
  return done;
}

/**
 * The attribute changes that cut the stream into chunks, when the chunks read for a change
 * found it still the one attribute of before chunks (annotations.ts); nothing otherwise.
 */
async function rechunk(
  chunks: Chunks,
  name: string,
  size: () => Promise<number>,
): Promise<Record<string, Buffer>> {
  return chunks.seenUnchunked() ? chunks.all(await size(), name) : {};
}

/** Writes `bytes` at `offset`, the gap before them (if any) a hole; writing nothing extends nothing. */
export async function writeStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  name: string,
  offset: bigint,
  bytes: Buffer,
): Promise<void> {
  const end = checkSize(offset + BigInt(bytes.length), name);
  if (bytes.length === 0) return;
  const from = Number(offset);
  await rewrite(ns, ino, name, async () => {
    const chunks = new Chunks(ns, ino, name);
    const values: Record<string, Buffer> = {};
    for (let k = chunkOf(from); k <= chunkOf(end - 1); k++) {
      const key = streamChunkKey(name, k);
      const now = (await chunks.get(k)) ?? Buffer.alloc(0);
      const next = Buffer.alloc(Math.max(now.length, Math.min(C, end - k * C)));
      now.copy(next);
      const at = Math.max(from - k * C, 0);
      bytes.copy(next, at, k * C + at - from, Math.min(bytes.length, (k + 1) * C - from));
      values[key] = next;
    }
    const size = async () => Number(await streamSize(ns, ino, name));
    await ns.setXattrs(cred, ino, { ...(await rechunk(chunks, name, size)), ...values });
  });
}

/** Cuts or extends (with zeros) the stream to `size` bytes. */
export async function resizeStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  name: string,
  size: bigint,
): Promise<void> {
  const n = checkSize(size, name);
  await rewrite(ns, ino, name, async () => {
    const chunks = new Chunks(ns, ino, name);
    const now = Number(await streamSize(ns, ino, name));
    if (now === n) return;
    const last = Math.max(lastChunk(n), 0);
    // The new last chunk is stored up to the new end, since that end is the stream's size.
    const held = (await chunks.get(last)) ?? Buffer.alloc(0);
    const next = Buffer.alloc(n - last * C);
    held.copy(next, 0, 0, Math.min(held.length, next.length));
    const values: Record<string, Buffer | undefined> = await rechunk(chunks, name, async () => now);
    for (let k = last + 1; k <= lastChunk(now); k++) values[streamChunkKey(name, k)] = undefined;
    values[streamChunkKey(name, last)] = next;
    await ns.setXattrs(cred, ino, values);
  });
}

export async function removeStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  name: string,
): Promise<void> {
  const s = await findStream(ns, ino, name);
  if (s) await ns.setXattrs(cred, ino, removal(s.name, s.size));
}

/** Removes every named stream: the unnamed one was overwritten (MS-FSA §2.1.5.1.2.1). */
export async function removeAllStreams(ns: Namespace, cred: Credential, ino: bigint): Promise<void> {
  const streams = await ns.listStreams(ino);
  if (streams.length > 0)
    await ns.setXattrs(cred, ino, Object.assign({}, ...streams.map((s) => removal(s.name, s.size))));
}

/** Moves a stream's bytes to another name (replacing a stream there) in one change. */
export async function renameStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  from: string,
  to: string,
  replaced: string | undefined,
): Promise<void> {
  const streams = await ns.listStreams(ino);
  const size = (name: string) => streams.find((s) => s.name === name)?.size ?? 0;
  await ns.setXattrs(cred, ino, {
    ...(replaced !== undefined ? removal(replaced, size(replaced)) : {}),
    ...removal(from, size(from)),
    ...(await new Chunks(ns, ino, from).all(size(from), to)),
  });
}

/** Copies every named stream of one file to another (whose own are replaced by the same names). */
export async function copyStreams(
  ns: Namespace,
  cred: Credential,
  source: bigint,
  target: bigint,
): Promise<void> {
  const there = await ns.listStreams(target);
  for (const s of await ns.listStreams(source)) {
    const old = there.find((t) => sameStreamName(t.name, s.name));
    await ns.setXattrs(cred, target, {
      ...(old ? removal(old.name, old.size) : {}),
      ...(await new Chunks(ns, source, s.name).all(s.size)),
    });
  }
}

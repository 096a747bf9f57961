import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Namespace } from '../../storage/namespace.ts';
import type { Attributes, Credential } from '../../storage/types.ts';
import { fromFsError, S3Error } from './deps.ts';
import { PART_PURPOSE } from './multipart/store.ts';
import { FILE_MODE } from './objects.ts';

/** Largest object a single PUT (or one part) may carry. */
export const MAX_PUT_BYTES = 5n * 1024n * 1024n * 1024n;
/** Bytes gathered before one namespace write: few metadata transactions, bounded memory. */
const WRITE_BUFFER = 1024 * 1024;

/** The object size a write request declares, or MissingContentLength / EntityTooLarge. */
export function declaredLength(h: IncomingHttpHeaders): bigint {
  const decoded = h['x-amz-decoded-content-length'];
  const raw = typeof decoded === 'string' ? decoded : h['content-length'];
  if (raw === undefined) {
    throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  if (!/^\d{1,19}$/.test(String(raw)))
    throw new S3Error('InvalidArgument', 'Content-Length is not a number.', {
      ArgumentName: 'Content-Length',
    });
  const n = BigInt(String(raw));
  if (n > MAX_PUT_BYTES) {
    throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
      ProposedSize: String(n),
      MaxSizeAllowed: String(MAX_PUT_BYTES),
    });
  }
  return n;
}

export interface WrittenAside {
  attrs: Attributes;
  size: bigint;
}

/**
 * Writes a byte stream into a new detached file (in no directory, invisible) and makes it
 * durable. Any failure — the body verifier rejecting, the client going away, a quota refusal —
 * removes the file, so nothing partial remains; a crash leaves it to the namespace's start-up
 * clean-up (purpose 'upload') or to the multipart sweep.
 */
export async function writeAside(
  ns: Namespace,
  cred: Credential,
  source: AsyncIterable<Buffer>,
  purpose: string,
  owner: string | null = null,
  expected?: bigint,
): Promise<WrittenAside> {
  // A small object (a part never: a completed upload refers to its parts' blobs) is gathered
  // whole and created with its bytes in one transaction; a body the verifier refuses creates
  // nothing.
  if (purpose !== PART_PURPOSE && expected !== undefined && ns.fitsInline(expected)) {
    const content = await gather(source, expected);
    try {
      return { attrs: await ns.createDetachedWith(cred, FILE_MODE, purpose, owner, content), size: expected };
    } catch (e) {
      throw fromFsError(e);
    }
  }
  let attrs: Attributes;
  try {
    attrs = await ns.createDetached(cred, FILE_MODE, purpose, owner);
  } catch (e) {
    throw fromFsError(e);
  }
  const ino = attrs.ino;
  try {
    let pos = 0n;
    // One buffer for the whole upload: each flush has finished with it when it resolves.
    const buf = Buffer.allocUnsafe(WRITE_BUFFER);
    let fill = 0;
    const flush = async () => {
      if (fill === 0) return;
      await ns.write(cred, ino, pos, fill === buf.length ? buf : buf.subarray(0, fill), 'unstable');
      pos += BigInt(fill);
      fill = 0;
    };
    for await (const chunk of source) {
      if (pos + BigInt(fill + chunk.length) > MAX_PUT_BYTES) {
        throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
      }
      if (fill === 0 && chunk.length >= WRITE_BUFFER) {
        await ns.write(cred, ino, pos, chunk, 'unstable');
        pos += BigInt(chunk.length);
        continue;
      }
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(chunk.length - at, buf.length - fill);
        chunk.copy(buf, fill, at, at + n);
        fill += n;
        at += n;
        if (fill === buf.length) await flush();
      }
    }
    await flush();
    if (expected !== undefined && pos !== expected) throw incompleteBody();
    // The bytes on disk; their size reaches it with the link or part record that follows.
    await ns.commitData(ino);
    return { attrs: await ns.getattr(ino), size: pos };
  } catch (e) {
    await ns.removeDetached(ino).catch(() => {});
    throw fromFsError(e);
  }
}

/** A body of `expected` bytes (small: it fits inline), or IncompleteBody. */
async function gather(source: AsyncIterable<Buffer>, expected: bigint): Promise<Buffer> {
  const content = Buffer.allocUnsafe(Number(expected));
  let fill = 0;
  for await (const chunk of source) {
    if (fill + chunk.length > content.length) throw incompleteBody();
    chunk.copy(content, fill);
    fill += chunk.length;
  }
  if (fill !== content.length) throw incompleteBody();
  return content;
}

function incompleteBody(): S3Error {
  return new S3Error(
    'IncompleteBody',
    'You did not provide the number of bytes specified by the Content-Length HTTP header.',
  );
}

/**
 * Streams [start, end] (inclusive) of a file in chunks, reading only as fast as it is sent. The
 * file is held for the stream (Namespace.holdForReading): replaced or deleted meanwhile, it is
 * still the one sent, whole.
 */
export function readStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  start: bigint,
  end: bigint,
  chunk = 1024 * 1024,
): Readable {
  let pos = start;
  const release = ns.holdForReading(ino);
  const stream = new Readable({
    highWaterMark: chunk,
    read() {
      if (pos > end) {
        this.push(null);
        return;
      }
      const n = end - pos + 1n < BigInt(chunk) ? Number(end - pos + 1n) : chunk;
      ns.read(cred, ino, pos, n).then(
        ({ data }) => {
          if (data.length === 0) {
            // The file shrank under the reader: the promised length cannot be kept.
            this.destroy(new Error('object changed while being read'));
            return;
          }
          pos += BigInt(data.length);
          this.push(data);
        },
        (e: unknown) => this.destroy(e as Error),
      );
    },
  });
  stream.once('close', release);
  return stream;
}

/** A file's bytes [start, end] as chunks (for copies), without a stream in between. */
export async function* fileChunks(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  start: bigint,
  end: bigint,
): AsyncGenerator<Buffer> {
  const CHUNK = 4 * 1024 * 1024;
  for (let pos = start; pos <= end; ) {
    const n = end - pos + 1n < BigInt(CHUNK) ? Number(end - pos + 1n) : CHUNK;
    const { data } = await ns.read(cred, ino, pos, n);
    if (data.length === 0)
      throw new S3Error('InternalError', 'The source object changed while being copied.');
    pos += BigInt(data.length);
    yield data;
  }
}

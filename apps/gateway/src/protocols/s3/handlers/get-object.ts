import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { parseRange } from '../range.ts';
import { readStream } from '../upload.ts';
import { openObject, type ReadableObject } from './object-read.ts';

/**
 * Objects up to this size are read in one namespace call and sent as one buffer: the
 * namespace's own copy where it holds one (`shared`), which the response never changes.
 */
const SMALL_OBJECT = 1024 * 1024;

/**
 * The status and span a GET or HEAD answers for the request's Range (206 with Content-Range,
 * or 200 for the whole object), with Content-Length set; InvalidRange (416) past the end.
 */
export function ranged(
  o: ReadableObject,
  header: string | undefined,
): { status: number; start: bigint; end: bigint } {
  const range = parseRange(header, o.size);
  const [status, start, end] = range ? [206, range.start, range.end] : [200, 0n, o.size - 1n];
  if (range) o.headers['content-range'] = `bytes ${start}-${end}/${o.size}`;
  o.headers['content-length'] = String(end - start + 1n);
  return { status, start, end };
}

/** GET /bucket/key — conditions (304/412), one byte range (206/416), response-* overrides. */
export async function getObject(call: S3Call): Promise<S3Reply> {
  const o = await openObject(call);
  if (o.notModified) return { status: 304, headers: o.headers };
  const { status, start, end } = ranged(o, call.headers.range);
  const length = end - start + 1n;
  // An empty Buffer, not '': a string body is an XML document to the sender (its Content-Type).
  if (length <= 0n) return { status, headers: o.headers, body: Buffer.alloc(0) };
  const { ns } = call.env;
  if (length <= BigInt(SMALL_OBJECT)) {
    const data =
      ns.cachedRead(call.cred, o.attrs.ino, start, Number(length)) ??
      (await ns.read(call.cred, o.attrs.ino, start, Number(length), { shared: true })).data;
    if (BigInt(data.length) !== length)
      throw new S3Error('InternalError', 'The object changed while being read; try again.');
    return { status, headers: o.headers, body: data };
  }
  return { status, headers: o.headers, body: readStream(ns, call.cred, o.attrs.ino, start, end) };
}

import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { type ByteRange, parseRange } from '../range.ts';
import { readStream } from '../upload.ts';
import { openObject, type ReadableObject } from './object-read.ts';

/**
 * Objects up to this size are read in one namespace call and sent as one buffer: the
 * namespace's own copy where it holds one (`shared`), which the response never changes.
 */
const SMALL_OBJECT = 1024 * 1024;

/**
 * The status and span a GET or HEAD answers for the request's Range or `?partNumber=` (206 with
 * Content-Range, or 200 for the whole object), with Content-Length set; 416 past the end.
 */
export function ranged(o: ReadableObject, call: S3Call): { status: number; start: bigint; end: bigint } {
  const part = call.query.get('partNumber');
  const range = part === undefined ? parseRange(call.headers.range, o.size) : partRange(o, Number(part));
  const [status, start, end] = range ? [206, range.start, range.end] : [200, 0n, o.size - 1n];
  if (range) o.headers['content-range'] = `bytes ${start}-${end}/${o.size}`;
  o.headers['content-length'] = String(end - start + 1n);
  return { status, start, end };
}

/**
 * The bytes of part `n` (1-based) of a completed multipart object, with the part count in
 * `x-amz-mp-parts-count`; any other object is one part, served whole (200). A part past the
 * last is InvalidPartNumber (416).
 */
function partRange(o: ReadableObject, n: number): ByteRange | undefined {
  const sizes = o.parts ?? [o.size];
  if (n > sizes.length) {
    throw new S3Error('InvalidPartNumber', 'The requested partnumber is not satisfiable', {
      PartNumberRequested: String(n),
      ActualPartCount: String(sizes.length),
    });
  }
  if (!o.parts) return undefined;
  o.headers['x-amz-mp-parts-count'] = String(sizes.length);
  let start = 0n;
  for (let i = 0; i < n - 1; i++) start += sizes[i]!;
  return { start, end: start + sizes[n - 1]! - 1n };
}

/** GET /bucket/key — conditions (304/412), one byte range (206/416), response-* overrides. */
export async function getObject(call: S3Call): Promise<S3Reply> {
  const o = await openObject(call);
  if (o.notModified) return { status: 304, headers: o.headers };
  const { status, start, end } = ranged(o, call);
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

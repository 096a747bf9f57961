import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { parseRange } from '../range.ts';
import { readStream } from '../upload.ts';
import { openObject } from './object-read.ts';

/**
 * Objects up to this size are read in one namespace call and sent as one buffer: the
 * namespace's own copy where it holds one (`shared`), which the response never changes.
 */
const SMALL_OBJECT = 1024 * 1024;

/** GET /bucket/key — conditions (304/412), one byte range (206/416), response-* overrides. */
export async function getObject(call: S3Call): Promise<S3Reply> {
  const o = await openObject(call);
  if (o.notModified) return { status: 304, headers: o.headers };
  const rangeHeader = call.headers.range;
  const range = parseRange(rangeHeader, o.size);
  let status = 200;
  let start = 0n;
  let end = o.size - 1n;
  if (range) {
    status = 206;
    start = range.start;
    end = range.end;
    o.headers['content-range'] = `bytes ${start}-${end}/${o.size}`;
  }
  const length = end - start + 1n;
  o.headers['content-length'] = String(length);
  if (length <= 0n) return { status, headers: o.headers, body: '' };
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

import { S3Error } from './deps.ts';

export interface ByteRange {
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

/**
 * RFC 9110 §14.1.2 for one range: `bytes=a-b`, `bytes=a-`, `bytes=-n`. Returns undefined when
 * the header is absent, malformed or asks for several ranges (S3 then serves the whole object);
 * InvalidRange (416) when the range cannot be satisfied.
 */
export function parseRange(header: string | undefined, size: bigint): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1]!.length > 19 || m[2]!.length > 19) return undefined;
  if (m[1] === '') {
    const n = BigInt(m[2]!);
    if (n === 0n || size === 0n) throw unsatisfiable(header, size);
    return { start: n >= size ? 0n : size - n, end: size - 1n };
  }
  const start = BigInt(m[1]!);
  const end = m[2] === '' ? size - 1n : BigInt(m[2]!);
  if (m[2] !== '' && end < start) return undefined;
  if (start >= size) throw unsatisfiable(header, size);
  return { start, end: end >= size ? size - 1n : end };
}

/** The range an UploadPartCopy asks for: `bytes=a-b` exactly, inside the source. */
export function parseCopyRange(header: string | undefined, size: bigint): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{1,19})-(\d{1,19})$/.exec(header.trim());
  if (!m)
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last.',
      { ArgumentName: 'x-amz-copy-source-range' },
    );
  const start = BigInt(m[1]!);
  const end = BigInt(m[2]!);
  if (end < start || end >= size) {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: header,
      ActualObjectSize: String(size),
    });
  }
  return { start, end };
}

/** 416 with a Content-Range of `bytes *\/size` (RFC 9110 §15.5.17) and S3's RangeRequested. */
function unsatisfiable(header: string, size: bigint): S3Error {
  return new S3Error(
    'InvalidRange',
    'The requested range is not satisfiable',
    { RangeRequested: header, ActualObjectSize: String(size) },
    { headers: { 'content-range': `bytes */${size}` } },
  );
}

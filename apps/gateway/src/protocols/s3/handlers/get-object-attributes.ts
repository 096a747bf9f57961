import { header, type S3Call, type S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { objectEtag } from '../etag.ts';
import { storedChecksum } from '../stored-checksum.ts';
import { doc, el } from '../xml.ts';
import { READ, targetObject } from './target-object.ts';

/** What GetObjectAttributes may be asked for (x-amz-object-attributes). */
const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
type Attribute = (typeof ATTRIBUTES)[number];

/** The XML element of each checksum algorithm. */
const CHECKSUM_ELEMENT = {
  crc32: 'ChecksumCRC32',
  crc32c: 'ChecksumCRC32C',
  crc64nvme: 'ChecksumCRC64NVME',
  sha1: 'ChecksumSHA1',
  sha256: 'ChecksumSHA256',
} as const;

function askedAttributes(call: S3Call): Set<Attribute> {
  const names = (header(call.headers, 'x-amz-object-attributes') ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0)
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-object-attributes header naming the attributes is missing or empty.',
      {
        ArgumentName: 'x-amz-object-attributes',
      },
    );
  for (const n of names)
    if (!(ATTRIBUTES as readonly string[]).includes(n))
      throw new S3Error('InvalidArgument', `Invalid attribute name specified: ${n.slice(0, 64)}.`, {
        ArgumentName: 'x-amz-object-attributes',
        ArgumentValue: n.slice(0, 64),
      });
  for (const h of ['x-amz-max-parts', 'x-amz-part-number-marker']) {
    const v = header(call.headers, h);
    if (v !== undefined && !/^\d{1,5}$/.test(v))
      throw new S3Error('InvalidArgument', `${h} must be a whole number.`, { ArgumentName: h });
  }
  return new Set(names as Attribute[]);
}

/**
 * GET /bucket/key?attributes (`?versionId=`) — the attributes asked for in one answer: ETag,
 * the checksum its writer sent (while still its content's), the number of parts of a
 * multipart upload (no per-part list: S3 gives one only for parts uploaded with checksums),
 * storage class and size.
 */
export async function getObjectAttributes(call: S3Call): Promise<S3Reply> {
  const asked = askedAttributes(call);
  const { attrs, headers, etag: frozen } = await targetObject(call, READ);
  const { ns } = call.env;
  const xattrs = await ns.listXattrs(attrs.ino);
  const etag = await objectEtag(ns, attrs, xattrs, frozen);
  let inner = '';
  if (asked.has('ETag')) inner += el('ETag', etag);
  const checksum = asked.has('Checksum') ? storedChecksum(attrs, xattrs) : undefined;
  if (checksum)
    inner += `<Checksum>${el(CHECKSUM_ELEMENT[checksum.algorithm], checksum.value)}${el('ChecksumType', 'FULL_OBJECT')}</Checksum>`;
  const parts = /-(\d+)$/.exec(etag)?.[1];
  if (asked.has('ObjectParts') && parts !== undefined)
    inner += `<ObjectParts>${el('IsTruncated', false)}${el('PartsCount', parts)}</ObjectParts>`;
  if (asked.has('StorageClass')) inner += el('StorageClass', 'STANDARD');
  if (asked.has('ObjectSize')) inner += el('ObjectSize', attrs.type === 'dir' ? '0' : String(attrs.size));
  return {
    headers: { ...headers, 'last-modified': new Date(Number(attrs.mtimeNs / 1_000_000n)).toUTCString() },
    body: doc('GetObjectAttributesOutput', inner),
  };
}

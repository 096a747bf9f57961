import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import mime from 'mime-types';
import { S3Error } from './deps.ts';
import { encodeTags, TAGS_XATTR, tagCountHeader, tagsFromHeader } from './tagging.ts';

/** Marks a directory as the object `<dir>/` (a key ending in `/`). */
export const DIR_MARKER_XATTR = 's3.dir-marker';
/** Prefix of the attributes holding an object's stored headers. */
export const HEADER_XATTR_PREFIX = 's3.h.';
/** Prefix of user metadata (`x-amz-meta-<name>`). */
export const META_XATTR_PREFIX = 's3.meta.';

/** Standard headers stored with an object and returned on GET/HEAD. */
export const STORED_HEADERS = [
  'content-type',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
] as const;

/** S3's limit on user-defined metadata (names and values, UTF-8). */
export const MAX_USER_METADATA = 2048;

export type ObjectMetadata = Record<string, Buffer>;

/**
 * The headers of a PUT/Copy(REPLACE)/CreateMultipartUpload to keep with the object, as
 * xattr name → value. `aws-chunked` is transfer framing, not the object's encoding.
 */
export function metadataFromHeaders(h: IncomingHttpHeaders): ObjectMetadata {
  const out: ObjectMetadata = {};
  let userBytes = 0;
  for (const name of STORED_HEADERS) {
    let v = h[name];
    if (Array.isArray(v)) v = v.join(', ');
    if (v === undefined) continue;
    if (name === 'content-encoding') {
      v = v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '' && s !== 'aws-chunked')
        .join(', ');
      if (v === '') continue;
    }
    out[HEADER_XATTR_PREFIX + name] = Buffer.from(v, 'latin1');
  }
  for (const [name, raw] of Object.entries(h)) {
    if (!name.startsWith('x-amz-meta-') || raw === undefined) continue;
    const v = Array.isArray(raw) ? raw.join(',') : raw;
    const metaName = name.slice('x-amz-meta-'.length);
    if (metaName === '') continue;
    userBytes += metaName.length + Buffer.byteLength(v, 'latin1');
    out[META_XATTR_PREFIX + metaName] = Buffer.from(v, 'latin1');
  }
  // An object written without a type is served as S3 serves one: binary/octet-stream (not a
  // type guessed from its key, which is for files written over NFS and SMB).
  out[`${HEADER_XATTR_PREFIX}content-type`] ??= Buffer.from('binary/octet-stream');
  const tags = tagsFromHeader(h);
  if (tags && tags.length > 0) out[TAGS_XATTR] = encodeTags(tags);
  if (userBytes > MAX_USER_METADATA) {
    throw new S3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size (${MAX_USER_METADATA} bytes).`,
    );
  }
  return out;
}

/** Only the metadata attributes (headers, user metadata, tags) of an inode's xattrs (for COPY and for clearing on REPLACE). */
export function pickMetadata(xattrs: ReadonlyMap<string, Buffer>): ObjectMetadata {
  const out: ObjectMetadata = {};
  for (const [k, v] of xattrs)
    if (k.startsWith(HEADER_XATTR_PREFIX) || k.startsWith(META_XATTR_PREFIX) || k === TAGS_XATTR) out[k] = v;
  return out;
}

/** Values that set `next` and delete every other metadata attribute present in `current`. */
export function replaceMetadata(
  current: ReadonlyMap<string, Buffer>,
  next: ObjectMetadata,
): Record<string, Buffer | undefined> {
  const out: Record<string, Buffer | undefined> = { ...next };
  for (const k of Object.keys(pickMetadata(current))) if (!(k in next)) out[k] = undefined;
  return out;
}

/** Response headers for an object's stored metadata; Content-Type is guessed when none was stored. */
export function metadataHeaders(
  xattrs: ReadonlyMap<string, Buffer>,
  key: string,
  out: OutgoingHttpHeaders,
): void {
  let type: string | undefined;
  for (const [k, v] of xattrs) {
    if (k.startsWith(HEADER_XATTR_PREFIX)) {
      const name = k.slice(HEADER_XATTR_PREFIX.length);
      if (name === 'content-type') type = v.toString('latin1');
      else out[name] = v.toString('latin1');
    } else if (k.startsWith(META_XATTR_PREFIX)) {
      out[`x-amz-meta-${k.slice(META_XATTR_PREFIX.length)}`] = v.toString('latin1');
    }
  }
  out['content-type'] =
    type ?? (key.endsWith('/') ? 'application/x-directory' : mime.lookup(key) || 'binary/octet-stream');
  tagCountHeader(xattrs, out);
}

/** `response-*` query overrides of GET (only for signed requests, as S3 allows). */
export const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/**
 * Headers a write may carry that ask for something this gateway does not do: refusing them
 * (NotImplemented) is honest; dropping them would be a fake success.
 */
export function refuseUnsupportedWriteHeaders(h: IncomingHttpHeaders): void {
  // x-amz-acl and x-amz-grant-*: acl.ts (aclOnWrite).
  for (const name of ['x-amz-website-redirect-location', 'x-amz-server-side-encryption-customer-algorithm']) {
    if (h[name] !== undefined) throw notImplemented(name, name);
  }
  const sse = h['x-amz-server-side-encryption'];
  if (sse !== undefined) throw notImplemented('x-amz-server-side-encryption', 'server-side encryption');
  const sc = h['x-amz-storage-class'];
  if (sc !== undefined && sc !== 'STANDARD')
    throw notImplemented('x-amz-storage-class', `storage class ${String(sc)}`);
}

function notImplemented(header: string, what: string): S3Error {
  return new S3Error(
    'NotImplemented',
    `A header you provided implies functionality that is not implemented: ${what}.`,
    {
      Header: header,
    },
  );
}

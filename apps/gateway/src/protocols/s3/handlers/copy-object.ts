import { createHash } from 'node:crypto';
import { aclOnWrite } from '../acl.ts';
import { etagMatches, preconditionFailed } from '../conditions.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { openCopySource } from '../copy-source.ts';
import { S3Error } from '../deps.ts';
import { etagXattrs, quoted } from '../etag.ts';
import { keyPath } from '../keys.ts';
import {
  metadataFromHeaders,
  pickMetadata,
  refuseUnsupportedWriteHeaders,
  replaceMetadata,
} from '../metadata.ts';
import { newObjectLock } from '../object-lock/retention.ts';
import { bucketDir } from '../objects.ts';
import {
  hashing,
  linkObject,
  markerCondition,
  storeMarker,
  versionHeader,
  writeCondition,
} from '../store-object.ts';
import { TAGS_XATTR } from '../tagging.ts';
import { fileChunks, MAX_PUT_BYTES, writeAside } from '../upload.ts';
import { versioningOf } from '../versioning/writes.ts';
import { doc, el, isoDate } from '../xml.ts';

/**
 * PUT /bucket/key with x-amz-copy-source — metadata COPY (default) or REPLACE; copying an
 * object onto itself is allowed only to replace its metadata, done in place.
 */
export async function copyObject(call: S3Call): Promise<S3Reply> {
  const kp = keyPath(call.key);
  refuseUnsupportedWriteHeaders(call.headers);
  const condition = writeCondition(call.headers);
  if (condition && kp.marker) throw markerCondition();
  const others = await aclOnWrite(call);
  const directive = call.headers['x-amz-metadata-directive'] ?? 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.', {
      ArgumentName: 'x-amz-metadata-directive',
    });
  }
  const src = await openCopySource(call);
  const { ns } = call.env;
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const tagging = call.headers['x-amz-tagging-directive'] ?? 'COPY';
  if (tagging !== 'COPY' && tagging !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown tagging directive.', {
      ArgumentName: 'x-amz-tagging-directive',
    });
  }
  const fromHeaders =
    directive === 'REPLACE' || tagging === 'REPLACE' ? metadataFromHeaders(call.headers) : undefined;
  const metadata = directive === 'REPLACE' ? { ...fromHeaders } : pickMetadata(src.xattrs);
  // Tags follow their own directive: the source's (COPY, the default) or x-amz-tagging's (REPLACE).
  const tags = tagging === 'REPLACE' ? fromHeaders?.[TAGS_XATTR] : src.xattrs.get(TAGS_XATTR);
  delete metadata[TAGS_XATTR];
  if (tags) metadata[TAGS_XATTR] = tags;
  // Object Lock is the request's (or the bucket's default), never the source's.
  Object.assign(metadata, await newObjectLock(call.env, bucket.ino, call.headers, { marker: kp.marker }));

  // A named version copied over its key is a restore: a new object like any other copy.
  const ontoItself = src.bucket === call.bucket && src.key === call.key && src.versionId === undefined;
  if (ontoItself && directive !== 'REPLACE' && tagging !== 'REPLACE') {
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  // Onto itself: new metadata in place — unless the bucket keeps versions, where it is a new version.
  if (ontoItself && !(await versioningOf(call.env, bucket.ino))) {
    // The destination is the source, just opened: its precondition is checked against it.
    if (condition?.noObject) throw preconditionFailed('If-None-Match');
    if (condition?.etags !== undefined && !etagMatches(condition.etags, src.etag))
      throw preconditionFailed('If-Match');
    await ns.setXattrs(call.cred, src.attrs.ino, replaceMetadata(src.xattrs, metadata));
    // A copy makes a new object, dated now, in place or not: what `s3cmd modify` and a lifecycle
    // re-trigger count on (its Last-Modified had stayed the source's).
    const now = await ns.setattr(call.cred, src.attrs.ino, { mtimeNs: 'now' });
    if (now.type === 'file') {
      const etag = src.etag.includes('-') ? { multipart: src.etag } : { md5Hex: src.etag };
      await ns.setXattrs(call.cred, now.ino, etagXattrs(etag, now.changeId), { quiet: true });
    }
    return result(src.etag, now.mtimeNs);
  }
  if (src.size > MAX_PUT_BYTES) {
    throw new S3Error(
      'InvalidRequest',
      `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PUT_BYTES}`,
    );
  }
  if (kp.marker) {
    if (src.size !== 0n)
      throw new S3Error(
        'InvalidArgument',
        'A key ending in "/" is a directory marker here and cannot hold data.',
        { ArgumentName: 'key' },
      );
    const dir = await storeMarker(call.env, call.cred, bucket.ino, call.key, kp, metadata);
    return result(src.etag, dir.mtimeNs);
  }
  const hash = createHash('md5');
  const chunks =
    src.size === 0n ? emptySource() : fileChunks(ns, call.cred, src.attrs.ino, 0n, src.size - 1n);
  const written = await writeAside(ns, call.cred, hashing(chunks, hash), 'upload', null, src.size);
  const md5Hex = hash.digest('hex');
  const linked = await linkObject(call.env, call.cred, {
    bucketIno: bucket.ino,
    key: call.key,
    kp,
    file: written.attrs,
    metadata,
    etag: { md5Hex },
    others,
    condition,
  });
  return result(md5Hex, linked.attrs.mtimeNs, { ...sourceVersion(src), ...versionHeader(linked) });
}

async function* emptySource(): AsyncGenerator<Buffer> {}

/** `x-amz-copy-source-version-id` when a version was named. */
export function sourceVersion(src: { versionId?: string }): Record<string, string> {
  return src.versionId === undefined ? {} : { 'x-amz-copy-source-version-id': src.versionId };
}

function result(etag: string, mtimeNs: bigint, headers: Record<string, string> = {}): S3Reply {
  return {
    headers,
    body: doc('CopyObjectResult', `${el('LastModified', isoDate(mtimeNs))}${el('ETag', quoted(etag))}`),
  };
}

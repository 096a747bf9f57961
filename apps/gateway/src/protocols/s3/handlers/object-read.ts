import { type OutgoingHttpHeaders, validateHeaderValue } from 'node:http';
import type { Attributes } from '../../../storage/types.ts';
import { evaluate, preconditionFailed, requestConditions } from '../conditions.ts';
import type { S3Call } from '../context.ts';
import { S3Error } from '../deps.ts';
import { isS3Error } from '../errors.ts';
import { objectEtag, partSizes, quoted } from '../etag.ts';
import { heldKeyPath, type KeyPath } from '../keys.ts';
import { metadataHeaders, RESPONSE_OVERRIDES } from '../metadata.ts';
import { lockHeaders, lockStateOf } from '../object-lock/retention.ts';
import { bucketDir, cachedReadable, findObject, readKeyPath } from '../objects.ts';
import { checksumHeaders, storedChecksum } from '../stored-checksum.ts';
import { findVersion } from '../versioning/reads.ts';
import { VERSION_ID_XATTR } from '../versioning/store.ts';
import { checkVersionId, versioningOf } from '../versioning/writes.ts';

export interface ReadableObject {
  attrs: Attributes;
  /** 0 for a directory marker. */
  size: bigint;
  headers: OutgoingHttpHeaders;
  /** 304 for a failed If-None-Match / If-Modified-Since (headers only). */
  notModified: boolean;
  /** A completed multipart upload's part sizes (for `?partNumber=`); undefined otherwise. */
  parts?: bigint[];
}

/**
 * What an object's response headers are made of, derived from one snapshot of it: its
 * attributes and extended attributes as the namespace cache holds them. Any change to the
 * object replaces both (the cache drops the inode), so a view kept per snapshot is never stale;
 * a GET of an unchanged object then skips the ETag lookup, the date and the MIME type.
 */
interface ObjectView {
  attrs: Attributes;
  key: string;
  etag: string;
  /** ETag quoted, Last-Modified, the stored metadata headers and Content-Type. */
  headers: OutgoingHttpHeaders;
  /** The checksum its writer sent, while still its content's (`x-amz-checksum-mode: ENABLED`). */
  checksum: Record<string, string> | undefined;
  parts: bigint[] | undefined;
}

const views = new WeakMap<ReadonlyMap<string, Buffer>, ObjectView>();

async function objectView(call: S3Call, attrs: Attributes, frozenEtag?: string): Promise<ObjectView> {
  const { ns } = call.env;
  const xattrs = await ns.listXattrs(attrs.ino);
  const known = knownView(call, attrs, xattrs);
  if (known) return known;
  const etag = await objectEtag(ns, attrs, xattrs, frozenEtag);
  const headers: OutgoingHttpHeaders = {
    etag: quoted(etag),
    'last-modified': new Date(Number(attrs.mtimeNs / 1_000_000n)).toUTCString(),
  };
  metadataHeaders(xattrs, call.key, headers);
  const versionId = xattrs.get(VERSION_ID_XATTR);
  if (versionId) headers['x-amz-version-id'] = versionId.toString();
  Object.assign(headers, lockHeaders(lockStateOf(xattrs)));
  const stored = storedChecksum(attrs, xattrs);
  const view = {
    attrs,
    key: call.key,
    etag,
    headers,
    checksum: stored && checksumHeaders(stored),
    parts: partSizes(etag, xattrs),
  };
  views.set(xattrs, view);
  return view;
}

function knownView(
  call: S3Call,
  attrs: Attributes,
  xattrs: ReadonlyMap<string, Buffer> | undefined,
): ObjectView | undefined {
  const known = xattrs && views.get(xattrs);
  return known && known.attrs === attrs && known.key === call.key ? known : undefined;
}

/**
 * What GET and HEAD share: lookup, read permission, ETag, conditions, headers — of the object
 * as it is once any SMB client caching writes to it has written them back.
 */
export async function openObject(call: S3Call): Promise<ReadableObject> {
  const o = await describeObject(call);
  // An SMB client caching writes to the file writes them back first; then it is described again.
  const recall = o.attrs.type === 'file' ? call.env.ns.caching.recall(o.attrs.ino, 'read') : undefined;
  if (!recall) return o;
  await recall;
  return describeObject(call);
}

async function describeObject(call: S3Call): Promise<ReadableObject> {
  const { query } = call;
  if (query.size > 0) checkReadParameters(call);
  const versionId = query.get('versionId');
  // A key no object can have: its bucket's NoSuchBucket first, if it has none.
  let kp = heldKeyPath(call.key);
  if (!kp) {
    await bucketDir(call.env, call.cred, call.bucket);
    kp = readKeyPath(call.key, versionId);
  }
  const { ns } = call.env;
  // An object read a moment ago: found, checked and described from the caches, no wait at all.
  const cached = versionId === undefined ? cachedReadable(call.env, call.cred, call.bucket, kp) : undefined;
  const known = cached && knownView(call, cached, ns.cachedXattrs(cached.ino));
  if (known) return described(call, known);
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const { attrs, etag } =
    versionId === undefined
      ? await currentObject(call, bucket.ino, kp)
      : await findVersion(call.env, call.cred, call.method, bucket.ino, call.key, kp, versionId);
  if (attrs.type === 'file' && (await ns.access(call.cred, attrs.ino, 4)) === 0) {
    throw new S3Error('AccessDenied', 'Access Denied');
  }
  const view = await objectView(call, attrs, etag);
  if (versionId !== undefined && view.headers['x-amz-version-id'] === undefined) {
    // A null version, or a kept one whose id is its name: named as asked.
    return described(call, { ...view, headers: { ...view.headers, 'x-amz-version-id': versionId } });
  }
  return described(call, view);
}

/** The key's current object; in a versioned bucket, a key whose latest version is a delete marker says so. */
async function currentObject(
  call: S3Call,
  bucketIno: bigint,
  kp: KeyPath,
): Promise<{ attrs: Attributes; etag?: string }> {
  try {
    return await findObject(call.env, call.cred, bucketIno, call.key, kp);
  } catch (e: unknown) {
    if (!isS3Error(e, 'NoSuchKey') || kp.marker || !(await versioningOf(call.env, bucketIno))) throw e;
    const latest = (await call.env.versions.versions(bucketIno, kp))[0];
    if (!latest?.marker) throw e;
    throw new S3Error('NoSuchKey', e.message, e.extra, {
      headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': latest.versionId },
    });
  }
}

/** The conditions evaluated against the object's view, and the headers of its answer. */
function described(call: S3Call, view: ObjectView): ReadableObject {
  const { attrs } = view;
  const outcome = evaluate({ etag: view.etag, mtimeNs: attrs.mtimeNs }, requestConditions(call.headers));
  if (outcome === 'failed')
    throw preconditionFailed(call.headers['if-match'] !== undefined ? 'If-Match' : 'If-Unmodified-Since');
  if (outcome === 'not-modified') {
    const { etag, 'last-modified': lastModified } = view.headers;
    return { attrs, size: 0n, headers: { etag, 'last-modified': lastModified }, notModified: true };
  }
  // Copied name by name: a spread's copy gets a shape V8 reads slowly all the way to the wire.
  const headers: OutgoingHttpHeaders = {};
  for (const name in view.headers) headers[name] = view.headers[name];
  if (call.query.size > 0) {
    for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
      const v = call.query.get(param);
      if (v !== undefined) headers[name] = v;
    }
  }
  headers['accept-ranges'] = 'bytes';
  // The whole object's checksum, for a client checking what it reads end to end (not a range).
  if (view.checksum && call.headers['x-amz-checksum-mode'] === 'ENABLED' && call.headers.range === undefined)
    for (const name in view.checksum) headers[name] = view.checksum[name];
  const size = attrs.type === 'dir' ? 0n : attrs.size;
  return { attrs, size, headers, notModified: false, ...(view.parts ? { parts: view.parts } : {}) };
}

/** partNumber, versionId and response-* overrides: what a read may ask, checked. */
function checkReadParameters(call: S3Call): void {
  const part = call.query.get('partNumber');
  if (part !== undefined) {
    if (!/^\d{1,5}$/.test(part) || Number(part) < 1 || Number(part) > 10_000) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.', {
        ArgumentName: 'partNumber',
        ArgumentValue: part.slice(0, 16),
      });
    }
    if (call.headers.range !== undefined) {
      throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter.');
    }
  }
  const versionId = call.query.get('versionId');
  if (versionId !== undefined) checkVersionId(versionId);
  const overrides = [...call.query.keys()].filter((k) => k in RESPONSE_OVERRIDES);
  if (overrides.length > 0 && !call.principal) {
    throw new S3Error(
      'InvalidRequest',
      'Request specific response headers cannot be used for anonymous GET requests.',
    );
  }
  // A header's value cannot hold a line break or other control character: one would end the
  // header early (and add another of the caller's choosing).
  for (const param of overrides) {
    try {
      validateHeaderValue(RESPONSE_OVERRIDES[param]!, call.query.get(param)!);
    } catch {
      throw new S3Error('InvalidArgument', `${param} holds a character a header cannot carry.`, {
        ArgumentName: param,
      });
    }
  }
}

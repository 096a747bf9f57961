import type { Attributes } from '../../storage/types.ts';
import { checkExpectedOwner, SOURCE_EXPECTED_OWNER } from './buckets.ts';
import { checkCopySourceConditions } from './conditions.ts';
import type { S3Call } from './context.ts';
import { S3Error } from './deps.ts';
import { objectEtag } from './etag.ts';
import { checkBucketName } from './keys.ts';
import { bucketDir, findObject, readKeyPath } from './objects.ts';
import { policyAllows } from './policy/bucket-policy.ts';
import { findVersion } from './versioning/reads.ts';
import { checkVersionId } from './versioning/writes.ts';

export interface CopySource {
  bucket: string;
  key: string;
  attrs: Attributes;
  xattrs: ReadonlyMap<string, Buffer>;
  etag: string;
  /** 0 for a directory marker. */
  size: bigint;
  /** The version copied, when the source named one. */
  versionId?: string;
}

/** `x-amz-copy-source: [/]bucket/key[?versionId=…]`, URL-encoded. */
export function parseCopySource(raw: string): { bucket: string; key: string; versionId?: string } {
  let s = raw;
  let versionId: string | undefined;
  const q = s.indexOf('?');
  if (q >= 0) {
    const v = new URLSearchParams(s.slice(q + 1)).get('versionId');
    if (v !== null) versionId = checkVersionId(v);
    s = s.slice(0, q);
  }
  try {
    s = decodeURIComponent(s);
  } catch {
    throw invalidSource();
  }
  if (s.startsWith('/')) s = s.slice(1);
  const slash = s.indexOf('/');
  if (slash <= 0 || slash === s.length - 1) throw invalidSource();
  const bucket = s.slice(0, slash);
  checkBucketName(bucket);
  const key = s.slice(slash + 1);
  return versionId === undefined ? { bucket, key } : { bucket, key, versionId };
}

function invalidSource(): S3Error {
  return new S3Error(
    'InvalidArgument',
    'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
    { ArgumentName: 'x-amz-copy-source' },
  );
}

/**
 * The copy source, readable by the caller, its bucket's owner the one expected
 * (x-amz-source-expected-bucket-owner), its x-amz-copy-source-if-* conditions met.
 */
export async function openCopySource(call: S3Call): Promise<CopySource> {
  const raw = call.headers['x-amz-copy-source'];
  if (typeof raw !== 'string') throw invalidSource();
  const { bucket, key, versionId } = parseCopySource(raw);
  const { ns } = call.env;
  const dir = await bucketDir(call.env, call.cred, bucket);
  checkExpectedOwner(call.headers, SOURCE_EXPECTED_OWNER, dir);
  // Reading the source is a GetObject as far as the source bucket's policy is concerned.
  await policyAllows(call, 'GetObject', bucket, key, versionId !== undefined);
  const kp = readKeyPath(key, versionId);
  const find = () =>
    versionId === undefined
      ? findObject(call.env, call.cred, dir.ino, key, kp)
      : findVersion(call.env, call.cred, call.method, dir.ino, key, kp, versionId);
  let found: { attrs: Attributes; etag?: string } = await find();
  // An SMB client caching writes to the source writes them back first (as for a GET).
  const recall = found.attrs.type === 'file' ? ns.caching.recall(found.attrs.ino, 'read') : undefined;
  if (recall) {
    await recall;
    found = await find();
  }
  const { attrs, etag: frozen } = found;
  if (attrs.type === 'file' && (await ns.access(call.cred, attrs.ino, 4)) === 0)
    throw new S3Error('AccessDenied', 'Access Denied');
  const xattrs = await ns.listXattrs(attrs.ino);
  const etag = await objectEtag(ns, attrs, xattrs, frozen);
  checkCopySourceConditions(call.headers, { etag, mtimeNs: attrs.mtimeNs });
  const size = attrs.type === 'dir' ? 0n : attrs.size;
  return versionId === undefined
    ? { bucket, key, attrs, xattrs, etag, size }
    : { bucket, key, attrs, xattrs, etag, size, versionId };
}

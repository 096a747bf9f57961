import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import {
  decodeLifecycle,
  encodeLifecycle,
  LIFECYCLE_XATTR,
  lifecycleXml,
  parseLifecycle,
} from '../lifecycle/rules.ts';
import { readSmallBody } from '../store-object.ts';
import { openedBucket, ownedBucket } from './head-bucket.ts';

/** GET /bucket?lifecycle — the bucket's rules, or NoSuchLifecycleConfiguration. */
export async function getBucketLifecycle(call: S3Call): Promise<S3Reply> {
  const bucket = await openedBucket(call);
  const rules = decodeLifecycle(await call.env.ns.getXattr(bucket.ino, LIFECYCLE_XATTR));
  if (rules.length === 0) throw new S3Error('NoSuchLifecycleConfiguration');
  return { body: lifecycleXml(rules) };
}

/**
 * PUT /bucket?lifecycle — replaces the bucket's rules (the owner only). The next sweep applies
 * them; `./cfs s3 lifecycle run` sweeps at once.
 */
export async function putBucketLifecycle(call: S3Call): Promise<S3Reply> {
  const rules = parseLifecycle(await readSmallBody(call));
  const bucket = await ownedBucket(call);
  await call.env.ns.setXattrs(
    call.cred,
    bucket.ino,
    { [LIFECYCLE_XATTR]: encodeLifecycle(rules) },
    { quiet: true },
  );
  return { status: 200 };
}

/** DELETE /bucket?lifecycle — the bucket keeps no rules; nothing more expires. */
export async function deleteBucketLifecycle(call: S3Call): Promise<S3Reply> {
  const bucket = await ownedBucket(call);
  await call.env.ns.setXattrs(call.cred, bucket.ino, { [LIFECYCLE_XATTR]: undefined }, { quiet: true });
  return { status: 204 };
}

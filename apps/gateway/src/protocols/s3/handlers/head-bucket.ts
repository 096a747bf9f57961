import type { Attributes } from '../../../storage/types.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { bucketDir } from '../objects.ts';

/** HEAD /bucket — 200 when it exists and the caller may open it. */
export async function headBucket(call: S3Call): Promise<S3Reply> {
  await openedBucket(call);
  return { headers: { 'x-amz-bucket-region': call.env.config.region } };
}

/** The bucket's directory, when it exists and the caller may open it (search permission). */
export async function openedBucket(call: S3Call): Promise<Attributes> {
  const dir = await bucketDir(call.env, call.cred, call.bucket);
  if ((await call.env.ns.access(call.cred, dir.ino, 1)) === 0)
    throw new S3Error('AccessDenied', 'Access Denied');
  return dir;
}

/** The bucket, when the caller may change its settings: its owner (or root). */
export async function ownedBucket(call: S3Call): Promise<Attributes> {
  const bucket = await openedBucket(call);
  if (call.cred.uid !== 0 && call.cred.uid !== bucket.uid) throw new S3Error('AccessDenied', 'Access Denied');
  return bucket;
}

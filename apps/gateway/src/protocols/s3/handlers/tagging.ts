import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { readSmallBody } from '../store-object.ts';
import {
  decodeTags,
  encodeTags,
  MAX_BUCKET_TAGS,
  MAX_OBJECT_TAGS,
  parseTagging,
  TAGS_XATTR,
  taggingXml,
} from '../tagging.ts';
import { openedBucket, ownedBucket } from './head-bucket.ts';
import { targetObject as object, READ, WRITE } from './target-object.ts';

/** Tags are annotations: setting them moves neither the ETag nor Last-Modified. */
async function setTags(call: S3Call, ino: bigint, value: Buffer | undefined): Promise<void> {
  await call.env.ns.setXattrs(call.cred, ino, { [TAGS_XATTR]: value }, { quiet: true });
}

/** GET /bucket/key?tagging — the object's TagSet (empty when it has none). */
export async function getObjectTagging(call: S3Call): Promise<S3Reply> {
  const { attrs, headers } = await object(call, READ);
  return { headers, body: taggingXml(decodeTags(await call.env.ns.getXattr(attrs.ino, TAGS_XATTR))) };
}

/** PUT /bucket/key?tagging — replaces the object's tags (at most 10). */
export async function putObjectTagging(call: S3Call): Promise<S3Reply> {
  const tags = parseTagging(await readSmallBody(call), MAX_OBJECT_TAGS, 'Object');
  const { attrs, headers } = await object(call, WRITE);
  await setTags(call, attrs.ino, tags.length > 0 ? encodeTags(tags) : undefined);
  return { status: 200, headers };
}

/** DELETE /bucket/key?tagging — the object keeps no tags. */
export async function deleteObjectTagging(call: S3Call): Promise<S3Reply> {
  const { attrs, headers } = await object(call, WRITE);
  await setTags(call, attrs.ino, undefined);
  return { status: 204, headers };
}

/** GET /bucket?tagging — the bucket's TagSet, or NoSuchTagSet when it has none (as S3 answers). */
export async function getBucketTagging(call: S3Call): Promise<S3Reply> {
  const bucket = await openedBucket(call);
  const tags = decodeTags(await call.env.ns.getXattr(bucket.ino, TAGS_XATTR));
  if (tags.length === 0) throw new S3Error('NoSuchTagSet');
  return { body: taggingXml(tags) };
}

/** PUT /bucket?tagging — replaces the bucket's tags (at most 50); the bucket's owner only. */
export async function putBucketTagging(call: S3Call): Promise<S3Reply> {
  const tags = parseTagging(await readSmallBody(call), MAX_BUCKET_TAGS, 'Bucket');
  const bucket = await ownedBucket(call);
  await setTags(call, bucket.ino, tags.length > 0 ? encodeTags(tags) : undefined);
  return { status: 204 };
}

/** DELETE /bucket?tagging — the bucket keeps no tags. */
export async function deleteBucketTagging(call: S3Call): Promise<S3Reply> {
  const bucket = await ownedBucket(call);
  await setTags(call, bucket.ino, undefined);
  return { status: 204 };
}

import { isFsError } from '../../../storage/errors.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { asS3Error, S3Error } from '../deps.ts';
import type { Upload } from '../multipart/store.ts';
import { bucketDir } from '../objects.ts';

/**
 * DELETE /bucket — only an empty bucket goes (BucketNotEmpty otherwise): no object, and no
 * noncurrent version or delete marker either, as S3 asks of a versioned bucket. Its multipart
 * uploads in progress go with it, their parts' room freed: kept, they would count against their
 * owners' quotas and come back in a new bucket of the same name.
 */
export async function deleteBucket(call: S3Call): Promise<S3Reply> {
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  const { versions } = call.env;
  try {
    if (await versions.hasVersions(bucket.ino)) throw notEmpty(call.bucket);
    await call.env.ns.rmdir(call.cred, call.env.rootIno, call.bucket);
  } catch (e) {
    if (isFsError(e, 'ENOTEMPTY')) throw notEmpty(call.bucket);
    throw asS3Error(e);
  }
  await versions.forgetBucket(bucket.ino);
  await abortUploadsOf(call, Date.now());
  return { status: 204 };
}

/** The bucket's uploads begun before it went (not those of a new bucket of the same name). */
async function abortUploadsOf(call: S3Call, goneAt: number): Promise<void> {
  const { uploads } = call.env;
  const ours = (u: Upload) => u.info.bucket === call.bucket && u.info.initiated <= goneAt;
  for (const u of await uploads.list()) {
    if (ours(u)) await uploads.abort(u.uploadId, (now) => ours(now));
  }
}

function notEmpty(bucket: string): S3Error {
  return new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: bucket });
}

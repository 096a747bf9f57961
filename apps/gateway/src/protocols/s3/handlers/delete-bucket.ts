import { isFsError } from '../../../storage/errors.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { asS3Error, S3Error } from '../deps.ts';
import { bucketDir } from '../objects.ts';

/**
 * DELETE /bucket — only an empty bucket goes (BucketNotEmpty otherwise): no object, and no
 * noncurrent version or delete marker either, as S3 asks of a versioned bucket.
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
  return { status: 204 };
}

function notEmpty(bucket: string): S3Error {
  return new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: bucket });
}

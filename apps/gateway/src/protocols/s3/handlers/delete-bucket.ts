import { isFsError } from '../../../storage/errors.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { asS3Error, S3Error } from '../deps.ts';
import { bucketDir } from '../objects.ts';

/** DELETE /bucket — only an empty bucket goes (BucketNotEmpty otherwise). */
export async function deleteBucket(call: S3Call): Promise<S3Reply> {
  await bucketDir(call.env, call.cred, call.bucket);
  try {
    await call.env.ns.rmdir(call.cred, call.env.rootIno, call.bucket);
  } catch (e) {
    if (isFsError(e, 'ENOTEMPTY')) {
      throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', {
        BucketName: call.bucket,
      });
    }
    throw asS3Error(e);
  }
  return { status: 204 };
}

import { isFsError } from '../../../storage/errors.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { asS3Error, S3Error } from '../deps.ts';
import { DIR_MODE } from '../objects.ts';
import { readSmallBody } from '../store-object.ts';
import { parseXml, text } from '../xml.ts';

/** PUT /bucket — a new top-level directory of s3.root, owned by the caller. */
export async function createBucket(call: S3Call): Promise<S3Reply> {
  const { ns, rootIno, config } = call.env;
  const acl = call.headers['x-amz-acl'];
  if (acl !== undefined && acl !== 'private') {
    throw new S3Error('NotImplemented', 'Bucket ACLs other than private are not implemented.', {
      Header: 'x-amz-acl',
    });
  }
  if (call.headers['x-amz-bucket-object-lock-enabled'] === 'true') {
    throw new S3Error('NotImplemented', 'Object lock is not implemented.', {
      Header: 'x-amz-bucket-object-lock-enabled',
    });
  }
  const body = await readSmallBody(call, 64 * 1024);
  if (body.trim() !== '') {
    const conf = parseXml(body, 'CreateBucketConfiguration');
    const constraint = text(conf, 'LocationConstraint')?.trim();
    if (constraint !== undefined && constraint !== '' && constraint !== config.region) {
      throw new S3Error(
        'InvalidArgument',
        `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to (${config.region}).`,
        { ArgumentName: 'LocationConstraint' },
      );
    }
  }
  try {
    await ns.mkdir(call.cred, rootIno, call.bucket, DIR_MODE);
  } catch (e) {
    if (isFsError(e, 'EEXIST')) {
      const existing = await ns.lookup(call.cred, rootIno, call.bucket).catch(() => undefined);
      if (existing?.type === 'dir' && existing.uid === call.cred.uid) {
        throw new S3Error(
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
          { BucketName: call.bucket },
        );
      }
      throw new S3Error(
        'BucketAlreadyExists',
        'The requested bucket name is not available. Please select a different name and try again.',
        { BucketName: call.bucket },
      );
    }
    throw asS3Error(e);
  }
  return { headers: { location: `/${call.bucket}` } };
}

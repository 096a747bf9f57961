import { isFsError } from '../../../storage/errors.ts';
import type { Attributes } from '../../../storage/types.ts';
import { aclOnWrite, modeFor } from '../acl.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { asS3Error, S3Error } from '../deps.ts';
import { encodeObjectLock, OBJECT_LOCK_XATTR } from '../object-lock/bucket-config.ts';
import { DIR_MODE } from '../objects.ts';
import { readSmallBody } from '../store-object.ts';
import { VERSIONING_XATTR } from '../versioning/writes.ts';
import { parseXml, text } from '../xml.ts';

/** PUT /bucket — a new top-level directory of s3.root, owned by the caller. */
export async function createBucket(call: S3Call): Promise<S3Reply> {
  const { ns, rootIno, config } = call.env;
  // Its ACL is its mode: private 0700, authenticated-read (public-read in a public bucket) 0755.
  const others = await aclOnWrite(call);
  const mode = others ? modeFor(others, { mode: DIR_MODE, type: 'dir' }) : DIR_MODE;
  const lockHeader = call.headers['x-amz-bucket-object-lock-enabled'];
  if (lockHeader !== undefined && !/^(true|false)$/i.test(String(lockHeader)))
    throw new S3Error('InvalidArgument', 'x-amz-bucket-object-lock-enabled must be true or false', {
      ArgumentName: 'x-amz-bucket-object-lock-enabled',
      ArgumentValue: String(lockHeader).slice(0, 16),
    });
  const objectLock = String(lockHeader).toLowerCase() === 'true';
  const body = await readSmallBody(call, 64 * 1024);
  if (body.trim() !== '') {
    const conf = parseXml(body, 'CreateBucketConfiguration');
    const constraint = text(conf, 'LocationConstraint')?.trim();
    if (constraint !== undefined && constraint !== '' && constraint !== config.region) {
      throw new S3Error(
        'IllegalLocationConstraintException',
        `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to (${config.region}).`,
      );
    }
  }
  let bucket: Attributes;
  try {
    bucket = await ns.mkdir(call.cred, rootIno, call.bucket, mode);
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
  // With Object Lock: versioning Enabled and the lock enabled (no default retention), as S3 does.
  if (objectLock) {
    await ns
      .setXattrs(
        call.cred,
        bucket.ino,
        {
          [VERSIONING_XATTR]: Buffer.from('Enabled'),
          [OBJECT_LOCK_XATTR]: encodeObjectLock({ enabled: true }),
        },
        { quiet: true },
      )
      .catch(async (e: unknown) => {
        await ns.rmdir(call.cred, rootIno, call.bucket).catch(() => {});
        throw asS3Error(e);
      });
    call.env.log.info(
      { bucket: call.bucket, by: call.principal?.userName },
      `S3 bucket ${call.bucket}: created with object lock (versioning Enabled)`,
    );
  }
  return { headers: { location: `/${call.bucket}` } };
}

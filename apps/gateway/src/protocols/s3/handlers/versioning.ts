import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { objectLockOf } from '../object-lock/bucket-config.ts';
import { readSmallBody } from '../store-object.ts';
import { VERSIONING_XATTR, versioningOf } from '../versioning/writes.ts';
import { doc, el, malformed, parseXml, text } from '../xml.ts';
import { openedBucket, ownedBucket } from './head-bucket.ts';

/** GET /bucket?versioning — Enabled, Suspended, or (never enabled) no Status at all. */
export async function getBucketVersioning(call: S3Call): Promise<S3Reply> {
  const bucket = await openedBucket(call);
  const status = await versioningOf(call.env, bucket.ino);
  return { body: doc('VersioningConfiguration', status ? el('Status', status) : '') };
}

/**
 * PUT /bucket?versioning — Enabled or Suspended (the owner only). Once enabled a bucket is never
 * unversioned again, as in S3: suspending keeps every version kept so far. MFA delete is not
 * offered (no MFA devices here) and refused rather than ignored.
 */
export async function putBucketVersioning(call: S3Call): Promise<S3Reply> {
  const root = parseXml(await readSmallBody(call), 'VersioningConfiguration');
  const status = text(root, 'Status')?.trim();
  if (status !== 'Enabled' && status !== 'Suspended')
    throw malformed('<Status> must be Enabled or Suspended');
  const mfa = text(root, 'MfaDelete')?.trim();
  if (mfa !== undefined && mfa !== 'Disabled' && mfa !== 'Enabled')
    throw malformed('<MfaDelete> must be Enabled or Disabled');
  if (mfa === 'Enabled') throw new S3Error('NotImplemented', 'MFA delete is not supported by this gateway.');
  const bucket = await ownedBucket(call);
  if (status === 'Suspended' && (await objectLockOf(call.env, bucket.ino)))
    throw new S3Error(
      'InvalidBucketState',
      'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
    );
  await call.env.ns.setXattrs(
    call.cred,
    bucket.ino,
    { [VERSIONING_XATTR]: Buffer.from(status) },
    { quiet: true },
  );
  call.env.log.info(
    { bucket: call.bucket, status, by: call.principal?.userName },
    `S3 bucket ${call.bucket}: versioning ${status}`,
  );
  return { status: 200 };
}

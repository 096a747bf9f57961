import type { S3Call, S3Reply } from '../context.ts';
import { S3Error, type S3ErrorCode } from '../deps.ts';
import { doc } from '../xml.ts';
import { openedBucket } from './head-bucket.ts';

/**
 * Bucket settings the gateway has no way to set (encryption, website, replication…), read as
 * S3 reads a bucket where none was ever set: an empty document, or the 404
 * S3 answers for "none". Tools that read a bucket's whole state before acting (Terraform's
 * refresh, `s3cmd info`, backup tools checking replication) get true answers; setting any of
 * them stays 501 NotImplemented (dispatch.ts).
 */
export interface UnsetSetting {
  /** The subresource that asks for it (`?versioning`). */
  sub: string;
  op: string;
  /** The answer: the document S3 gives for "never set", or the error it gives. */
  answer: { root: string; inner: string } | { error: S3ErrorCode };
}

export const UNSET_BUCKET_SETTINGS: readonly UnsetSetting[] = [
  {
    sub: 'accelerate',
    op: 'GetBucketAccelerateConfiguration',
    answer: { root: 'AccelerateConfiguration', inner: '' },
  },
  { sub: 'logging', op: 'GetBucketLogging', answer: { root: 'BucketLoggingStatus', inner: '' } },
  {
    sub: 'requestPayment',
    op: 'GetBucketRequestPayment',
    answer: { root: 'RequestPaymentConfiguration', inner: '<Payer>BucketOwner</Payer>' },
  },
  {
    sub: 'notification',
    op: 'GetBucketNotificationConfiguration',
    answer: { root: 'NotificationConfiguration', inner: '' },
  },
  {
    sub: 'encryption',
    op: 'GetBucketEncryption',
    answer: { error: 'ServerSideEncryptionConfigurationNotFoundError' },
  },
  { sub: 'website', op: 'GetBucketWebsite', answer: { error: 'NoSuchWebsiteConfiguration' } },
  {
    sub: 'replication',
    op: 'GetBucketReplication',
    answer: { error: 'ReplicationConfigurationNotFoundError' },
  },
  {
    sub: 'ownershipControls',
    op: 'GetBucketOwnershipControls',
    answer: { error: 'OwnershipControlsNotFoundError' },
  },
];

/** The handler of one unset setting: the bucket must exist and be the caller's to open. */
export function readUnsetSetting(setting: UnsetSetting): (call: S3Call) => Promise<S3Reply> {
  return async (call) => {
    await openedBucket(call);
    const { answer } = setting;
    if ('error' in answer) throw new S3Error(answer.error);
    return { body: doc(answer.root, answer.inner) };
  };
}

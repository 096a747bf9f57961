import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { encodePolicy, isPublic, POLICY_XATTR, policyIn } from '../policy/bucket-policy.ts';
import { MAX_POLICY_BYTES, parsePolicy } from '../policy/document.ts';
import { blockedBy, publicAccessBlockOf } from '../public-access-block.ts';
import { readSmallBody } from '../store-object.ts';
import { doc, el } from '../xml.ts';
import { ownedBucket } from './head-bucket.ts';

/** The bucket's owner reads its stored policy; NoSuchBucketPolicy when it has none. */
async function storedPolicy(call: S3Call) {
  const bucket = await ownedBucket(call);
  const stored = policyIn(await call.env.ns.listXattrs(bucket.ino));
  if (!stored)
    throw new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', { BucketName: call.bucket });
  return stored;
}

/** GET /bucket?policy — the policy document as it was put. */
export async function getBucketPolicy(call: S3Call): Promise<S3Reply> {
  const stored = await storedPolicy(call);
  return { headers: { 'content-type': 'application/json' }, body: stored.text };
}

/** GET /bucket?policyStatus — whether the policy lets anyone read. */
export async function getBucketPolicyStatus(call: S3Call): Promise<S3Reply> {
  const stored = await storedPolicy(call);
  return { body: doc('PolicyStatus', el('IsPublic', isPublic(stored.policy))) };
}

/**
 * PUT /bucket?policy — the bucket's owner sets its policy, checked whole first (MalformedPolicy,
 * or NotImplemented for what this gateway does not carry out): a refused one changes nothing.
 */
export async function putBucketPolicy(call: S3Call): Promise<S3Reply> {
  const text = await readSmallBody(call, MAX_POLICY_BYTES + 1);
  const bucket = await ownedBucket(call);
  const policy = parsePolicy(text, call.bucket);
  if (isPublic(policy) && (await publicAccessBlockOf(call.env, call.bucket)).BlockPublicPolicy)
    throw blockedBy('BlockPublicPolicy', 'A policy that lets anyone read');
  await call.env.ns.setXattrs(
    call.cred,
    bucket.ino,
    { [POLICY_XATTR]: encodePolicy(call.bucket, text) },
    { quiet: true },
  );
  call.env.log.info(
    {
      bucket: call.bucket,
      statements: policy.statements.length,
      public: isPublic(policy),
      by: call.principal?.userName,
    },
    `S3 bucket ${call.bucket}: policy set (${policy.statements.length} statement${policy.statements.length === 1 ? '' : 's'}${isPublic(policy) ? ', anyone may read' : ''})`,
  );
  return { status: 204 };
}

/** DELETE /bucket?policy — the bucket keeps no policy. */
export async function deleteBucketPolicy(call: S3Call): Promise<S3Reply> {
  const bucket = await ownedBucket(call);
  await call.env.ns.setXattrs(call.cred, bucket.ino, { [POLICY_XATTR]: undefined }, { quiet: true });
  call.env.log.info(
    { bucket: call.bucket, by: call.principal?.userName },
    `S3 bucket ${call.bucket}: policy deleted`,
  );
  return { status: 204 };
}

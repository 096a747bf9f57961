import type { Attributes } from '../../../storage/types.ts';
import { aclContext, aclXml, modeFor, requestedAcl } from '../acl.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { readSmallBody } from '../store-object.ts';
import { doc } from '../xml.ts';
import { openedBucket, ownedBucket } from './head-bucket.ts';
import { READ, targetObject } from './target-object.ts';

/** An ACL document is small; S3 takes up to 64 KiB. */
const MAX_ACL_BYTES = 64 * 1024;

async function policyXml(call: S3Call, a: Attributes): Promise<string> {
  return doc('AccessControlPolicy', aclXml(a, (await aclContext(call)).publicRead));
}

/** Sets the mode an ACL stands for, as a chmod: the owner (or root) only, a held file refused. */
async function applyAcl(call: S3Call, a: Attributes, body: string): Promise<void> {
  const mode = modeFor(requestedAcl(call.headers, body, a, await aclContext(call)), a);
  if (mode !== (a.mode & 0o7777)) await call.env.ns.setattr(call.cred, a.ino, { mode });
}

/** GET /bucket?acl — who may do what to the bucket, read from its owner and mode. */
export async function getBucketAcl(call: S3Call): Promise<S3Reply> {
  return { body: await policyXml(call, await openedBucket(call)) };
}

/** PUT /bucket?acl — its owner makes it private, or readable (and writable) by every key holder. */
export async function putBucketAcl(call: S3Call): Promise<S3Reply> {
  const body = await readSmallBody(call, MAX_ACL_BYTES);
  await applyAcl(call, await ownedBucket(call), body);
  return { status: 200 };
}

/** GET /bucket/key?acl (`?versionId=`) — who may do what to the object. */
export async function getObjectAcl(call: S3Call): Promise<S3Reply> {
  const { attrs, headers } = await targetObject(call, READ);
  return { headers, body: await policyXml(call, attrs) };
}

/** PUT /bucket/key?acl (`?versionId=`) — its owner makes it private or readable by every key holder. */
export async function putObjectAcl(call: S3Call): Promise<S3Reply> {
  const body = await readSmallBody(call, MAX_ACL_BYTES);
  const { attrs, headers } = await targetObject(call, 0);
  await applyAcl(call, attrs, body);
  return { status: 200, headers };
}

import { aclOnWrite } from '../acl.ts';
import type { S3Call, S3Reply } from '../context.ts';
import { S3Error } from '../deps.ts';
import { keyPath } from '../keys.ts';
import { metadataFromHeaders, refuseUnsupportedWriteHeaders } from '../metadata.ts';
import { newObjectLock } from '../object-lock/retention.ts';
import { bucketDir } from '../objects.ts';
import { doc, el } from '../xml.ts';

/** POST /bucket/key?uploads — a manifest in the uploads directory; no object yet. */
export async function createMultipartUpload(call: S3Call): Promise<S3Reply> {
  const kp = keyPath(call.key);
  if (kp.marker)
    throw new S3Error(
      'InvalidArgument',
      'A key ending in "/" is a directory marker here and cannot hold data.',
      { ArgumentName: 'key' },
    );
  refuseUnsupportedWriteHeaders(call.headers);
  // Checked now, applied at the completion.
  const acl = (await aclOnWrite(call)) && String(call.headers['x-amz-acl']);
  const bucket = await bucketDir(call.env, call.cred, call.bucket);
  if ((await call.env.ns.access(call.cred, bucket.ino, 3)) !== 3)
    throw new S3Error('AccessDenied', 'Access Denied');
  // Object Lock travels with the metadata to the completion, which makes the object immutable.
  const metadata = {
    ...metadataFromHeaders(call.headers),
    ...(await newObjectLock(call.env, bucket.ino, call.headers)),
  };
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) encoded[k] = v.toString('base64');
  const uploadId = await call.env.uploads.create({
    bucket: call.bucket,
    key: call.key,
    uid: call.cred.uid,
    gid: call.cred.gid,
    initiated: Date.now(),
    metadata: encoded,
    ...(acl ? { acl } : {}),
  });
  return {
    body: doc(
      'InitiateMultipartUploadResult',
      `${el('Bucket', call.bucket)}${el('Key', call.key)}${el('UploadId', uploadId)}`,
    ),
  };
}
